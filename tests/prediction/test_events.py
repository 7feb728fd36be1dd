"""Window scores → events on crafted score tracks: thresholds, merging, gaps, noise, spans."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table, write_table
from animal_spot.prediction.events import (
    from_scores,
    merge_intervals,
    owned_spans,
    window_labels,
)
from animal_spot.prediction.scores import ScoreTrack

CLASSES = ("noise", "A", "B")


def track(rows: list[list[float]], hop_s: float = 0.5, window_s: float = 1.0) -> ScoreTrack:
    """Windows every ``hop_s`` of length ``window_s`` with these (noise, A, B) scores."""
    starts = np.arange(len(rows)) * hop_s
    return ScoreTrack("rec.wav", starts, starts + window_s, np.asarray(rows, float), CLASSES)


N = [0.9, 0.05, 0.05]  # a noise window
A = [0.1, 0.8, 0.1]
B = [0.1, 0.2, 0.7]


def spans(events: list[Event]) -> list[tuple[float, float, str]]:
    return [(e.start_s, e.end_s, e.label) for e in events]


def test_consecutive_windows_of_a_class_become_one_event_with_the_best_score():
    scores = track([N, A, [0.05, 0.9, 0.05], A, N])
    (event,) = from_scores(scores, span="window")
    assert (event.start_s, event.end_s, event.label) == (0.5, 2.5, "A")
    assert event.score == pytest.approx(0.9)


def test_centre_spans_tile_the_recording_between_window_centres():
    starts, ends = owned_spans(track([N, N, N, N]))
    # centres 0.5, 1.0, 1.5, 2.0; the first window owns the head, the last the tail
    assert starts.tolist() == [0.0, 0.75, 1.25, 1.75]
    assert ends.tolist() == [0.75, 1.25, 1.75, 2.5]
    (event,) = from_scores(track([N, A, A, N]))
    assert (event.start_s, event.end_s) == (0.75, 1.75)


def test_noise_windows_are_left_out_unless_noise_in_anno():
    scores = track([N, A, N, N])
    assert spans(from_scores(scores, span="window")) == [(0.5, 1.5, "A")]
    with_noise = spans(from_scores(scores, noise_in_anno=True))
    assert with_noise == [(0.0, 0.75, "noise"), (0.75, 1.25, "A"), (1.25, 2.5, "noise")]


def test_events_of_one_class_closer_than_max_gap_merge_and_others_do_not():
    scores = track([A, N, A, N, N, N, A])  # centre spans: gaps of 0.5 s, then 1.5 s
    assert len(from_scores(scores)) == 3
    merged = spans(from_scores(scores, max_gap_s=0.5))
    assert merged == [(0.0, 1.75, "A"), (3.25, 4.0, "A")]


def test_overlapping_whole_windows_bridge_a_single_noise_window():
    # whole 1 s windows every 0.5 s overlap their neighbours' neighbours only at a point
    scores = track([A, N, A], hop_s=0.4)
    assert spans(from_scores(scores, span="window")) == [(0.0, 1.8, "A")]


def test_another_class_in_between_does_not_split_an_event_when_windows_overlap():
    scores = track([A, B, A], hop_s=0.25)
    events = spans(from_scores(scores, span="window"))
    assert events == [(0.0, 1.5, "A"), (0.25, 1.25, "B")]


def test_events_shorter_than_min_duration_are_dropped_after_merging():
    scores = track([A, N, N, N, A, A, A, N])
    assert len(from_scores(scores)) == 2
    (kept,) = from_scores(scores, min_duration_s=1.0)
    assert (kept.start_s, kept.end_s) == (2.25, 3.75)


def test_each_class_is_held_to_its_own_threshold():
    weak_a = [0.5, 0.4, 0.1]
    weak_b = [0.5, 0.1, 0.4]
    scores = track([weak_a, N, weak_b])
    assert from_scores(scores) == []  # 0.5 by default: neither reaches it
    events = from_scores(scores, {"A": 0.3, "B": 0.45})
    assert spans(events) == [(0.0, 0.75, "A")]


def test_where_several_classes_pass_their_thresholds_the_highest_score_wins():
    scores = track([[0.0, 0.45, 0.55], [0.0, 0.6, 0.4]])
    assert window_labels(scores, {"A": 0.3, "B": 0.3}).tolist() == [2, 1]


def test_the_noise_class_never_becomes_an_event_even_with_a_low_threshold():
    scores = track([N, N])
    assert from_scores(scores, {"noise": 0.0}) == []


def test_a_model_without_noise_class_calls_windows_no_class_claims_noise():
    scores = ScoreTrack(
        "rec.wav", np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([[0.6, 0.4], [0.45, 0.55]]),
        ("A", "B"),
    )  # fmt: skip
    events = from_scores(scores, {"A": 0.5, "B": 0.6}, noise_in_anno=True, span="window")
    assert spans(events) == [(0.0, 1.0, "A"), (1.0, 2.0, "noise")]
    assert events[1].score == pytest.approx(1 - 0.55)


def test_events_carry_the_model_band_and_survive_a_raven_round_trip(tmp_path):
    events = from_scores(track([N, A, A, N, B]), low_hz=500.0, high_hz=10000.0)
    assert {(e.low_hz, e.high_hz) for e in events} == {(500.0, 10000.0)}
    back = read_table(write_table(events, tmp_path / "rec.selections.txt"))
    assert [(e.start_s, e.end_s, e.label, e.low_hz) for e in back] == [
        (e.start_s, e.end_s, e.label, e.low_hz) for e in events
    ]
    assert [e.score for e in back] == pytest.approx([e.score for e in events], rel=1e-5)


def test_an_empty_track_gives_no_events():
    assert from_scores(ScoreTrack.empty("rec.wav", CLASSES), noise_in_anno=True) == []


def test_merge_intervals_keeps_the_highest_score_and_sorts():
    merged = merge_intervals([(3.0, 4.0, 0.6), (0.0, 1.0, 0.7), (1.2, 2.0, 0.9)], max_gap_s=0.2)
    assert merged == [(0.0, 2.0, 0.9), (3.0, 4.0, 0.6)]
