"""The evaluation report's figures, from ``evaluation.json``'s curves: PR and FP/h vs recall."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to PNG
import matplotlib.pyplot as plt
import numpy as np

from .figures import to_data_uri


@dataclass(frozen=True)
class CurvePoints:
    """One class's curve as arrays over the threshold grid (NaN where a figure is None)."""

    label: str
    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    false_positives: np.ndarray
    average_precision: float | None

    @classmethod
    def from_dict(cls, label: str, values: Mapping[str, Any]) -> CurvePoints:
        def floats(key: str) -> np.ndarray:
            return np.array([np.nan if v is None else float(v) for v in values.get(key) or []])

        thresholds = floats("thresholds")
        n = len(thresholds)

        def sized(key: str) -> np.ndarray:
            found = floats(key)
            return found if len(found) == n else np.full(n, np.nan)

        ap = values.get("average_precision")
        return cls(
            label,
            thresholds,
            sized("precision"),
            sized("recall"),
            sized("false_positives"),
            float(ap) if isinstance(ap, int | float) else None,
        )

    def index_of(self, threshold: float | None) -> int | None:
        """The grid step nearest ``threshold`` (None without a threshold or a grid)."""
        if threshold is None or not len(self.thresholds):
            return None
        return int(np.abs(self.thresholds - threshold).argmin())


def _panels(n: int) -> tuple[Any, list[Any]]:
    columns = min(max(n, 1), 3)
    rows = -(-max(n, 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.8 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat


def _path(curve: CurvePoints, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points that exist, from the highest threshold down: the curve's path."""
    order = np.argsort(-curve.thresholds, kind="stable")
    return order[~np.isnan(x[order]) & ~np.isnan(y[order])]


def _mark(ax: Any, x: float, y: float, threshold: float, colour: str) -> None:
    if np.isnan(x) or np.isnan(y):
        return
    ring = {"marker": "o", "ls": "none", "clip_on": False}
    ax.plot([x], [y], ms=10, mfc="none", mec="black", mew=1.6, **ring)
    ax.plot([x], [y], ms=4, color=colour, **ring)
    ax.annotate(
        f"threshold {threshold:.2f}",
        (x, y),
        xytext=(6, -12),
        textcoords="offset points",
        fontsize=8,
    )


def pr_figure(
    curves: list[CurvePoints], chosen: Mapping[str, float | None], colour: Mapping[str, str]
) -> str:
    """One panel per class: precision against recall as the threshold falls, the chosen marked."""
    fig, axes = _panels(len(curves))
    for ax, curve in zip(axes, curves, strict=False):
        keep = _path(curve, curve.recall, curve.precision)
        ax.plot(curve.recall[keep], curve.precision[keep], marker=".", color=colour[curve.label])
        index = curve.index_of(chosen.get(curve.label))
        if index is not None:
            threshold = float(curve.thresholds[index])
            _mark(ax, curve.recall[index], curve.precision[index], threshold, colour[curve.label])
        ap = "n/a" if curve.average_precision is None else f"{curve.average_precision:.3f}"
        ax.set_title(f"{curve.label} (AP {ap})", fontsize=9)
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_data_uri(fig)


def fp_rate_figure(
    curves: list[CurvePoints],
    chosen: Mapping[str, float | None],
    colour: Mapping[str, str],
    duration_s: float,
) -> str:
    """One panel per class: recall against false positives per hour, the chosen marked."""
    fig, axes = _panels(len(curves))
    for ax, curve in zip(axes, curves, strict=False):
        rate = curve.false_positives / (duration_s / 3600)
        keep = _path(curve, rate, curve.recall)
        ax.plot(rate[keep], curve.recall[keep], marker=".", color=colour[curve.label])
        index = curve.index_of(chosen.get(curve.label))
        if index is not None:
            threshold = float(curve.thresholds[index])
            _mark(ax, rate[index], curve.recall[index], threshold, colour[curve.label])
        if len(keep) and np.nanmax(rate[keep]) > 10:
            ax.set_xscale("symlog", linthresh=1.0)  # from none to thousands an hour
        ax.set_title(curve.label, fontsize=9)
        ax.set(xlabel="false positives per hour", ylabel="recall", ylim=(0, 1.02))
        ax.set_xlim(left=-0.5 if ax.get_xscale() == "symlog" else 0)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_data_uri(fig)
