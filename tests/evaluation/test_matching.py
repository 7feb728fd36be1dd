"""Event matching and figures on small crafted tables, checked against numbers worked by hand."""

from __future__ import annotations

import pytest

from animal_spot.annotations.event import Event
from animal_spot.evaluation import (
    Figures,
    count_by_class,
    macro_f1,
    match_events,
    time_iou,
    total,
)

# Three references, four predictions. By hand:
#   P1 [1.2, 2.2] a  vs R1 [1, 2] a      IoU 0.8/1.2 = 0.667 → TP
#   P2 [5.8, 6.8] a  vs R2 [5, 6] a      IoU 0.2/1.8 = 0.111 → FP, and R2 missed → FN
#   P3 [10, 10.5] b  vs R3 [10, 11] b    IoU 0.5/1.0 = 0.5   → TP
#   P4 [20, 21]   b  overlaps nothing                         → FP
REFERENCES = [Event(1.0, 2.0, "a"), Event(5.0, 6.0, "a"), Event(10.0, 11.0, "b")]
PREDICTIONS = [
    Event(1.2, 2.2, "a", 0.9),
    Event(5.8, 6.8, "a", 0.8),
    Event(10.0, 10.5, "b", 0.7),
    Event(20.0, 21.0, "b", 0.6),
]
HALF_HOUR_S = 1800.0


def figures_of(predictions, references, duration_s=HALF_HOUR_S, **options):
    per_class = count_by_class([match_events(predictions, references, **options)], duration_s)
    return per_class, total(per_class, duration_s)


def test_time_iou_is_intersection_over_union_of_the_spans():
    assert time_iou(Event(1.2, 2.2, "a"), Event(1.0, 2.0, "a")) == pytest.approx(0.8 / 1.2)
    assert time_iou(Event(0.0, 1.0, "a"), Event(2.0, 3.0, "a")) == 0.0
    assert time_iou(Event(3.0, 3.0, "a"), Event(3.0, 3.0, "a")) == 1.0


def test_crafted_tables_give_the_hand_computed_counts_and_figures():
    per_class, overall = figures_of(PREDICTIONS, REFERENCES)

    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (2, 2, 1)
    assert overall.precision == pytest.approx(0.5)
    assert overall.recall == pytest.approx(2 / 3)
    assert overall.f1 == pytest.approx(4 / 7)
    assert overall.false_positives_per_hour == pytest.approx(4.0)  # 2 FP in half an hour
    a, b = per_class["a"], per_class["b"]
    assert (a.true_positives, a.false_positives, a.false_negatives) == (1, 1, 1)
    assert (a.precision, a.recall, a.f1) == (0.5, 0.5, 0.5)
    assert (b.true_positives, b.false_positives, b.false_negatives) == (1, 1, 0)
    assert (b.precision, b.recall) == (0.5, 1.0)
    assert b.f1 == pytest.approx(2 / 3)
    assert b.false_positives_per_hour == pytest.approx(2.0)
    assert macro_f1(per_class) == pytest.approx((0.5 + 2 / 3) / 2)


def test_a_stricter_iou_threshold_turns_a_match_into_a_false_positive_and_a_miss():
    _, overall = figures_of(PREDICTIONS, REFERENCES, iou_threshold=0.6)  # P3's 0.5 now fails

    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (1, 3, 2)


@pytest.mark.parametrize(
    ("prediction", "iou_threshold", "is_match"),
    [
        (Event(0.0, 0.3, "a"), 0.3, True),  # IoU exactly 0.3
        (Event(0.7, 1.0, "a"), 0.3, True),  # 0.30000000000000004 by float arithmetic
        (Event(0.0, 0.3, "a"), 0.31, False),
        (Event(0.0, 0.29, "a"), 0.3, False),
        (Event(1.0, 2.0, "a"), 0.0, False),  # touching is no overlap, even at threshold 0
    ],
)
def test_iou_threshold_is_inclusive_and_needs_an_overlap(prediction, iou_threshold, is_match):
    matching = match_events([prediction], [Event(0.0, 1.0, "a")], iou_threshold=iou_threshold)

    assert (len(matching.pairs) == 1) is is_match


@pytest.mark.parametrize(("tolerance_s", "n_true_positives"), [(None, 2), (0.79, 2), (0.8, 3)])
def test_onset_tolerance_matches_events_whose_iou_is_too_small(tolerance_s, n_true_positives):
    # P2 starts 0.8 s after R2 (IoU 0.111): only a tolerance of 0.8 s or more pairs them.
    _, overall = figures_of(PREDICTIONS, REFERENCES, onset_tolerance_s=tolerance_s)

    assert overall.true_positives == n_true_positives
    assert overall.false_positives == 4 - n_true_positives


def test_onset_tolerance_pairs_a_point_annotation_with_the_call_starting_there():
    matching = match_events([Event(4.02, 5.0, "a")], [Event(4.0, 4.0, "a")], onset_tolerance_s=0.05)

    assert matching.pairs == ((0, 0, 0.0),)


def test_labels_must_agree_unless_matching_is_class_agnostic():
    predictions = [Event(1.0, 2.0, "b"), Event(5.0, 6.0, "a")]
    references = [Event(1.0, 2.0, "a"), Event(5.0, 6.0, "a")]

    per_class, overall = figures_of(predictions, references)
    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (1, 1, 1)
    assert per_class["b"].false_positives == 1
    assert per_class["a"].false_negatives == 1

    per_class, overall = figures_of(predictions, references, is_class_agnostic=True)
    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (2, 0, 0)
    assert list(per_class) == ["any"]


def test_noise_events_are_left_out_on_both_sides():
    predictions = [Event(1.0, 2.0, "a"), Event(2.0, 9.0, "Noise")]
    references = [Event(1.0, 2.0, "a"), Event(3.0, 4.0, "noise")]

    _, overall = figures_of(predictions, references, is_class_agnostic=True)

    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (1, 0, 0)


def test_two_predictions_on_one_reference_give_one_true_and_one_false_positive():
    predictions = [Event(1.1, 2.1, "a"), Event(1.0, 1.9, "a")]  # IoU 0.818 and 0.9

    matching = match_events(predictions, [Event(1.0, 2.0, "a")])
    _, overall = figures_of(predictions, [Event(1.0, 2.0, "a")])

    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (1, 1, 0)
    assert matching.matched() == [(predictions[1], Event(1.0, 2.0, "a"))]  # the higher IoU wins


def test_greedy_matching_takes_the_highest_iou_first_so_both_references_pair():
    # P1 overlaps R1 (IoU 0.357) and R2 (IoU 0.9); P2 overlaps R1 (0.75) and R2 (0.167).
    # Pairing P1 with R1, the first it reaches, would leave P2 and R2 unpaired.
    references = [Event(0.0, 2.0, "a"), Event(1.0, 3.0, "a")]
    predictions = [Event(1.0, 2.8, "a"), Event(0.0, 1.5, "a")]

    matching = match_events(predictions, references)

    assert [(p, r) for p, r, _ in matching.pairs] == [(0, 1), (1, 0)]
    assert [iou for _, _, iou in matching.pairs] == pytest.approx([0.9, 0.75])


def test_figures_without_a_denominator_are_none_and_f1_falls_to_zero():
    missed = Figures(true_positives=0, false_positives=0, false_negatives=3)
    nothing = Figures()

    assert (missed.precision, missed.recall, missed.f1) == (None, 0.0, 0.0)
    assert (nothing.precision, nothing.recall, nothing.f1) == (None, None, None)
    assert missed.false_positives_per_hour is None  # no duration known


def test_matching_rejects_an_iou_threshold_outside_zero_to_one():
    with pytest.raises(ValueError, match="iou_threshold"):
        match_events([], [], iou_threshold=1.5)
