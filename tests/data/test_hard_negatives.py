"""False positives on target-free audio → noise clip spans: stretches, centring, ranking."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from animal_spot.data import hard_negatives as hn
from animal_spot.prediction.scores import ScoreTrack

CLASSES = ("noise", "call")


def track_of(target_scores: list[float], hop_s: float = 0.5, window_s: float = 1.0) -> ScoreTrack:
    """Windows every ``hop_s`` of ``window_s`` whose ``call`` probability is given."""
    target = np.asarray(target_scores, dtype=float)
    starts = np.arange(len(target)) * hop_s
    probs = np.stack([1 - target, target], axis=1)
    return ScoreTrack("rec.wav", starts, starts + window_s, probs, CLASSES)


def mine_track(track: ScoreTrack, free: list[hn.Span], duration_s: float, clip_s: float = 1.0):
    limits = {"call": 0.5}
    masked, found = hn.false_positives(track, limits, free, duration_s)
    return found, hn.candidates(masked, found, limits, free, duration_s, clip_s)


def test_free_stretches_keep_the_margin_from_every_selection_and_stay_in_the_file():
    stretches = hn.free_stretches(20.0, [(5.0, 6.0), (6.5, 7.0), (18.5, 25.0)], margin_s=1.0)
    assert stretches == [(0.0, 4.0), (8.0, 17.5)]
    assert hn.free_stretches(3.0) == [(0.0, 3.0)]
    assert hn.free_stretches(3.0, [(0.2, 2.9)], margin_s=0.5) == []


def test_each_event_offers_a_clip_centred_on_its_best_window_first():
    #          0    1    2    3    4    5    6    7    8    9
    scores = [0.1, 0.6, 0.9, 0.7, 0.1, 0.1, 0.1, 0.8, 0.6, 0.1]
    found, offered = mine_track(track_of(scores), [(0.0, 5.5)], 5.5, clip_s=0.8)
    assert [(e.label, round(e.score, 3)) for e in found] == [("call", 0.9), ("call", 0.8)]
    best = [c for c in offered if c.rank == 0]
    # window 2 spans 1.0–2.0 (centre 1.5), window 7 spans 3.5–4.5 (centre 4.0)
    assert [(c.start_s, c.end_s, c.score, c.event) for c in best] == [
        pytest.approx((1.1, 1.9, 0.9, 0)),
        pytest.approx((3.6, 4.4, 0.8, 1)),
    ]
    assert all(c.end_s - c.start_s == pytest.approx(0.8) for c in offered)


def test_a_long_event_gives_several_clips_along_it_none_overlapping_by_more_than_half():
    scores = [0.9] * 23  # one event over 6.5 s, 1-s windows every 0.25 s
    _, offered = mine_track(track_of(scores, hop_s=0.25), [(0.0, 6.5)], 6.5)
    assert [c.rank for c in offered] == list(range(len(offered)))
    assert len(offered) == 12  # overlapping by half at most: every other window
    spans = sorted((c.start_s, c.end_s) for c in offered)
    for first, second in itertools.pairwise(spans):
        assert hn.overlap_fraction(first, second) <= 0.5


def test_windows_outside_the_free_stretches_never_become_false_positives():
    scores = [0.9] * 12  # the model fires everywhere on a 6.5 s recording
    free = hn.free_stretches(6.5, [(2.5, 3.0)], margin_s=1.0)  # free: 0–1.5 and 4.0–6.5
    found, offered = mine_track(track_of(scores), free, 6.5)
    assert len(found) == 2
    assert offered
    for clip in offered:
        assert hn.stretch_of(clip.start_s, clip.end_s, free) is not None
        assert clip.end_s <= 1.5 + 1e-9 or clip.start_s >= 4.0 - 1e-9


def test_select_takes_every_events_best_before_any_events_second_and_caps_the_count():
    candidates = [
        hn.Candidate(0.0, 1.0, 0.99, "call", 0, 0),
        hn.Candidate(1.0, 2.0, 0.98, "call", 0, 1),
        hn.Candidate(2.0, 3.0, 0.97, "call", 0, 2),
        hn.Candidate(10.0, 11.0, 0.6, "call", 1, 0),
        hn.Candidate(20.0, 21.0, 0.7, "call", 2, 0),
    ]
    chosen = hn.select(candidates, 4)
    assert [(c.event, c.rank) for c in chosen] == [(0, 0), (0, 1), (1, 0), (2, 0)]
    assert [(c.event, c.rank) for c in hn.select(candidates, 2)] == [(0, 0), (2, 0)]


def test_a_clip_is_shifted_not_shrunk_into_its_stretch_and_the_recording():
    assert hn.centred_clip(0.0, 1.0, 2.0, (0.0, 10.0), 10.0) == (0.0, 2.0)
    assert hn.centred_clip(9.0, 10.0, 2.0, (4.0, 11.0), 10.0) == (8.0, 10.0)
    assert hn.centred_clip(0.0, 0.6, 2.0, (0.0, 0.6), 0.6) == (0.0, 0.6)  # shorter file
