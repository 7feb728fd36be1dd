"""--cascade: exact scores wherever the second pass runs, interpolation elsewhere, same outputs."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig
from animal_spot.prediction.api import build_scorer, predict
from animal_spot.prediction.cascade import Cascade
from animal_spot.prediction.pipeline import Single
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.scores import read_scores
from tests.conftest import write_wav

CALLS = [(2.0, 0.4, 1000.0), (7.3, 0.3, 2500.0), (12.9, 0.45, 1800.0)]
HOP_S = 0.125  # 0.5 s windows: 4 windows over each instant, every 2nd in the first pass


@pytest.fixture
def recording(tmp_path):
    return write_wav(tmp_path / "rec.wav", 16.2, sample_rate_hz=8000, calls=CALLS)


def cascade(predictor: Predictor, threshold: float) -> Cascade:
    start_s, end_s = predictor.grid.span_s(0, predictor.grid.window_frames)
    return Cascade(
        Single(predictor), window_s=end_s - start_s, hop_s=HOP_S, candidate_threshold=threshold
    )


def test_every_window_a_candidate_gives_the_exact_scores(make_model, recording):
    predictor = Predictor(load_model(make_model()), hop_s=HOP_S)
    exact = predictor.score_file(recording, latent=True)
    both = cascade(predictor, 0.0).score_file(recording, latent=True)
    assert cascade(predictor, 0.0).step == 2
    np.testing.assert_array_equal(both.track.start_s, exact.track.start_s)
    np.testing.assert_allclose(both.track.probs, exact.track.probs, atol=1e-6)
    np.testing.assert_allclose(both.embeddings, exact.embeddings, atol=1e-5)


def test_no_candidate_scores_every_second_window_and_interpolates_between(make_model, recording):
    predictor = Predictor(load_model(make_model(classes=("noise", "tone"))), hop_s=HOP_S)
    exact = predictor.score_file(recording).track
    scorer = cascade(predictor, 1.01)  # nothing reaches it
    coarse_only = scorer.score_file(recording, latent=True)
    first = np.array([scorer.is_coarse(s) for s in exact.start_s])
    assert 0.45 < first.mean() < 0.55
    np.testing.assert_allclose(coarse_only.track.probs[first], exact.probs[first], atol=1e-6)
    assert np.isnan(coarse_only.embeddings[~first]).all()
    assert not np.isnan(coarse_only.embeddings[first]).any()
    # between two first-pass windows: their mean (window starts are a frame apart at most)
    inner = np.flatnonzero(~first[1:-1]) + 1
    inner = inner[first[inner - 1] & first[inner + 1]]
    middle = (exact.probs[inner - 1] + exact.probs[inner + 1]) / 2
    np.testing.assert_allclose(coarse_only.track.probs[inner], middle, atol=0.02)


def test_windows_near_a_candidate_get_their_exact_scores(make_model, recording):
    predictor = Predictor(load_model(make_model(classes=("noise", "tone"))), hop_s=HOP_S)
    exact = predictor.score_file(recording).track
    target = exact.column("tone")
    threshold = float(np.quantile(target, 0.9))  # about a tenth of the windows are candidates
    scorer = cascade(predictor, threshold)
    got = scorer.score_file(recording).track
    first = np.array([scorer.is_coarse(s) for s in exact.start_s])
    candidates = exact.start_s[first & (target >= threshold)]
    assert 0 < len(candidates) < first.sum()
    near = np.array([np.abs(candidates - s).min() < 0.5 - 1e-6 for s in exact.start_s])
    refined = near | first
    np.testing.assert_allclose(got.probs[refined], exact.probs[refined], atol=1e-6)
    assert not np.allclose(got.probs[~refined], exact.probs[~refined], atol=1e-6)


def test_predict_with_cascade_writes_the_outputs_of_the_exact_path(make_model, recording, tmp_path):
    common = {"model_path": (make_model(),), "input_file": recording, "hop_s": HOP_S}
    predict(PredictConfig(output_dir=tmp_path / "exact", **common), progress=False)
    # threshold 0: every first-pass window is a candidate, so every window gets its exact score
    config = PredictConfig(
        output_dir=tmp_path / "cascade", cascade=True, cascade_threshold=0.0, **common
    )
    scorer = build_scorer(config)
    assert isinstance(scorer, Cascade)
    assert scorer.candidate_threshold == 0.0
    predict(config, progress=False)
    exact_files = {p.name: p.read_bytes() for p in (tmp_path / "exact").iterdir()}
    cascade_files = {p.name: p.read_bytes() for p in (tmp_path / "cascade").iterdir()}
    assert set(cascade_files) == set(exact_files)
    (exact,) = read_scores(tmp_path / "exact" / "rec.scores.csv")
    (got,) = read_scores(tmp_path / "cascade" / "rec.scores.csv")
    np.testing.assert_allclose(got.start_s, exact.start_s)
    np.testing.assert_allclose(got.probs, exact.probs, atol=1e-5)
    assert cascade_files["rec.selections.txt"] == exact_files["rec.selections.txt"]


def test_cascade_and_fast_together_are_refused():
    with pytest.raises(BadConfig, match="choose one"):
        PredictConfig(fast=True, cascade=True)
