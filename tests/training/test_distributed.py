"""Training in two CPU processes (gloo): `--devices 2` and torchrun, one run, exact metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from animal_spot.bundle import load_model
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import read_manifest, write_manifest
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips

from .conftest import CALLS

SMALL = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "2",
    "--epochs_per_eval", "1", "--batch_size", "4", "--devices", "2",
]  # fmt: skip


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = synthesize_clips(
        tmp_path_factory.mktemp("clips"), classes=CALLS, clips_per_class=12, n_tapes=12, seed=3
    )
    out = prepare(tmp_path_factory.mktemp("prepared"), clips_dir=made.folder, seed=0).out_dir
    # An odd test split: one rank's share needs padding, which must not be scored.
    test = read_manifest(out / "test.csv")
    write_manifest(test[: len(test) - 1 + len(test) % 2], out / "test.csv")
    return out


def environment(tmp_path: Path) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1"}


def run(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=environment(tmp_path), capture_output=True, text=True, timeout=600
    )


def scored_in_one_process(model_path: Path, test_csv: Path) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of the saved model over every test clip once."""
    bundle = load_model(model_path)
    clips = read_manifest(test_csv)
    dataset = ClipDataset(clips, bundle.classes, bundle.config.audio, bundle.config.spectrogram)
    inputs = torch.stack([dataset[i][0] for i in range(len(dataset))])
    labels = torch.tensor(dataset.labels)
    with torch.inference_mode():
        logits = bundle.model(inputs)
    accuracy = (logits.argmax(-1) == labels).float().mean().item()
    return accuracy, torch.nn.functional.cross_entropy(logits, labels).item()


def check_run(run_dir: Path, stdout: str, prepared_dir: Path) -> None:
    # one report, from rank 0
    assert stdout.count("wrote ") == 1, stdout
    assert stdout.strip().splitlines()[-1] == f"wrote {run_dir / 'model.pt'}"
    assert {"model.pt", "metrics.json", "config.toml", "last.ckpt", "best.ckpt"} <= {
        p.name for p in run_dir.iterdir()
    }
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    accuracy, loss = scored_in_one_process(run_dir / "model.pt", prepared_dir / "test.csv")
    # every test clip counted once across the two ranks, padding left out
    assert metrics["test"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert metrics["test"]["loss"] == pytest.approx(loss, rel=1e-4)


def test_devices_2_trains_in_two_cpu_processes_into_one_run(tmp_path, prepared_dir):
    runs = tmp_path / "runs"
    done = run(
        [
            "animal-spot", "--log_level", "INFO", "train", "--data_dir", str(prepared_dir),
            "--model_dir", str(runs), *SMALL,
        ],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_dirs = list(runs.iterdir())
    assert len(run_dirs) == 1  # both ranks agreed on the time-stamped name
    assert "GLOBAL_RANK: 1" in done.stderr  # really two processes (Lightning's INFO line)
    check_run(run_dirs[0], done.stdout, prepared_dir)


def test_torchrun_trains_with_a_run_name_and_refuses_without_one(tmp_path, prepared_dir):
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    torchrun += ["--nproc_per_node", "2"]
    args = ["-m", "animal_spot", "train", "--data_dir", str(prepared_dir), *SMALL]
    runs = tmp_path / "runs"
    refused = run([*torchrun, *args, "--model_dir", str(runs)], tmp_path)
    assert refused.returncode != 0
    assert "give --run_name" in refused.stderr
    done = run([*torchrun, *args, "--model_dir", str(runs), "--run_name", "shared"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    check_run(runs / "shared", done.stdout, prepared_dir)
