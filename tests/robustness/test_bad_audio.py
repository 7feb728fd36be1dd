"""`predict` on every kind of audio a folder may hold: each is scored or named once, never fatal.

What each kind gets, by design: any bit depth, float WAV, FLAC, any channel count and any
sample rate from 2 kHz to 384 kHz is scored (mixed to mono, resampled); a truncated WAV is
scored over the samples it holds; a recording shorter than one window or one STFT frame is
scored as one padded window. Corrupt bytes, an empty file, a header without samples and NaN or
infinite samples are reported in ``errors.csv`` and skipped (NaN is not zeroed: see `audio`).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from animal_spot.config import PredictConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from tests.conftest import synth

RATE_HZ = 8000  # the random model's rate
DURATION_S = 1.5

Make = Callable[[Path], Path]


def tone(sample_rate_hz: int = RATE_HZ, duration_s: float = DURATION_S) -> np.ndarray:
    return synth(duration_s, sample_rate_hz=sample_rate_hz, calls=[(0.3, 0.5, 1000.0)])


def wav(subtype: str, sample_rate_hz: int = RATE_HZ, channels: int = 1) -> Make:
    def make(folder: Path) -> Path:
        samples = tone(sample_rate_hz)
        if channels > 1:
            samples = np.stack([samples * (1 - c / 10) for c in range(channels)], axis=1)
        sf.write(str(folder / "case.wav"), samples, sample_rate_hz, subtype=subtype)
        return folder / "case.wav"

    return make


def flac(folder: Path) -> Path:
    sf.write(str(folder / "case.flac"), tone(), RATE_HZ, subtype="PCM_24")
    return folder / "case.flac"


def short(n_samples: int) -> Make:
    def make(folder: Path) -> Path:
        sf.write(str(folder / "case.wav"), tone()[:n_samples], RATE_HZ, subtype="PCM_16")
        return folder / "case.wav"

    return make


def truncated(folder: Path) -> Path:
    """A WAV cut at a third: the header promises three times the data that is there."""
    whole = wav("PCM_16")(folder).read_bytes()
    (folder / "case.wav").write_bytes(whole[: len(whole) // 3])
    return folder / "case.wav"


def with_value(value: float, subtype: str) -> Make:
    def make(folder: Path) -> Path:
        samples = tone().astype(np.float64)
        samples[1000] = value
        sf.write(str(folder / "case.wav"), samples, RATE_HZ, subtype=subtype)
        return folder / "case.wav"

    return make


def raw(data: bytes) -> Make:
    def make(folder: Path) -> Path:
        (folder / "case.wav").write_bytes(data)
        return folder / "case.wav"

    return make


def header_only(folder: Path) -> Path:
    sf.write(str(folder / "case.wav"), np.zeros(0, np.float32), RATE_HZ)
    return folder / "case.wav"


# kind → (how to write it, seconds of audio it is scored over, or None: reported and skipped)
SCORED = {
    "pcm_u8": (wav("PCM_U8"), DURATION_S),
    "pcm_16": (wav("PCM_16"), DURATION_S),
    "pcm_24": (wav("PCM_24"), DURATION_S),
    "pcm_32": (wav("PCM_32"), DURATION_S),
    "float32": (wav("FLOAT"), DURATION_S),
    "float64": (wav("DOUBLE"), DURATION_S),
    "flac": (flac, DURATION_S),
    "stereo": (wav("PCM_16", channels=2), DURATION_S),
    "six_channels": (wav("FLOAT", channels=6), DURATION_S),
    "rate_2khz": (wav("PCM_16", 2000), DURATION_S),
    "rate_22050hz": (wav("PCM_16", 22050), DURATION_S),
    "rate_96khz": (wav("PCM_24", 96000), DURATION_S),
    "rate_384khz": (wav("FLOAT", 384000), DURATION_S),
    "truncated": (truncated, None),  # length checked below: what survived the cut
    "shorter_than_a_window": (short(2000), 0.25),
    "shorter_than_a_frame": (short(100), 0.0125),
    "one_sample": (short(1), 1 / RATE_HZ),
}
CORRUPT = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8  # a .wav in name only
SKIPPED = {
    "corrupt_bytes": (raw(CORRUPT), "cannot be read"),
    "zero_length": (raw(b""), "empty (0 bytes)"),
    "header_only": (header_only, "no samples"),
    "nan_float32": (with_value(np.nan, "FLOAT"), "NaN or infinite"),
    "inf_float64": (with_value(np.inf, "DOUBLE"), "NaN or infinite"),
    "minus_inf_float32": (with_value(-np.inf, "FLOAT"), "NaN or infinite"),
}


def folder_with(root: Path, make: Make) -> tuple[Path, Path]:
    """A folder holding a good recording and the case; the case's path."""
    root.mkdir(parents=True)
    sf.write(str(root / "good.wav"), tone(), RATE_HZ, subtype="PCM_16")
    return root, make(root)


def run(model: Path, folder: Path, out: Path):
    config = PredictConfig(model_path=(model,), input_file=folder, output_dir=out, hop_s=0.25)
    return predict(config, progress=False)


@pytest.mark.parametrize("kind", SCORED)
def test_usable_audio_of_any_kind_is_scored_beside_the_others(random_model, tmp_path, kind):
    make, expected_s = SCORED[kind]
    folder, case = folder_with(tmp_path / "in", make)
    result = run(random_model, folder, tmp_path / "out")
    assert sorted(result.predicted) == sorted([folder / "good.wav", case])
    assert result.errors == []
    (track,) = read_scores(tmp_path / "out" / f"{case.stem}.scores.csv")
    assert len(track) >= 1
    assert np.isfinite(track.probs).all()
    assert np.allclose(track.probs.sum(axis=1), 1.0, atol=1e-5)
    if expected_s is None:  # truncated: the samples that are there, no more
        expected_s = sf.info(str(case)).frames / RATE_HZ
        assert 0 < expected_s < DURATION_S
    assert track.end_s.max() >= min(expected_s, 0.5) - 128 / RATE_HZ  # one window at least
    assert track.start_s.max() < max(expected_s, 0.01)


@pytest.mark.parametrize("kind", SKIPPED)
def test_unusable_audio_is_named_once_and_the_others_are_scored(random_model, tmp_path, kind):
    make, reason = SKIPPED[kind]
    folder, case = folder_with(tmp_path / "in", make)
    result = run(random_model, folder, tmp_path / "out")
    assert result.predicted == [folder / "good.wav"]
    ((path, why),) = result.errors
    assert path == case
    assert reason in why
    assert not (tmp_path / "out" / "case.selections.txt").exists()
    with (tmp_path / "out" / "errors.csv").open(encoding="utf-8") as handle:
        assert [row["file"] for row in csv.DictReader(handle)] == [str(case)]


def test_the_command_scores_a_folder_of_every_kind_and_names_each_bad_one(random_model, tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    cases = {**{k: v[0] for k, v in SCORED.items()}, **{k: v[0] for k, v in SKIPPED.items()}}
    for kind, make in cases.items():
        (root / kind).mkdir()
        make(root / kind)
    command = [sys.executable, "-m", "animal_spot.cli", "predict", "--model_path"]
    command += [str(random_model), "--input_file", str(root), "--output_dir", str(tmp_path / "o")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    n = len(cases)
    assert f"{n} files: {len(SCORED)} predicted" in done.stdout
    assert f"{len(SKIPPED)} unreadable" in done.stdout
    for kind in SKIPPED:
        assert done.stderr.count(f"{root / kind}/") == 1, kind
    for kind in SCORED:
        assert f"{root / kind}/" not in done.stderr
