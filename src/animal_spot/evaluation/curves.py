"""Precision–recall curves over score thresholds: window scores → events → matching, per class.

At each threshold of a grid, the window scores of every recording become events the way
prediction makes them (an ``EventBuilder``), which are matched against the references.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..annotations.event import Event
from ..atomic import atomic_path
from ..prediction.scores import ScoreTrack
from .matching import AGNOSTIC_LABEL, is_noise, match_events
from .metrics import Figures, count_by_class

# (track, threshold per class) → events, as prediction makes them from window scores.
EventBuilder = Callable[[ScoreTrack, Mapping[str, float]], list[Event]]


def threshold_grid(n_thresholds: int = 101) -> np.ndarray:
    """``n_thresholds`` evenly spaced thresholds from 0 to 1, both included."""
    if n_thresholds < 2:
        raise ValueError(f"n_thresholds = {n_thresholds} must be at least 2")
    # Rounded, so that a step meant as 0.6 is not 0.6000000000000001 and still admits 0.6.
    return np.round(np.linspace(0.0, 1.0, n_thresholds), 12)


def average_precision(
    precisions: Sequence[float | None], recalls: Sequence[float | None]
) -> float | None:
    """Area under the interpolated precision–recall curve (PASCAL VOC, all points).

    AP = Σₖ (rₖ − rₖ₋₁) · max{p : r ≥ rₖ}, over the distinct recalls rₖ (r₀ = 0). The
    interpolation makes the curve monotone; event-level recall need not rise as the threshold
    falls, since events merge. Points without a precision (no event predicted) are skipped.
    """
    points = [
        (r, p) for p, r in zip(precisions, recalls, strict=True) if p is not None and r is not None
    ]
    if not points:
        return None
    area, previous = 0.0, 0.0
    for level in sorted({r for r, _ in points}):
        area += (level - previous) * max(p for r, p in points if r >= level)
        previous = level
    return area


@dataclass(frozen=True)
class PrCurve:
    """Event counts of one class at each threshold of a grid (thresholds ascending)."""

    label: str
    thresholds: tuple[float, ...]
    figures: tuple[Figures, ...]

    @property
    def precisions(self) -> list[float | None]:
        return [f.precision for f in self.figures]

    @property
    def recalls(self) -> list[float | None]:
        return [f.recall for f in self.figures]

    @property
    def average_precision(self) -> float | None:
        return average_precision(self.precisions, self.recalls)

    def to_dict(self) -> dict[str, Any]:
        """Thresholds, counts and figures as JSON-ready lists."""
        return {
            "average_precision": self.average_precision,
            "thresholds": list(self.thresholds),
            "precision": self.precisions,
            "recall": self.recalls,
            "f1": [f.f1 for f in self.figures],
            "true_positives": [f.true_positives for f in self.figures],
            "false_positives": [f.false_positives for f in self.figures],
            "false_negatives": [f.false_negatives for f in self.figures],
        }


def curve_labels(
    tracks: Sequence[ScoreTrack], is_class_agnostic: bool, noise_class: str | None
) -> list[str]:
    """The classes that get a curve: every non-noise score column, or ``any`` when agnostic."""
    if is_class_agnostic:
        return [AGNOSTIC_LABEL]
    labels = {c for track in tracks for c in track.classes if not is_noise(c, noise_class)}
    return sorted(labels)


def pr_curves(
    recordings: Sequence[tuple[ScoreTrack, Sequence[Event]]],
    events_from_scores: EventBuilder,
    *,
    thresholds: Sequence[float] | np.ndarray | None = None,
    iou_threshold: float = 0.3,
    onset_tolerance_s: float | None = None,
    is_class_agnostic: bool = False,
    noise_class: str | None = "noise",
) -> dict[str, PrCurve]:
    """A precision–recall curve per class over score thresholds.

    Every class gets the same threshold at each step; a class's events depend only on its
    own threshold, so one sweep gives every class's curve.

    Args:
        recordings: Each recording's window scores and its reference events.
        events_from_scores: How prediction turns scores into events.
        thresholds: The grid (default: 101 steps from 0 to 1).
        iou_threshold: As in `match_events`.
        onset_tolerance_s: As in `match_events`.
        is_class_agnostic: One curve, ``any``, for all non-noise classes together.
        noise_class: Left out on both sides.

    Returns:
        Curves by class name, sorted by name.
    """
    grid = [float(t) for t in (threshold_grid() if thresholds is None else thresholds)]
    labels = curve_labels([track for track, _ in recordings], is_class_agnostic, noise_class)
    counts: dict[str, list[Figures]] = {label: [] for label in labels}
    for threshold in grid:
        matchings = []
        for track, references in recordings:
            events = events_from_scores(track, dict.fromkeys(track.classes, threshold))
            matchings.append(
                match_events(
                    events,
                    references,
                    iou_threshold=iou_threshold,
                    onset_tolerance_s=onset_tolerance_s,
                    is_class_agnostic=is_class_agnostic,
                    noise_class=noise_class,
                )
            )
        by_class = count_by_class(matchings)
        for label in labels:
            counts[label].append(by_class.get(label, Figures()))
    return {label: PrCurve(label, tuple(grid), tuple(counts[label])) for label in labels}


def chosen_point(curve: PrCurve, threshold: float | None) -> tuple[float, float] | None:
    """``(recall, precision)`` of the curve at the grid step nearest ``threshold``, if any."""
    if threshold is None or not curve.thresholds:
        return None
    index = int(np.abs(np.asarray(curve.thresholds) - threshold).argmin())
    recall, precision = curve.recalls[index], curve.precisions[index]
    return None if recall is None or precision is None else (recall, precision)


def plot_pr_curves(
    curves: Mapping[str, PrCurve],
    path: str | Path,
    chosen: Mapping[str, float | None] | None = None,
) -> Path:
    """Draw every curve (recall on x, precision on y) into one PNG, atomically.

    ``chosen`` thresholds by class are marked on their curves with a ring and their value.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend, no GUI

    figure = Figure(figsize=(5.5, 4.5), dpi=120)
    axes = figure.add_subplot()
    for label, curve in curves.items():
        points = [
            (r, p)
            for p, r in zip(curve.precisions, curve.recalls, strict=True)
            if p is not None and r is not None
        ]
        points.sort()
        ap = curve.average_precision
        name = f"{label} (AP {ap:.3f})" if ap is not None else f"{label} (no events)"
        (line,) = axes.plot([r for r, _ in points], [p for _, p in points], marker=".", label=name)
        threshold = (chosen or {}).get(label)
        point = chosen_point(curve, threshold)
        if point is not None:
            colour = line.get_color()
            axes.plot(*point, marker="o", ms=9, mfc="none", mec=colour, mew=1.6, ls="none")
            axes.annotate(
                f"threshold {threshold:.2f}",
                point,
                xytext=(-6, -12),
                textcoords="offset points",
                ha="right",
                fontsize="small",
                color=colour,
            )
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
    axes.set_title("event-level precision–recall over score thresholds")
    axes.grid(alpha=0.3)
    if curves:
        axes.legend(loc="lower left", fontsize="small")
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", bbox_inches="tight")
    return path
