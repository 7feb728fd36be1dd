"""Event counts → precision, recall, F1 and false positives per hour, per class and overall."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .matching import Matching


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class Figures:
    """Event counts of one class (or of all) with the figures they give.

    A figure whose denominator is zero is None: precision without any predicted event, recall
    without any reference event, F1 without either, false positives per hour without a known
    duration. F1 = 2·TP / (2·TP + FP + FN), which equals the harmonic mean of precision and
    recall wherever both exist.
    """

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    duration_s: float | None = None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
            self.duration_s,
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
        }


def count_by_class(
    matchings: Iterable[Matching], duration_s: float | None = None
) -> dict[str, Figures]:
    """TP, FP and FN per label over the matchings of several recordings, labels sorted.

    A true positive counts for its (shared) label, a false positive for the label predicted, a
    false negative for the reference label.
    """
    counts: dict[str, list[int]] = {}

    def add(label: str, column: int) -> None:
        counts.setdefault(label, [0, 0, 0])[column] += 1

    for matching in matchings:
        for prediction, _ in matching.matched():
            add(prediction.label, 0)
        for event in matching.unmatched_predictions():
            add(event.label, 1)
        for event in matching.unmatched_references():
            add(event.label, 2)
    return {
        label: Figures(tp, fp, fn, duration_s) for label, (tp, fp, fn) in sorted(counts.items())
    }


def total(per_class: dict[str, Figures], duration_s: float | None = None) -> Figures:
    """All classes pooled (micro average)."""
    pooled = Figures(duration_s=duration_s)
    for figures in per_class.values():
        pooled = pooled + figures
    return pooled


def macro_f1(per_class: dict[str, Figures]) -> float | None:
    """Mean F1 over the classes that have one."""
    values = [f.f1 for f in per_class.values() if f.f1 is not None]
    return sum(values) / len(values) if values else None


def percent(value: float | None) -> str:
    """``66.7 %``, or ``n/a`` for a figure that does not exist."""
    return "n/a" if value is None else f"{100 * value:.1f} %"


def format_row(name: str, figures: Figures, width: int) -> str:
    """One line of the text table: counts beside the percentages they give."""
    per_hour = figures.false_positives_per_hour
    return (
        f"{name:<{width}}  {figures.true_positives:>5} {figures.false_positives:>5} "
        f"{figures.false_negatives:>5}  "
        f"{percent(figures.precision):>8} {percent(figures.recall):>8} {percent(figures.f1):>8}"
        f"  {'n/a' if per_hour is None else f'{per_hour:.2f}':>8}"
    )


def format_table(per_class: dict[str, Figures], overall: Figures) -> list[str]:
    """The per-class rows and the overall row, with a header."""
    width = max([len("overall"), len("class"), *(len(name) for name in per_class)])
    header = (
        f"{'class':<{width}}  {'TP':>5} {'FP':>5} {'FN':>5}  "
        f"{'prec.':>8} {'recall':>8} {'F1':>8}  {'FP/h':>8}"
    )
    rows = [format_row(name, figures, width) for name, figures in per_class.items()]
    return [header, *rows, format_row("overall", overall, width)]
