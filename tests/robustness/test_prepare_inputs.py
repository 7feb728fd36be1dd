"""`prepare --clips_dir` on messy folders: each bad entry reported once, never a traceback."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

RATE_HZ = 16000
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_prepare(clips_dir: Path | str | bytes, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "animal_spot.cli",
            "prepare",
            "--clips_dir",
            clips_dir,
            "--out",
            out,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_good_clips(root: Path, n_per_class: int = 12) -> list[str]:
    """Convention-named noise clips of two classes over four tapes; returns their names."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    names = []
    for label in ("tone", "noise"):
        for i in range(n_per_class):
            name = f"{label}-x_{i}_2020_T{i % 4}_0_500.wav"
            samples = (0.1 * rng.standard_normal(RATE_HZ // 2)).astype(np.float32)
            sf.write(str(root / name), samples, RATE_HZ)
            names.append(name)
    return names


def manifest_rows(out: Path) -> list[dict[str, str]]:
    rows = []
    for split in ("train", "val", "test"):
        with (out / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def skipped(out: Path) -> dict[str, str]:
    audit = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    return {Path(s["path"]).name: s["reason"] for s in audit["skipped_files"]}


def assert_one_error_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


def _noise(n_samples: int, n_channels: int = 1) -> np.ndarray:
    samples = 0.1 * np.random.default_rng(n_samples + n_channels).standard_normal(
        (n_samples, n_channels)
    )
    return samples[:, 0] if n_channels == 1 else samples


def _write(rate_hz: int = RATE_HZ, n: int = RATE_HZ // 2, channels: int = 1, subtype: str = ""):
    def write(path: Path) -> None:
        sf.write(str(path), _noise(n, channels), rate_hz, subtype=subtype or None)

    return write


def _write_bytes(make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        sf.write(str(path), _noise(RATE_HZ // 2), RATE_HZ, subtype="PCM_16")
        path.write_bytes(make(path.read_bytes()))

    return write


def _write_float(value: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        samples = _noise(RATE_HZ // 2).astype(np.float32)
        samples[100] = value
        sf.write(str(path), samples, RATE_HZ, subtype="FLOAT")

    return write


BAD_AUDIO = {
    "corrupt bytes": (
        _write_bytes(lambda data: bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8))),
        "cannot be read as audio",
    ),
    "truncated": (_write_bytes(lambda data: data[: len(data) // 2]), "truncated"),
    "zero-length": (_write_bytes(lambda data: b""), "empty (0 bytes)"),
    "header only": (_write(n=0), "holds no samples"),
    "NaN float": (_write_float(np.nan), "NaN or infinite"),
    "Inf float": (_write_float(np.inf), "NaN or infinite"),
}

UNUSUAL_AUDIO = {
    "8-bit": _write(subtype="PCM_U8"),
    "24-bit": _write(subtype="PCM_24"),
    "32-bit": _write(subtype="PCM_32"),
    "float64": _write(subtype="DOUBLE"),
    "stereo": _write(channels=2),
    "6-channel": _write(channels=6),
    "2 kHz": _write(rate_hz=2000, n=1000),
    "384 kHz": _write(rate_hz=384000, n=192000),
    "shorter than one frame": _write(n=10),
}


@pytest.mark.parametrize("kind", list(BAD_AUDIO))
def test_a_bad_audio_file_is_reported_once_with_its_reason_and_the_rest_prepared(tmp_path, kind):
    make, reason = BAD_AUDIO[kind]
    good = write_good_clips(tmp_path / "clips")
    bad = "tone-bad_99_2020_T1_0_500.wav"
    make(tmp_path / "clips" / bad)
    result = run_prepare(tmp_path / "clips", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (result.stdout + result.stderr).count(bad) == 1
    assert reason in skipped(tmp_path / "out")[bad]
    assert sorted(Path(r["path"]).name for r in manifest_rows(tmp_path / "out")) == sorted(good)


@pytest.mark.parametrize("kind", list(UNUSUAL_AUDIO))
def test_unusual_but_valid_audio_is_prepared_like_any_clip(tmp_path, kind):
    good = write_good_clips(tmp_path / "clips")
    odd = "tone-odd_99_2020_T1_0_500.wav"
    UNUSUAL_AUDIO[kind](tmp_path / "clips" / odd)
    result = run_prepare(tmp_path / "clips", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert skipped(tmp_path / "out") == {}
    assert sorted(Path(r["path"]).name for r in manifest_rows(tmp_path / "out")) == sorted(
        [*good, odd]
    )


def test_one_corrupt_file_among_a_hundred_good_ones_is_the_only_one_left_out(tmp_path):
    good = write_good_clips(tmp_path / "clips", n_per_class=50)
    bad = "noise-bad_99_2020_T2_0_500.wav"
    (tmp_path / "clips" / bad).write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    result = run_prepare(tmp_path / "clips", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert list(skipped(tmp_path / "out")) == [bad]
    assert len(manifest_rows(tmp_path / "out")) == len(good) == 100


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_manifests_stay_utf8(tmp_path):
    write_good_clips(tmp_path / "clips")
    latin1 = os.path.join(os.fsencode(tmp_path / "clips"), b"tone-caf\xe9_9_2020_T1_0_500.wav")
    sf.write(latin1, _noise(RATE_HZ // 2), RATE_HZ)
    result = run_prepare(tmp_path / "clips", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    reasons = skipped(tmp_path / "out")
    assert reasons == {
        "tone-caf\\xe9_9_2020_T1_0_500.wav": "file name is not valid UTF-8: rename it"
    }
    for split in ("train", "val", "test"):
        (tmp_path / "out" / f"{split}.csv").read_bytes().decode("utf-8")  # strict: raises if not
    assert len(manifest_rows(tmp_path / "out")) == 24


@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_a_control_character_in_a_file_or_class_name_is_reported_and_left_out(tmp_path, char):
    root = tmp_path / "clips"
    for label in ("bird", f"fr{char}og"):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(6):
            sf.write(str(folder / f"{i}.wav"), _noise(RATE_HZ // 4 + i), RATE_HZ)
    sf.write(str(root / "bird" / f"odd{char}name.wav"), _noise(RATE_HZ // 4), RATE_HZ)
    result = run_prepare(root, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    audit = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    reasons = [s["reason"] for s in audit["skipped_files"]]
    assert len(reasons) == 2 and all("control character" in r for r in reasons)
    rows = manifest_rows(tmp_path / "out")
    assert {r["label"] for r in rows} == {"bird"} and len(rows) == 6


def test_fifos_links_to_nowhere_loops_and_folders_named_wav_are_each_reported(tmp_path):
    root = tmp_path / "clips"
    good = write_good_clips(root)
    os.mkfifo(root / "tone-fifo_90_2020_T1_0_500.wav")
    os.symlink(root / "missing.wav", root / "tone-dangling_91_2020_T1_0_500.wav")
    os.symlink(root, root / "loop")  # a link back to the folder itself
    os.symlink(root / "self.wav", root / "self.wav")  # a link to itself
    (root / "tone-folder_92_2020_T1_0_500.wav").mkdir()
    result = run_prepare(root, tmp_path / "out")  # a FIFO opened would block until the timeout
    assert result.returncode == 0, result.stderr
    reasons = skipped(tmp_path / "out")
    assert "FIFO" in reasons["tone-fifo_90_2020_T1_0_500.wav"]
    assert "dangling link" in reasons["tone-dangling_91_2020_T1_0_500.wav"]
    assert "symlink loop" in reasons["loop"]
    assert "symlink loop" in reasons["self.wav"]
    assert "folder named like an audio file" in reasons["tone-folder_92_2020_T1_0_500.wav"]
    assert sorted(Path(r["path"]).name for r in manifest_rows(tmp_path / "out")) == sorted(good)


def test_a_folder_where_no_entry_is_usable_fails_with_one_line(tmp_path):
    root = tmp_path / "clips"
    root.mkdir()
    os.mkfifo(root / "tone-fifo_90_2020_T1_0_500.wav")
    os.symlink(root / "missing.wav", root / "tone-dangling_91_2020_T1_0_500.wav")
    result = run_prepare(root, tmp_path / "out")
    assert_one_error_line(result, "no usable audio files", "2 entries skipped")
    assert not (tmp_path / "out" / "train.csv").exists()


def test_a_folder_where_every_file_is_broken_fails_with_one_line(tmp_path):
    root = tmp_path / "clips"
    root.mkdir()
    for i in range(3):
        x = np.full(800, np.nan, np.float32)
        sf.write(str(root / f"tone-x_{i}_2020_T1_0_500.wav"), x, RATE_HZ, subtype="FLOAT")
    result = run_prepare(root, tmp_path / "out")
    assert_one_error_line(result, "none of the 3 clips can be used", "NaN")
    assert not (tmp_path / "out" / "train.csv").exists()


@pytest.mark.skipif(IS_ROOT, reason="root reads every file whatever its permissions")
def test_unreadable_files_and_folders_are_reported_as_permission_problems(tmp_path):
    root = tmp_path / "clips"
    good = write_good_clips(root)
    locked_file = root / "tone-locked_93_2020_T1_0_500.wav"
    sf.write(str(locked_file), _noise(RATE_HZ // 2), RATE_HZ)
    locked_dir = root / "sub"
    locked_dir.mkdir()
    sf.write(str(locked_dir / "noise-x_94_2020_T1_0_500.wav"), _noise(RATE_HZ // 2), RATE_HZ)
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        result = run_prepare(root, tmp_path / "out")
    finally:
        locked_dir.chmod(0o755)
        locked_file.chmod(0o644)
    assert result.returncode == 0, result.stderr
    reasons = skipped(tmp_path / "out")
    assert reasons[locked_file.name] == (
        "cannot read: permission denied — check the file's permissions"
    )
    assert "permission denied" in reasons["sub"]
    assert len(manifest_rows(tmp_path / "out")) == len(good)
