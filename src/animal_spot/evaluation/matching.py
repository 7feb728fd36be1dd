"""Event matching: pair predicted events with reference events of one recording, one to one.

A predicted and a reference event may pair when their labels agree (any two labels in
class-agnostic mode) and either their time IoU reaches ``iou_threshold`` or, where
``onset_tolerance_s`` is given, their onsets lie within it. Candidate pairs are then taken
greedily, highest IoU first (ties: closer onsets, then earlier events), and each event joins at
most one pair. Greedy is what DCASE's sed_eval and most detection benchmarks do; it can pair
fewer events than an optimal assignment only where one event overlaps several of the others.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..annotations.event import Event

# Float slack of the ≥ / ≤ comparisons, so that 0.3 built from times like 0.7 → 1.0 still counts.
TOLERANCE = 1e-9
AGNOSTIC_LABEL = "any"


def time_iou(a: Event, b: Event) -> float:
    """Intersection over union of the two time spans, in [0, 1].

    Two zero-length events (points) have IoU 1 at the same time and 0 otherwise.
    """
    intersection_s = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
    union_s = max(a.end_s, b.end_s) - min(a.start_s, b.start_s)
    if union_s <= 0:
        return 1.0 if a.start_s == b.start_s else 0.0
    return max(intersection_s, 0.0) / union_s


def is_noise(label: str, noise_class: str | None) -> bool:
    """Whether ``label`` names the noise class (case-insensitive)."""
    return noise_class is not None and label.casefold() == noise_class.casefold()


@dataclass(frozen=True, slots=True)
class Matching:
    """The outcome of matching one recording's events.

    Attributes:
        predictions: The predicted events that took part (noise left out).
        references: The reference events that took part (noise left out).
        pairs: ``(prediction index, reference index, IoU)`` of each match.
    """

    predictions: tuple[Event, ...]
    references: tuple[Event, ...]
    pairs: tuple[tuple[int, int, float], ...]

    def unmatched_predictions(self) -> list[Event]:
        """False positives."""
        used = {p for p, _, _ in self.pairs}
        return [e for i, e in enumerate(self.predictions) if i not in used]

    def unmatched_references(self) -> list[Event]:
        """False negatives (missed reference events)."""
        used = {r for _, r, _ in self.pairs}
        return [e for i, e in enumerate(self.references) if i not in used]

    def matched(self) -> list[tuple[Event, Event]]:
        """``(prediction, reference)`` of each true positive."""
        return [(self.predictions[p], self.references[r]) for p, r, _ in self.pairs]


DETECTOR_LABEL = "target"


def is_detector_against_types(
    predicted_labels: Iterable[str], reference_labels: Iterable[str], noise_class: str | None
) -> bool:
    """Whether every predicted label is a detector's ``target`` while the references are typed.

    Exact labels would then never match: such predictions are matched class-agnostically.
    """
    predicted = {label for label in predicted_labels if not is_noise(label, noise_class)}
    reference = {label for label in reference_labels if not is_noise(label, noise_class)}
    return predicted == {DETECTOR_LABEL} and bool(reference - {DETECTOR_LABEL})


def relabel(events: Sequence[Event], label: str) -> list[Event]:
    """The events with one label, as class-agnostic mode sees them."""
    return [Event(e.start_s, e.end_s, label, e.score, e.low_hz, e.high_hz) for e in events]


def match_events(
    predictions: Sequence[Event],
    references: Sequence[Event],
    *,
    iou_threshold: float = 0.3,
    onset_tolerance_s: float | None = None,
    is_class_agnostic: bool = False,
    noise_class: str | None = "noise",
) -> Matching:
    """Pair the predicted events of one recording with its reference events, one to one.

    Args:
        predictions: Events a model found, in any order.
        references: Events a person annotated, in any order.
        iou_threshold: Smallest time IoU of a pair (inclusive); 0 means any overlap.
        onset_tolerance_s: Also pair events whose onsets differ by at most this, whatever
            their IoU; None to judge by IoU alone.
        is_class_agnostic: Pair any label with any label (detection); events are then
            relabelled ``"any"``.
        noise_class: Events with this label (any case) are left out on both sides.

    Returns:
        The events that took part and the pairs chosen.
    """
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold = {iou_threshold} must lie in [0, 1]")
    if onset_tolerance_s is not None and onset_tolerance_s < 0:
        raise ValueError(f"onset_tolerance_s = {onset_tolerance_s} must be ≥ 0")
    predicted = [e for e in predictions if not is_noise(e.label, noise_class)]
    reference = [e for e in references if not is_noise(e.label, noise_class)]
    if is_class_agnostic:
        predicted = relabel(predicted, AGNOSTIC_LABEL)
        reference = relabel(reference, AGNOSTIC_LABEL)
    candidates: list[tuple[float, float, int, int]] = []  # (-IoU, onset gap, pred, ref)
    # References sorted by onset: each prediction looks only at those that can overlap it or
    # start within the tolerance, so hours of events match in n·log n, not n².
    order = sorted(range(len(reference)), key=lambda r: reference[r].start_s)
    onsets_s = [reference[r].start_s for r in order]
    longest_s = max((e.duration_s for e in reference), default=0.0)
    slack_s = (onset_tolerance_s or 0.0) + TOLERANCE
    for p, pred in enumerate(predicted):
        first = bisect.bisect_left(onsets_s, pred.start_s - longest_s - slack_s)
        last = bisect.bisect_right(onsets_s, pred.end_s + slack_s)
        for r in order[first:last]:
            ref = reference[r]
            if pred.label != ref.label:
                continue
            iou = time_iou(pred, ref)
            onset_gap_s = abs(pred.start_s - ref.start_s)
            # Events must overlap to pair by IoU, even at iou_threshold 0 ("any overlap").
            by_iou = iou > 0 and iou >= iou_threshold - TOLERANCE
            by_onset = (
                onset_tolerance_s is not None and onset_gap_s <= onset_tolerance_s + TOLERANCE
            )
            if by_iou or by_onset:
                candidates.append((-iou, onset_gap_s, p, r))
    candidates.sort()
    used_predictions: set[int] = set()
    used_references: set[int] = set()
    pairs = []
    for negative_iou, _, p, r in candidates:
        if p in used_predictions or r in used_references:
            continue
        used_predictions.add(p)
        used_references.add(r)
        pairs.append((p, r, -negative_iou))
    pairs.sort()
    return Matching(tuple(predicted), tuple(reference), tuple(pairs))
