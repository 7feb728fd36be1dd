"""int8 prediction: the quantized network decides as fp32 does, or it is not used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig, BadModel
from animal_spot.prediction import int8
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from tests.conftest import write_wav
from tests.prediction.conftest import train_tone_model

pytest.importorskip("onnxruntime")

CALLS = [(2.0, 0.4, 1000.0), (7.0, 0.5, 1500.0), (12.0, 0.3, 1200.0), (16.0, 0.6, 2000.0)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_thread) -> tuple[Path, Path]:
    """A tone detector trained on synthetic clips, and its prepared data folder."""
    root = tmp_path_factory.mktemp("int8")
    model = train_tone_model(root)
    write_wav(root / "rec.wav", 20.0, sample_rate_hz=8000, calls=CALLS, seed=3)
    return model, root / "prepared"


def _predict(model: Path, root: Path, out: str, **options) -> tuple[np.ndarray, str]:
    predict(
        PredictConfig(
            model_path=(model,), input_file=root / "rec.wav", output_dir=root / out, **options
        ),
        progress=False,
        report=False,
    )
    (track,) = read_scores(root / out / "rec.scores.csv")
    return track.probs, (root / out / "rec.selections.txt").read_text()


def test_int8_decides_as_fp32_does_and_is_stored_for_the_next_run(trained, tmp_path):
    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    root = model_src.parents[2]
    fp32, fp32_events = _predict(model, root, "fp32", precision="32")
    got, events = _predict(model, root, "int8", precision="int8", int8_calibration_dir=prepared)
    assert (got.argmax(1) == fp32.argmax(1)).mean() >= 0.99
    assert np.abs(got - fp32).max() < 0.05
    strip = [line.rsplit("\t", 1)[0] for line in events.splitlines()]  # all but the score
    assert strip == [line.rsplit("\t", 1)[0] for line in fp32_events.splitlines()]
    assert len(strip) == 1 + len(CALLS)
    onnx_path, json_path = int8.int8_paths(model)
    figures = json.loads(json_path.read_text())
    assert figures["argmax_agreement"] >= int8.MIN_AGREEMENT and figures["n_clips"] > 0
    made = onnx_path.stat().st_mtime_ns
    again, _ = _predict(model, root, "again", precision="int8")  # no calibration folder needed
    assert onnx_path.stat().st_mtime_ns == made
    np.testing.assert_array_equal(again, got)
    # a retrained model.pt is another file: its stored int8 network no longer counts
    bundle = load_model(model)
    bundle.thresholds = {"tone": 0.6}
    bundle.save(model)
    assert int8.stored_int8(model) is None


def test_a_broken_calibration_is_refused_with_its_figures(trained, tmp_path, monkeypatch):
    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    real = int8.quantize
    # Calibrated on silence: every activation range collapses, the network decides nothing.
    monkeypatch.setattr(int8, "quantize", lambda m, x: real(m, np.zeros_like(x)))
    with pytest.raises(BadModel) as caught:
        int8.build_int8(load_model(model), model, prepared, 1)
    text = str(caught.value)
    assert "below the 99.5% required" in text and "held-back clips" in text and "\n" not in text
    assert not int8.int8_paths(model)[0].exists()


def test_int8_without_clips_to_calibrate_on_says_which_flag_gives_them(trained, tmp_path):
    model_src, _ = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    with pytest.raises(BadConfig, match="--int8_calibration_dir"):
        _predict(model, model_src.parents[2], "none", precision="int8")
    with pytest.raises(BadConfig, match="int8"):
        PredictConfig(precision="int8", fast=True)


def test_export_precision_int8_stores_the_network_that_predict_then_loads(trained, tmp_path):
    from animal_spot.cli import main

    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    args = ["export", "--model_path", str(model), "--precision", "int8"]
    assert main([*args, "--int8_calibration_dir", str(prepared)]) == 0
    onnx_path, _ = int8.int8_paths(model)
    assert onnx_path.is_file() and int8.stored_int8(model) is not None
    made = onnx_path.stat().st_mtime_ns
    _predict(model, model_src.parents[2], "exported", precision="int8")
    assert onnx_path.stat().st_mtime_ns == made
