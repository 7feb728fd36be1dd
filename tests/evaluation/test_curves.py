"""Precision–recall curves over thresholds and per-class thresholds, on crafted score tracks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animal_spot.annotations.event import Event
from animal_spot.bundle import ModelBundle, load_model
from animal_spot.config import AudioConfig, ExperimentConfig, ModelConfig, SpectrogramConfig
from animal_spot.evaluation import (
    Figures,
    PrCurve,
    average_precision,
    choose_threshold,
    choose_thresholds,
    plot_pr_curves,
    pr_curves,
    write_thresholds,
)
from animal_spot.models import build_model
from animal_spot.prediction.events import from_scores
from animal_spot.prediction.scores import ScoreTrack

GRID = (0.2, 0.5, 0.8, 0.95)


def call_track(call_scores: dict[int, float], n_windows: int = 10) -> ScoreTrack:
    """One-second windows without overlap; ``call_scores`` gives the call score by window."""
    call = np.zeros(n_windows)
    for index, score in call_scores.items():
        call[index] = score
    start_s = np.arange(n_windows, dtype=float)
    probs = np.stack([call, 1 - call], axis=1)
    return ScoreTrack("rec.wav", start_s, start_s + 1, probs, ("call", "noise"))


def build_events(track, thresholds):
    return from_scores(track, thresholds)


# Windows 2-3 score 0.9 (event [2, 4]), window 6 scores 0.6 ([6, 7]), window 8 0.3 ([8, 9]);
# the references are [2, 4] and [8, 9]. By hand, per threshold:
#   0.2: 3 events, TP 2 FP 1 FN 0 → P 2/3, R 1, F1 0.8
#   0.5: 2 events, TP 1 FP 1 FN 1 → P 1/2, R 1/2, F1 0.5
#   0.8: 1 event,  TP 1 FP 0 FN 1 → P 1, R 1/2, F1 2/3
#   0.95: none,    TP 0 FP 0 FN 2 → P none, R 0
TRACK = call_track({2: 0.9, 3: 0.9, 6: 0.6, 8: 0.3})
REFERENCES = [Event(2.0, 4.0, "call"), Event(8.0, 9.0, "call")]


@pytest.fixture
def curve() -> PrCurve:
    return pr_curves([(TRACK, REFERENCES)], build_events, thresholds=GRID)["call"]


def test_curve_over_thresholds_gives_the_hand_computed_precision_and_recall(curve):
    assert curve.thresholds == GRID
    assert curve.precisions == pytest.approx([2 / 3, 0.5, 1.0, None])
    assert curve.recalls == pytest.approx([1.0, 0.5, 0.5, 0.0])
    assert [f.true_positives for f in curve.figures] == [2, 1, 1, 0]
    assert [f.false_positives for f in curve.figures] == [1, 1, 0, 0]


def test_average_precision_is_the_area_under_the_interpolated_curve(curve):
    # Recall 0.5 at best precision 1.0, then recall 1.0 at precision 2/3: 0.5·1 + 0.5·2/3.
    assert curve.average_precision == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert average_precision([None, None], [0.0, 0.0]) is None


def test_noise_gets_no_curve_and_class_agnostic_mode_gives_one_curve_named_any():
    assert list(pr_curves([(TRACK, REFERENCES)], build_events, thresholds=GRID)) == ["call"]
    agnostic = pr_curves(
        [(TRACK, REFERENCES)], build_events, thresholds=GRID, is_class_agnostic=True
    )
    assert list(agnostic) == ["any"]
    assert agnostic["any"].recalls == pytest.approx([1.0, 0.5, 0.5, 0.0])


def test_threshold_for_a_target_precision_is_the_lowest_that_reaches_it(curve):
    choice = choose_threshold(curve, target_precision=0.9)

    assert (choice.threshold, choice.precision, choice.recall) == (0.8, 1.0, 0.5)
    assert choice.rule == "target_precision"
    assert choose_threshold(curve, target_precision=0.6).threshold == 0.2


def test_threshold_without_a_target_maximises_f1(curve):
    choice = choose_threshold(curve)

    assert (choice.threshold, choice.rule) == (0.2, "max_f1")
    assert choice.f1 == pytest.approx(0.8)


def test_thresholds_sharing_the_best_f1_give_the_middle_one():
    figures = (Figures(1, 3, 0), Figures(1, 0, 0), Figures(1, 0, 0), Figures(1, 0, 0))
    curve = PrCurve("call", (0.1, 0.2, 0.3, 0.4), figures)

    assert choose_threshold(curve).threshold == 0.3


def test_an_unreachable_target_falls_back_to_the_best_precision_and_says_so():
    figures = (Figures(2, 2, 0), Figures(1, 1, 1), Figures(0, 0, 2))  # P 0.5, 0.5, none
    curve = PrCurve("call", (0.1, 0.5, 0.9), figures)

    choice = choose_threshold(curve, target_precision=0.9)

    assert (choice.threshold, choice.precision, choice.rule) == (0.1, 0.5, "best_precision")


def test_a_class_without_reference_events_gets_no_threshold():
    curve = PrCurve("rare", (0.1, 0.5), (Figures(0, 3, 0), Figures(0, 1, 0)))

    choice = choose_threshold(curve)

    assert (choice.threshold, choice.rule) == (None, "no_references")


def small_model(path, classes=("call", "noise"), thresholds=None):
    config = ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=16000),
        spectrogram=SpectrogramConfig(
            n_fft=256, hop_length=64, n_freq_bins=64, fmin_hz=100, fmax_hz=7000, sequence_len_ms=300
        ),
    )
    torch.manual_seed(0)
    model = build_model(ModelConfig(), len(classes)).eval()
    bundle = ModelBundle(config, list(classes), model, thresholds=dict(thresholds or {}))
    return bundle.save(path)


def test_thresholds_written_into_a_model_round_trip_through_load_model(tmp_path, curve):
    path = small_model(tmp_path / "model.pt", thresholds={"call": 0.5, "noise": 0.4})
    before = load_model(path).model.state_dict()

    stored = write_thresholds(path, choose_thresholds({"call": curve}, target_precision=0.9))

    bundle = load_model(path)
    assert bundle.thresholds == stored == {"call": 0.8, "noise": 0.4}
    assert "thresholds_chosen" in bundle.provenance
    assert all(torch.equal(before[k], v) for k, v in bundle.model.state_dict().items())
    assert torch.load(path, weights_only=True)["thresholds"] == {"call": 0.8, "noise": 0.4}


def test_a_class_agnostic_threshold_is_stored_for_every_non_noise_class(tmp_path):
    path = small_model(tmp_path / "model.pt", classes=("noise", "upcall", "gunshot"))
    curve = PrCurve("any", (0.3, 0.7), (Figures(2, 2, 0), Figures(2, 0, 0)))

    write_thresholds(path, choose_thresholds({"any": curve}, target_precision=1.0))

    assert load_model(path).thresholds == {"upcall": 0.7, "gunshot": 0.7}


def test_pr_curve_png_is_written(tmp_path, curve):
    path = plot_pr_curves({"call": curve}, tmp_path / "out" / "pr_curve.png")

    assert path.read_bytes().startswith(b"\x89PNG")
