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
    return _predict_with(root, out, model_path=(model,), **options)


def _predict_with(root: Path, out: str, **options) -> tuple[np.ndarray, str]:
    predict(
        PredictConfig(input_file=root / "rec.wav", output_dir=root / out, **options),
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
    # the event check ran on the held-back tone clips laid end to end
    assert figures["n_reference_events"] > 0 and figures["event_f1_fp32"] > 0.5
    assert figures["event_f1_fp32"] - figures["event_f1_int8"] <= int8.MAX_F1_DROP
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


def test_an_int8_network_that_loses_events_is_refused(trained, tmp_path, monkeypatch):
    """Argmax agreement is not enough: the F1 of events on the scored recording counts too."""
    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    real = int8.event_f1
    seen: list[float] = []

    def int8_loses_two_points(bundle, recording, references, network):
        f1 = real(bundle, recording, references, network)
        seen.append(f1)
        return f1 if network is None else f1 - 0.02

    monkeypatch.setattr(int8, "event_f1", int8_loses_two_points)
    with pytest.raises(BadModel) as caught:
        int8.build_int8(load_model(model), model, prepared, 1)
    text = str(caught.value)
    assert f"event F1 {seen[1] - 0.02:.3f} against fp32's {seen[0]:.3f}" in text
    assert "lower, more than the 0.01 allowed" in text and "below the 99.5%" not in text
    assert len(seen) == 2 and seen[0] > 0.5
    assert not int8.int8_paths(model)[0].exists()


def test_the_event_check_lays_the_clips_end_to_end_with_their_labels(trained, tmp_path):
    """The scored recording: each target clip (at most a window) is a reference event, the
    classes taking turns so that a sorted split still gives many events."""
    import soundfile as sf

    from animal_spot.annotations.event import Event
    from animal_spot.data.manifest import Clip
    from tests.conftest import write_wav as wav

    model_src, _ = trained
    bundle = load_model(model_src)
    rate = bundle.config.audio.sample_rate_hz
    window_s = bundle.config.spectrogram.sequence_len_ms / 1000
    lengths = {"a": 0.5, "b": 3.0, "c": 1.0, "d": 0.25, "e": 0.5}  # in windows
    lengths = {name: windows * window_s for name, windows in lengths.items()}
    for name, seconds in lengths.items():
        wav(tmp_path / f"{name}.wav", seconds, sample_rate_hz=rate, calls=[], seed=1)
    clips = [  # sorted by label, as a split may be
        Clip(tmp_path / "c.wav", "noise", "g"),
        Clip(tmp_path / "e.wav", "noise", "g"),
        Clip(tmp_path / "a.wav", "tone", "g"),
        Clip(tmp_path / "b.wav", "tone", "g"),
        Clip(tmp_path / "d.wav", "tone", "g"),
        Clip(tmp_path / "d.wav", "bird", "g"),  # not a class of the model: left out
    ]
    references = int8.scored_recording(bundle, clips, tmp_path / "laid.wav")
    info = sf.info(str(tmp_path / "laid.wav"))
    # turns: c (noise), a (tone), e (noise), b (tone, cut to one window), d (tone, joins b)
    total_s = 3.25 * window_s
    assert info.samplerate == rate and info.frames == pytest.approx(total_s * rate, abs=2)
    expected = [Event(window_s, 1.5 * window_s, "tone"), Event(2 * window_s, total_s, "tone")]
    assert [(e.label, round(e.start_s, 3), round(e.end_s, 3)) for e in references] == [
        (e.label, round(e.start_s, 3), round(e.end_s, 3)) for e in expected
    ]


def test_int8_runs_with_fast_cascade_ensembles_and_a_detector_in_front(trained, tmp_path):
    """One int8 backbone serves every path: each gives the events its fp32 version gives."""
    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    root = model_src.parents[2]
    int8.build_int8(load_model(model), model, prepared, 1)
    paths = {
        "fast": {"fast": True},
        "cascade": {"cascade": True},
        "ensemble": {"model_path": (model, model)},
        "two_stage": {"detector_model": model},
    }
    for name, options in paths.items():
        options = {"model_path": (model,), **options}  # type: ignore[dict-item]
        fp32, fp32_events = _predict_with(root, f"{name}-32", precision="32", **options)
        got, events = _predict_with(root, f"{name}-8", precision="int8", **options)
        assert (got.argmax(1) == fp32.argmax(1)).mean() >= 0.99, name
        strip = [line.rsplit("\t", 1)[0] for line in events.splitlines()]
        assert strip == [line.rsplit("\t", 1)[0] for line in fp32_events.splitlines()], name
        if name != "fast":  # (a different detector: on this tiny model its events run on)
            assert len(strip) == 1 + len(CALLS), name
        assert np.abs(got - fp32).max() > 0, name  # the int8 network did run


def test_auto_takes_the_stored_int8_network_where_the_cpu_has_int8_instructions(
    trained, tmp_path, monkeypatch
):
    model_src, prepared = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    root = model_src.parents[2]
    monkeypatch.setenv("ANIMAL_SPOT_FAST_INT8", "1")
    fp32, _ = _predict(model, root, "fp32", precision="32")
    nothing_stored, _ = _predict(model, root, "auto-none", precision="auto")
    np.testing.assert_array_equal(nothing_stored, fp32)  # auto never quantizes by itself
    int8.build_int8(load_model(model), model, prepared, 1)
    quantized, _ = _predict(model, root, "int8", precision="int8")
    auto, _ = _predict(model, root, "auto", precision="auto")
    np.testing.assert_array_equal(auto, quantized)
    assert np.abs(auto - fp32).max() > 0
    monkeypatch.setenv("ANIMAL_SPOT_FAST_INT8", "0")  # a CPU without VNNI: fp32
    np.testing.assert_array_equal(_predict(model, root, "auto-plain", precision="auto")[0], fp32)


def test_int8_without_clips_to_calibrate_on_says_which_flag_gives_them(trained, tmp_path):
    model_src, _ = trained
    model = tmp_path / "model.pt"
    shutil.copy(model_src, model)
    with pytest.raises(BadConfig, match="--int8_calibration_dir"):
        _predict(model, model_src.parents[2], "none", precision="int8")
    with pytest.raises(BadConfig, match="--runtime onnx"):
        PredictConfig(precision="int8", runtime="onnx")


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
