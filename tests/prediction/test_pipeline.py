"""Ensembles average their members' probabilities; detector → classifier scores detected windows."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.bundle import load_model
from animal_spot.config import AudioConfig, PredictConfig
from animal_spot.errors import BadModel
from animal_spot.prediction.api import predict
from animal_spot.prediction.pipeline import Ensemble, Single, TwoStage
from animal_spot.prediction.predictor import Predictor
from tests.conftest import write_wav
from tests.prediction.conftest import SMALL_SPECTROGRAM

CLASSES = ("noise", "tone", "sweep")


@pytest.fixture
def recording(tmp_path):
    calls = [(1.0, 0.4, 1000.0), (4.2, 0.3, 2500.0), (8.5, 0.4, 1500.0)]
    return write_wav(tmp_path / "rec.wav", 12.0, sample_rate_hz=8000, calls=calls)


def predictor(path, **kwargs):
    return Predictor(load_model(path), hop_s=0.25, **kwargs)


def test_an_ensemble_scores_the_mean_of_its_members_probabilities(make_model, recording):
    paths = [make_model(f"m{i}.pt", classes=CLASSES, seed=i) for i in range(2)]
    singles = [predictor(p).score_file(recording).track for p in paths]
    ensemble = Ensemble([predictor(p) for p in paths], [str(p) for p in paths])
    assert len(ensemble.groups) == 1  # one front end: the audio is read once
    mean = ensemble.score_file(recording).track
    np.testing.assert_allclose(mean.probs, (singles[0].probs + singles[1].probs) / 2, atol=1e-6)
    assert not np.allclose(singles[0].probs, singles[1].probs)


def test_members_with_other_front_ends_read_the_audio_again_and_still_average(
    make_model, recording
):
    # 16 kHz with twice the FFT and hop: the same frame times, another spectrogram
    other = SMALL_SPECTROGRAM.__class__(
        n_fft=512, hop_length=256, n_freq_bins=32, fmin_hz=300, fmax_hz=3900, sequence_len_ms=500
    )
    first = make_model("a.pt", classes=CLASSES, seed=1)
    second = make_model("b.pt", classes=CLASSES, seed=2, audio=AudioConfig(sample_rate_hz=16000),
                        spectrogram=other)  # fmt: skip
    singles = [predictor(p).score_file(recording).track for p in (first, second)]
    ensemble = Ensemble([predictor(first), predictor(second)], ["a.pt", "b.pt"])
    assert len(ensemble.groups) == 2
    mean = ensemble.score_file(recording).track
    np.testing.assert_allclose(mean.probs, (singles[0].probs + singles[1].probs) / 2, atol=1e-6)


def test_an_ensemble_of_models_with_different_classes_is_refused_naming_both(make_model):
    a = make_model("a.pt", classes=CLASSES)
    b = make_model("b.pt", classes=("noise", "tone"))
    with pytest.raises(BadModel, match=r"b\.pt.*a\.pt.*differ"):
        Ensemble([predictor(a), predictor(b)], [str(a), str(b)])


def test_an_ensemble_averages_the_members_stored_thresholds(make_model):
    a = make_model("a.pt", classes=CLASSES, thresholds={"tone": 0.4})
    b = make_model("b.pt", classes=CLASSES, thresholds={"tone": 0.6, "sweep": 0.7})
    ensemble = Ensemble([predictor(a), predictor(b)], ["a", "b"])
    assert ensemble.thresholds == pytest.approx({"tone": 0.5, "sweep": 0.7})


RUN_RECORDS = ("prediction.json", "predict.log")


def _outputs(folder):
    """Output files by name; the records of the run itself (RUN_RECORDS) are not compared."""
    files = sorted(folder.iterdir())
    return {p.name: p.read_bytes() for p in files if p.is_file() and p.name not in RUN_RECORDS}


def test_a_detector_that_fires_everywhere_leaves_the_classifier_outputs_unchanged(
    make_model, recording, tmp_path
):
    classifier = make_model("classifier.pt", classes=CLASSES, seed=3)
    detector = make_model("detector.pt", classes=("noise", "target"), thresholds={"target": 0.0})
    common = {"model_path": (classifier,), "input_file": recording, "hop_s": 0.25}
    alone = predict(PredictConfig(output_dir=tmp_path / "alone", threshold=0.3, **common))
    staged = predict(
        PredictConfig(output_dir=tmp_path / "staged", threshold=0.3, detector_model=detector,
                      **common)
    )  # fmt: skip
    assert alone.n_events > 0
    assert _outputs(tmp_path / "alone") == _outputs(tmp_path / "staged")
    assert staged.n_events == alone.n_events


def test_the_classifier_scores_only_windows_that_overlap_a_detection(make_model, recording):
    classifier = predictor(make_model("classifier.pt", classes=CLASSES, seed=3))
    detector_path = make_model("detector.pt", classes=("noise", "target"), seed=5)
    detector = predictor(detector_path)
    target = 1 - detector.score_file(recording).track.probs[:, 0]
    threshold = float(np.quantile(target, 0.9))  # fires on a few windows
    detector.bundle.thresholds["target"] = threshold
    staged = TwoStage(detector, Single(classifier), "detector.pt")
    found = staged.detections(detector.score_file(recording).track)
    assert len(found) > 0
    alone = classifier.score_file(recording).track
    track = staged.score_file(recording).track
    spans = zip(track.start_s, track.end_s, strict=True)
    overlaps = np.array([((found[:, 0] < e) & (found[:, 1] > s)).any() for s, e in spans])
    assert 0 < overlaps.sum() < len(track)
    np.testing.assert_allclose(track.probs[overlaps], alone.probs[overlaps], atol=1e-6)
    assert (track.probs[~overlaps] == [1.0, 0.0, 0.0]).all()  # unscored: the noise class


def test_a_detector_that_never_fires_gives_no_events_and_noise_scores(
    make_model, recording, tmp_path
):
    classifier = make_model("classifier.pt", classes=CLASSES, seed=3)
    detector = make_model("detector.pt", classes=("noise", "target"), thresholds={"target": 1.1})
    config = PredictConfig(
        model_path=(classifier,), detector_model=detector, input_file=recording,
        output_dir=tmp_path / "out", threshold=0.01, latent_extract=True,
    )  # fmt: skip
    result = predict(config)
    assert result.n_events == 0
    embeddings = np.load(tmp_path / "out" / "rec.embeddings.npy")
    assert np.isnan(embeddings).all()


def test_a_detector_without_noise_class_is_refused(make_model):
    detector = predictor(make_model("d.pt", classes=("a", "b")))
    classifier = Single(predictor(make_model("c.pt", classes=CLASSES)))
    with pytest.raises(BadModel, match="noise class"):
        TwoStage(detector, classifier, "d.pt")
