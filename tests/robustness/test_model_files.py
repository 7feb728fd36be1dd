"""Damaged and crafted model files are refused in one line, and no code inside them runs."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from animal_spot.bundle import load_model
from animal_spot.errors import BadModel
from tests.conftest import write_wav


class RunsCode:
    """Unpickling this would create the marker file: what a malicious model file does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def crafted_file(path: Path, marker: Path, *, legacy: bool = False) -> Path:
    """A torch file whose unpickling runs code (in a dict like a real .pk or model.pt)."""
    key = "encoderState" if legacy else "state_dict"
    torch.save({key: RunsCode(marker), "format_version": 1}, path)
    return path


def damaged_files(folder: Path, good: Path) -> list[Path]:
    """Empty, truncated, not a zip, random bytes, and a plain pickle of a list."""
    folder.mkdir(parents=True, exist_ok=True)
    data = good.read_bytes()
    contents = {
        "empty.pt": b"",
        "truncated.pt": data[: len(data) // 2],
        "not_zip.pt": b"PK\x03\x04 this is not a zip archive",
        "random.pt": os.urandom(4096),
        "list.pt": pickle.dumps([1, 2, 3]),
    }
    paths = []
    for name, content in contents.items():
        (folder / name).write_bytes(content)
        paths.append(folder / name)
    return paths


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "animal_spot.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def assert_refused(done: subprocess.CompletedProcess[str], path: Path) -> None:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recording")
    return write_wav(folder / "rec.wav", 2.0, sample_rate_hz=8000)


def test_every_damaged_model_file_is_bad_model_naming_it(tmp_path, random_model):
    for path in damaged_files(tmp_path, random_model):
        with pytest.raises(BadModel) as err:
            load_model(path)
        assert str(path) in str(err.value)
        assert "\n" not in str(err.value)


def test_predict_refuses_a_damaged_model_in_one_line(tmp_path, random_model, recording):
    for path in damaged_files(tmp_path / "models", random_model)[:2]:
        done = run_cli("predict", "--model_path", path, "--input_file", recording)
        assert_refused(done, path)


def test_every_verb_that_loads_a_model_refuses_a_crafted_pickle(tmp_path, recording, random_model):
    marker = tmp_path / "code_ran"
    model = crafted_file(tmp_path / "model.pt", marker)
    pk = crafted_file(tmp_path / "old.pk", marker, legacy=True)
    references = tmp_path / "references"
    references.mkdir()
    (references / f"{recording.stem}.selections.txt").write_text(
        "Selection\tBegin Time (s)\tEnd Time (s)\tSound type\n1\t0.1\t0.5\ttone\n"
    )
    # Real window scores, so that evaluate goes on to store thresholds into the model.
    scores = tmp_path / "scores"
    done = run_cli("predict", "--model_path", random_model, "--input_file", recording,
                   "--output_dir", scores)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    commands = {
        model: [
            ["predict", "--model_path", model, "--input_file", recording],
            ["export", "--model_path", model, "--output", tmp_path / "out.torchscript.pt"],
            [
                "evaluate", "--predictions", scores, "--references", references, "--scores", scores,
                "--target_precision", "0.9", "--write_thresholds", model,
                "--output_dir", tmp_path / "ev",
            ],
        ],
        pk: [["export", "--from_legacy", pk, "--output", tmp_path / "converted.pt"]],
    }  # fmt: skip
    for path, verbs in commands.items():
        for argv in verbs:
            done = run_cli(*argv)
            assert done.returncode == 2, (argv, done.stderr[-3000:])
            assert "Traceback" not in done.stderr
            assert str(path) in done.stderr, argv
            assert not marker.exists(), argv
    with pytest.raises(BadModel, match="cannot be loaded safely"):
        load_model(pk)
    assert not marker.exists()


# ---------------------------------------------------------------- resuming from a checkpoint

SMALL = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "4000", "--sequence_len", "500", "--batch_size", "8",
]  # fmt: skip


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[object]]:
    """A one-epoch run and the command that made it."""
    from animal_spot.data.prepare import prepare
    from animal_spot.synthetic import synthesize_clips

    root = tmp_path_factory.mktemp("run")
    clips = synthesize_clips(root / "clips", classes=("tone", "click"), clips_per_class=6)
    data = prepare(root / "prepared", clips_dir=clips.folder, seed=0).out_dir
    command: list[object] = [
        "train", "--data_dir", data, "--model_dir", root / "runs", "--run_name", "r", *SMALL,
        "--max_train_epochs", "1",
    ]  # fmt: skip
    done = run_cli(*command)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "runs" / "r", command


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "runs" / run.name
    shutil.copytree(run, copy)
    return copy


def resume_command(command: list[object], run_dir: Path, *extra: object) -> list[object]:
    moved = [run_dir.parent if str(arg).endswith("runs") else arg for arg in command]
    return [*moved, "--resume", *extra]


@pytest.mark.parametrize("damage", ["empty", "truncated", "random", "crafted"])
def test_a_damaged_last_checkpoint_is_named_on_resume(tmp_path, finished_run, damage):
    run, command = finished_run
    run_dir = copy_run(run, tmp_path)
    last = run_dir / "last.ckpt"
    marker = tmp_path / "code_ran"
    data = last.read_bytes()
    content = {"empty": b"", "truncated": data[: len(data) // 3], "random": os.urandom(999)}
    if damage == "crafted":
        crafted_file(last, marker)
    else:
        last.write_bytes(content[damage])
    config_before = (run_dir / "config.toml").read_bytes()
    done = run_cli(*resume_command(command, run_dir, "--max_train_epochs", "2"))
    assert_refused(done, last)
    assert "remove it" in done.stderr
    assert not marker.exists()
    assert (run_dir / "config.toml").read_bytes() == config_before


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--fmax", "3000"], "spectrogram.fmax_hz 4000.0 → 3000.0"), (["--resnet", "34"], "resnet")],
)
def test_a_resume_that_changes_the_model_is_refused_before_config_toml_changes(
    tmp_path, finished_run, flags, named
):
    run, command = finished_run
    run_dir = copy_run(run, tmp_path)
    config_before = (run_dir / "config.toml").read_bytes()
    done = run_cli(*resume_command(command, run_dir, *flags))
    assert_refused(done, run_dir / "config.toml")
    assert named in done.stderr and "--run_name" in done.stderr
    assert (run_dir / "config.toml").read_bytes() == config_before


def test_a_resume_with_more_epochs_and_workers_continues_the_run(tmp_path, finished_run):
    run, command = finished_run
    run_dir = copy_run(run, tmp_path)
    done = run_cli(
        *resume_command(command, run_dir, "--max_train_epochs", "2", "--num_workers", "1")
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.load(run_dir / "last.ckpt", weights_only=True)["epoch"] == 1
