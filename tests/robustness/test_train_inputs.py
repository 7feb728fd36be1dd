"""train on a prepared folder whose audio changed after `prepare`: bad clips are left out, named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.data.manifest import read_manifest
from tests.robustness.conftest import prepared_clips

FLAGS = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "1",
    "--batch_size", "8", "--num_workers", "0",
]  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return prepared_clips(tmp_path, clips_per_class=16, n_tapes=8)


def train(data_dir: Path, runs: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "animal_spot", "train", "--data_dir", str(data_dir),
        "--model_dir", str(runs), "--run_name", "r", *FLAGS,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env)


def test_clips_whose_audio_broke_after_prepare_are_left_out_and_named(data_dir, tmp_path):
    train_clips, val_clips = (
        read_manifest(data_dir / "train.csv"),
        read_manifest(data_dir / "val.csv"),
    )
    corrupt, empty, gone = train_clips[0].path, train_clips[1].path, val_clips[0].path
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    empty.write_bytes(b"")
    gone.unlink()
    done = train(data_dir, tmp_path / "runs")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    for path in (corrupt, empty, gone):
        assert sum(str(path) in line for line in done.stderr.splitlines()) == 1, path
    assert "3 clips left out" in done.stderr
    assert (tmp_path / "runs" / "r" / "model.pt").is_file()


def test_a_split_whose_audio_is_all_gone_is_one_line_and_leaves_no_run(data_dir, tmp_path):
    for clip in read_manifest(data_dir / "val.csv"):
        clip.path.unlink(missing_ok=True)
    done = train(data_dir, tmp_path / "runs")
    assert done.returncode == 2
    message = [line for line in done.stderr.splitlines() if line.startswith("animal-spot train:")]
    assert len(message) == 1 and "no clip of the val split can be read" in message[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs" / "r").exists()
