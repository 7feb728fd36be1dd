"""Event counts → precision, recall, F1, false positives and flagged seconds per hour."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..annotations.event import Event
from .matching import Matching


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def covered_s(events: Sequence[Event]) -> float:
    """Seconds of audio that ``events`` cover, overlaps counted once."""
    total_s, end_s = 0.0, float("-inf")
    for event in sorted(events, key=lambda e: e.start_s):
        start_s = max(event.start_s, end_s)
        if event.end_s > start_s:
            total_s += event.end_s - start_s
        end_s = max(end_s, event.end_s)
    return total_s


@dataclass(frozen=True, slots=True)
class Figures:
    """Event counts of one class (or of all) with the figures they give.

    A figure whose denominator is zero is None: precision without any predicted event, recall
    without any reference event, F1 without either, false positives per hour without a known
    duration. F1 = 2·TP / (2·TP + FP + FN), which equals the harmonic mean of precision and
    recall wherever both exist. Beside the counts stand the seconds of audio the false positives
    cover (one 900 s false event is not one short blip) and the seconds of all predicted
    events, which a person reviewing the detections listens to.
    """

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    duration_s: float | None = None
    false_positive_s: float = 0.0
    flagged_s: float = 0.0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
            self.duration_s,
            self.false_positive_s + other.false_positive_s,
            self.flagged_s + other.flagged_s,
        )

    @property
    def n_predicted(self) -> int:
        return self.true_positives + self.false_positives

    @property
    def n_reference(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float | None:
        return _ratio(self.true_positives, self.n_predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.true_positives, self.n_reference)

    @property
    def f1(self) -> float | None:
        return _ratio(2 * self.true_positives, self.n_predicted + self.n_reference)

    @property
    def false_positives_per_hour(self) -> float | None:
        if not self.duration_s:
            return None
        return self.false_positives / (self.duration_s / 3600.0)

    @property
    def false_positive_s_per_hour(self) -> float | None:
        """Seconds covered by false positives per hour of audio (3600 = all of it)."""
        return self.false_positive_s / (self.duration_s / 3600.0) if self.duration_s else None

    @property
    def flagged_s_per_hour(self) -> float | None:
        """Seconds covered by predicted events, right or wrong, per hour of audio."""
        return self.flagged_s / (self.duration_s / 3600.0) if self.duration_s else None

    def to_dict(self) -> dict[str, Any]:
        """Counts and figures as JSON-ready primitives."""
        return {
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "n_predicted": self.n_predicted,
            "n_reference": self.n_reference,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "false_positives_per_hour": self.false_positives_per_hour,
            "false_positive_s": self.false_positive_s,
            "false_positive_s_per_hour": self.false_positive_s_per_hour,
            "flagged_s": self.flagged_s,
            "flagged_s_per_hour": self.flagged_s_per_hour,
        }


def count_by_class(
    matchings: Iterable[Matching], duration_s: float | None = None
) -> dict[str, Figures]:
    """TP, FP, FN and flagged seconds per label over several recordings' matchings, sorted.

    A true positive counts for its (shared) label, a false positive for the label predicted, a
    false negative for the reference label. Seconds are covered spans per recording, summed.
    """
    counts: dict[str, list[int]] = {}
    seconds: dict[str, list[float]] = {}

    def add(label: str, column: int) -> None:
        counts.setdefault(label, [0, 0, 0])[column] += 1

    for matching in matchings:
        false = matching.unmatched_predictions()
        for prediction, _ in matching.matched():
            add(prediction.label, 0)
        for event in false:
            add(event.label, 1)
        for event in matching.unmatched_references():
            add(event.label, 2)
        for label in {e.label for e in matching.predictions}:
            spans = seconds.setdefault(label, [0.0, 0.0])
            spans[0] += covered_s([e for e in false if e.label == label])
            spans[1] += covered_s([e for e in matching.predictions if e.label == label])
    return {
        label: Figures(tp, fp, fn, duration_s, *seconds.get(label, (0.0, 0.0)))
        for label, (tp, fp, fn) in sorted(counts.items())
    }


def total(per_class: dict[str, Figures], duration_s: float | None = None) -> Figures:
    """All classes pooled (micro average); seconds add up, overlaps of labels included."""
    pooled = Figures(duration_s=duration_s)
    for figures in per_class.values():
        pooled = pooled + figures
    return pooled


def count_overall(matchings: Sequence[Matching], duration_s: float | None = None) -> Figures:
    """All classes pooled, with seconds covered by any label's events counted once."""
    pooled = total(count_by_class(matchings), duration_s)
    false_s = sum(covered_s(m.unmatched_predictions()) for m in matchings)
    flagged_s = sum(covered_s(m.predictions) for m in matchings)
    return Figures(
        pooled.true_positives,
        pooled.false_positives,
        pooled.false_negatives,
        duration_s,
        false_s,
        flagged_s,
    )


def macro_f1(per_class: dict[str, Figures]) -> float | None:
    """Mean F1 over the classes that have one."""
    values = [f.f1 for f in per_class.values() if f.f1 is not None]
    return sum(values) / len(values) if values else None


def percent(value: float | None) -> str:
    """``66.7 %``, or ``n/a`` for a figure that does not exist."""
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _per_hour(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def format_row(name: str, figures: Figures, width: int) -> str:
    """One line of the text table: counts beside the percentages and rates they give."""
    return (
        f"{name:<{width}}  {figures.true_positives:>5} {figures.false_positives:>5} "
        f"{figures.false_negatives:>5}  "
        f"{percent(figures.precision):>8} {percent(figures.recall):>8} {percent(figures.f1):>8}"
        f"  {_per_hour(figures.false_positives_per_hour):>8}"
        f" {_per_hour(figures.false_positive_s_per_hour):>8}"
        f" {_per_hour(figures.flagged_s_per_hour):>9}"
    )


def format_table(per_class: dict[str, Figures], overall: Figures) -> list[str]:
    """The per-class rows and the overall row, with a header (FP s/h: seconds per hour)."""
    width = max([len("overall"), len("class"), *(len(name) for name in per_class)])
    header = (
        f"{'class':<{width}}  {'TP':>5} {'FP':>5} {'FN':>5}  "
        f"{'prec.':>8} {'recall':>8} {'F1':>8}  {'FP/h':>8} {'FP s/h':>8} {'flag s/h':>9}"
    )
    rows = [format_row(name, figures, width) for name, figures in per_class.items()]
    return [header, *rows, format_row("overall", overall, width)]
