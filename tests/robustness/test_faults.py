"""Faults: a training killed while it fills the spectrogram cache, and two trainings on one cache.

The cache is written by whichever process first needs an entry; a SIGKILL can land in the middle
of a write, and two processes can write one entry at once. Neither may leave a torn entry that a
later run would read, and the models trained afterwards must be the ones an uncached run makes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.robustness.conftest import prepared_clips

FLAGS = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "2",
    "--epochs_per_eval", "1", "--batch_size", "8", "--lr", "2e-5", "--seed", "5",
    "--num_workers", "0",
]  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 convention-named clips of two call types, prepared into train/val/test.csv."""
    return prepared_clips(tmp_path_factory.mktemp("faults"), clips_per_class=60, n_tapes=12)


def one_thread_env() -> dict[str, str]:
    """One thread per process: the same sums in the same order in every run."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def train_command(data_dir: Path, model_dir: Path, run_name: str, cache: Path | None) -> list:
    command = [
        sys.executable, "-m", "animal_spot", "train", "--data_dir", str(data_dir),
        "--model_dir", str(model_dir), "--run_name", run_name, *FLAGS,
    ]  # fmt: skip
    return command + (["--cache_dir", str(cache)] if cache else [])


def run(command: list) -> None:
    done = subprocess.run(command, env=one_thread_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]


def cache_entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.npy"))


def assert_every_entry_whole(cache: Path) -> None:
    for entry in cache_entries(cache):
        array = np.load(entry, allow_pickle=False)  # a torn file raises here
        assert array.ndim == 2 and np.isfinite(array).all(), entry


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "model.pt", weights_only=True)["state_dict"]


def assert_same_weights(a: Path, b: Path) -> None:
    first, second = weights(a), weights(b)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def uncached_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    runs = tmp_path_factory.mktemp("uncached")
    run(train_command(data_dir, runs, "plain", cache=None))
    return runs / "plain"


def test_a_training_killed_while_filling_the_cache_leaves_only_whole_entries(
    data_dir, uncached_run, tmp_path
):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    process = subprocess.Popen(
        train_command(data_dir, runs, "killed", cache),
        env=one_thread_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while len(cache_entries(cache)) < 5:  # killed while the first epoch fills the cache
        assert process.poll() is None, "training ended before it cached five clips"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    n_killed = len(cache_entries(cache))
    assert 5 <= n_killed < 120
    assert_every_entry_whole(cache)

    run(train_command(data_dir, runs, "after", cache))  # the rerun reads what the kill left
    assert len(cache_entries(cache)) > n_killed
    assert_every_entry_whole(cache)
    assert_same_weights(runs / "after", uncached_run)


def test_two_trainings_sharing_one_cache_both_finish_with_the_uncached_model(
    data_dir, uncached_run, tmp_path
):
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    processes = [
        subprocess.Popen(
            train_command(data_dir, runs, name, cache),
            env=one_thread_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
    assert_every_entry_whole(cache)
    assert_same_weights(runs / "first", uncached_run)
    assert_same_weights(runs / "second", uncached_run)
