"""--fast (shared overlap): the exact path's windows, close scores, block size does not matter."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.scores import read_scores
from animal_spot.prediction.shared import SharedOverlap
from tests.conftest import write_wav

CALLS = [(2.0, 0.4, 1000.0), (7.3, 0.3, 2500.0), (12.9, 0.45, 1800.0)]


@pytest.fixture
def recording(tmp_path):
    return write_wav(tmp_path / "rec.wav", 40.3, sample_rate_hz=8000, calls=CALLS)


def test_shared_overlap_keeps_the_exact_windows_and_stays_close_on_a_random_model(
    make_model, recording
):
    predictor = Predictor(load_model(make_model()), hop_s=0.25)
    exact = predictor.score_file(recording, latent=True)
    fast = SharedOverlap(predictor, block_s=7.0).score_file(recording, latent=True)
    np.testing.assert_array_equal(fast.track.start_s, exact.track.start_s)
    np.testing.assert_array_equal(fast.track.end_s, exact.track.end_s)
    assert np.abs(fast.track.probs - exact.track.probs).max() < 0.1
    assert fast.embeddings.shape == exact.embeddings.shape


def test_shared_overlap_scores_barely_depend_on_the_block_size(make_model, recording):
    predictor = Predictor(load_model(make_model()), hop_s=0.25)
    small = SharedOverlap(predictor, block_s=3.0).score_file(recording).track
    large = SharedOverlap(predictor, block_s=30.0).score_file(recording).track
    # windows at block edges see 64 frames of context, the others more; and float rounding
    np.testing.assert_allclose(small.probs, large.probs, atol=5e-3)


def test_fast_prediction_writes_the_same_files_as_the_exact_path(make_model, recording, tmp_path):
    common = {"model_path": (make_model(),), "input_file": recording, "hop_s": 0.25}
    predict(PredictConfig(output_dir=tmp_path / "exact", **common), progress=False)
    predict(PredictConfig(output_dir=tmp_path / "fast", fast=True, **common), progress=False)
    names = {p.name for p in (tmp_path / "exact").iterdir()}
    assert names == {p.name for p in (tmp_path / "fast").iterdir()}
    (exact,) = read_scores(tmp_path / "exact" / "rec.scores.csv")
    (fast,) = read_scores(tmp_path / "fast" / "rec.scores.csv")
    np.testing.assert_allclose(fast.start_s, exact.start_s)
