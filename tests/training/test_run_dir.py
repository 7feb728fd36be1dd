"""One training per run directory: a lock, plain run names, and no half-made folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from animal_spot.config import TrainConfig
from animal_spot.data.manifest import write_manifest
from animal_spot.errors import BadConfig
from animal_spot.training.run_dir import LOCK_NAME, acquire_lock, release_lock

from .conftest import Splits

SMALL_FLAGS = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--batch_size", "4",
]  # fmt: skip


def prepared_folder(folder: Path, splits: Splits) -> Path:
    for name, clips in splits.items():
        write_manifest(clips, folder / f"{name}.csv")
    return folder


def train_command(data_dir: Path, model_dir: Path, epochs: int) -> list[str]:
    return [
        sys.executable, "-m", "animal_spot.cli", "train", "--data_dir", str(data_dir),
        "--model_dir", str(model_dir), "--run_name", "shared", *SMALL_FLAGS,
        "--max_train_epochs", str(epochs),
    ]  # fmt: skip


def one_thread_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{path} never appeared")
        time.sleep(0.05)


def test_a_second_training_of_one_run_name_is_refused_while_the_first_runs(tmp_path, tiny_splits):
    data_dir = prepared_folder(tmp_path / "data", tiny_splits)
    runs = tmp_path / "runs"
    first = subprocess.Popen(
        train_command(data_dir, runs, 50),
        env=one_thread_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(runs / "shared" / LOCK_NAME, first)
        # --resume: past the first checkpoint the folder is refused without it anyway.
        second = subprocess.run(
            [*train_command(data_dir, runs, 1), "--resume"],
            env=one_thread_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert first.poll() is None, "the first run ended before the second was tried"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert second.returncode == 2, second.stderr[-3000:]
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in second.stderr
    assert f"another training (process {first.pid})" in lines[0]
    # The killed run left its lock file behind; the kernel dropped the lock with the process.
    assert (runs / "shared" / LOCK_NAME).exists()
    fd = acquire_lock(runs / "shared")
    release_lock(runs / "shared", fd)
    assert not (runs / "shared" / LOCK_NAME).exists()


def test_a_lock_file_of_a_dead_process_does_not_block(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True)  # fmt: skip
    (tmp_path / LOCK_NAME).write_text(dead.stdout)
    fd = acquire_lock(tmp_path)
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    with pytest.raises(BadConfig, match=f"process {os.getpid()}"):
        acquire_lock(tmp_path)  # a second open file description conflicts, even here
    release_lock(tmp_path, fd)


@pytest.mark.parametrize("name", ["../x", "a/b", "/abs", "..", ".", "", "a\\b"])
def test_a_run_name_that_is_not_a_plain_folder_name_is_refused(name):
    with pytest.raises(BadConfig, match="not a plain folder name"):
        TrainConfig(run_name=name)
    assert TrainConfig(run_name="run-2024.1_a").run_name == "run-2024.1_a"
