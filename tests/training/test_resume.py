"""A run killed with SIGKILL and restarted with --resume ends exactly like one never stopped."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from animal_spot.cli import main
from animal_spot.config import AugmentConfig
from animal_spot.data.manifest import write_manifest
from animal_spot.errors import BadConfig
from animal_spot.training.fit import train
from animal_spot.training.run_dir import run_dir_path

from .conftest import Splits, small_config, with_train

SMALL_FLAGS = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500",
]  # fmt: skip


def animal_spot() -> list[str]:
    """The installed ``animal-spot`` command of this interpreter's environment (one word)."""
    script = Path(sys.executable).with_name("animal-spot")
    return [str(script) if script.is_file() else "animal-spot"]


def one_thread_env() -> dict[str, str]:
    """Both runs on one thread, so that their floating-point sums run in the same order."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def prepared_folder(folder: Path, splits: Splits) -> Path:
    for name, clips in splits.items():
        write_manifest(clips, folder / f"{name}.csv")
    return folder


def train_command(data_dir: Path, model_dir: Path, run_name: str) -> list[str]:
    # Every epoch-dependent source of randomness is on (augmentation, weighted sampling), and the
    # plateau schedule has patience 1, so a lost scheduler step or a replayed epoch shows.
    return [
        *animal_spot(), "train", "--data_dir", str(data_dir), "--model_dir", str(model_dir),
        "--run_name", run_name, *SMALL_FLAGS, "--max_train_epochs", "4", "--epochs_per_eval", "1",
        "--batch_size", "4", "--lr", "2e-5", "--lr_patience_epochs", "1", "--seed", "3",
        "--augmentation", "--weighted_sampling", "--sampling_strategy", "inverse_freq",
    ]  # fmt: skip


def versions_seen(path: Path, seen: set[tuple[int, int]]) -> int:
    """Record the (inode, mtime) of ``path`` if present; each atomic rewrite is a new version."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return len(seen)
    seen.add((stat.st_ino, stat.st_mtime_ns))
    return len(seen)


def run_until_second_checkpoint_then_kill(command: list[str], last_ckpt: Path) -> None:
    log = last_ckpt.parent.parent / "killed.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=one_thread_env(), stdout=output, stderr=output)
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 300
        while versions_seen(last_ckpt, seen) < 2:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the run ended before its 2nd checkpoint:\n{log.read_text()}")
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL


def test_a_run_killed_mid_training_and_resumed_matches_an_uninterrupted_run(
    tmp_path, tiny_splits, capsys
):
    # Only the killed run needs a process of its own; the others run in this one (one thread
    # too, see conftest), which also shows that a checkpoint moves between processes intact.
    data_dir = prepared_folder(tmp_path / "data", tiny_splits)
    runs = tmp_path / "runs"
    assert main(train_command(data_dir, runs, "straight")[1:]) == 0

    killed = train_command(data_dir, runs, "killed")
    run_until_second_checkpoint_then_kill(killed, runs / "killed" / "last.ckpt")
    assert not (runs / "killed" / "metrics.json").exists()
    assert torch.load(runs / "killed" / "last.ckpt", weights_only=False)["epoch"] >= 1

    capsys.readouterr()
    assert main(killed[1:]) == 2  # without --resume the run directory is refused, in one line
    refused = capsys.readouterr().err.strip().splitlines()
    assert len(refused) == 1
    assert "--resume" in refused[0]

    assert main([*killed[1:], "--resume"]) == 0
    straight = json.loads((runs / "straight" / "metrics.json").read_text())
    resumed = json.loads((runs / "killed" / "metrics.json").read_text())
    assert resumed["epochs_run"] == straight["epochs_run"] == 4
    assert resumed == straight
    # model.pt holds the best epoch; the last checkpoints hold where each run ended.
    for name in ("model.pt", "last.ckpt"):
        weights = torch.load(runs / "straight" / name, weights_only=False)["state_dict"]
        again = torch.load(runs / "killed" / name, weights_only=False)["state_dict"]
        assert all(torch.equal(weights[k], again[k]) for k in weights), name
    assert learning_rates(runs / "killed") == learning_rates(runs / "straight")


def learning_rates(run_dir: Path) -> dict[int, float]:
    """Step → learning rate; a step logged twice (an epoch replayed on resume) keeps the last."""
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return {event.step: event.value for event in events.Scalars("lr-Adam")}


def test_resume_without_a_run_name_continues_the_newest_run(tmp_path):
    for name in ("older", "newer"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "last.ckpt").write_bytes(b"")
        time.sleep(0.01)
    config = small_config(tmp_path, None, resume=True)
    assert run_dir_path(config) == tmp_path / "newer"
    assert run_dir_path(small_config(tmp_path, "older", resume=True)) == tmp_path / "older"


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "last.ckpt").write_bytes(b"")
    with pytest.raises(BadConfig, match="--resume"):
        run_dir_path(small_config(tmp_path, "taken"))


@pytest.mark.slow  # about 20 s: worker processes fork every epoch
def test_a_run_resumed_with_loader_workers_continues_like_one_that_never_stopped(
    tmp_path, tiny_splits
):
    # Workers draw the order and fork as soon as a loader's iterator exists, which Lightning
    # makes before it sets the epoch: the resumed epoch must still get its own order and draws.
    config = small_config(
        tmp_path,
        "straight",
        max_train_epochs=2,
        num_workers=2,
        batch_size=4,
        lr=2e-5,
        seed=5,
        weighted_sampling=True,
        sampling_strategy="inverse_freq",
    )
    config = dataclasses.replace(config, augment=AugmentConfig(enabled=True))
    straight = train(config, tiny_splits)
    train(with_train(config, run_name="parts", max_train_epochs=1), tiny_splits)
    resumed = train(with_train(config, run_name="parts", resume=True), tiny_splits)
    assert resumed.metrics["test"] == straight.metrics["test"]
    weights = torch.load(straight.run_dir / "last.ckpt", weights_only=False)["state_dict"]
    again = torch.load(resumed.run_dir / "last.ckpt", weights_only=False)["state_dict"]
    assert all(torch.equal(weights[k], again[k]) for k in weights)
