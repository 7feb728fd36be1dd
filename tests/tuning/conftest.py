"""A prepared three-class set and the small front end for tuning studies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips

# 16 kHz, 32 linear bins, 0.5 s windows: a ResNet-18 epoch of 24 clips takes about a second.
SMALL_FLAGS = (
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--batch_size", "8",
    "--epochs_per_eval", "1", "--num_workers", "0",
)  # fmt: skip


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tune_data")
    made = synthesize_clips(
        root / "clips", classes=("tone", "upsweep", "click"), clips_per_class=12, n_tapes=20
    )
    prepare(root / "prepared", clips_dir=made.folder, seed=0)
    return root / "prepared"


def write_space(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def tune_command(out: Path, data: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "animal_spot", "tune", "--output_dir", str(out),
        "--data_dir", str(data), *SMALL_FLAGS, *extra,
    ]  # fmt: skip


def tune_env() -> dict[str, str]:
    # One thread per process: two studies side by side on two cores; no reports per run.
    return {**os.environ, "OMP_NUM_THREADS": "1", "ANIMAL_SPOT_REPORT": "0"}


def run_tune(out: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tune_command(out, data, *extra), capture_output=True, text=True, env=tune_env(),
        timeout=600, check=False,
    )  # fmt: skip
