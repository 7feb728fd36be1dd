"""`animal-spot train` and the TRAINING/ scripts on synthesised clips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.cli import main
from animal_spot.config import load_toml
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips

ROOT = Path(__file__).resolve().parents[1]
CALLS = ("tone", "upsweep", "click")
# The small front end (16 kHz, 32 bins, 0.5 s) and one short epoch, as flags.
SMALL = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "1",
]  # fmt: skip


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Convention-named clips of three call types, 10 each, over 10 tapes."""
    folder = tmp_path_factory.mktemp("clips")
    return synthesize_clips(folder, classes=CALLS, clips_per_class=10, n_tapes=10).folder


@pytest.fixture(scope="module")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Path:
    return prepare(tmp_path_factory.mktemp("prepared"), clips_dir=clips_dir).out_dir


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    """The venv's bin on PATH, one thread, and an empty torch hub cache."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {
        **os.environ,
        "PATH": path,
        "OMP_NUM_THREADS": "1",
        "TORCH_HOME": str(tmp_path / "torch_home"),
        "MODEL_DIR": str(tmp_path / "runs"),
        "RUN_NAME": "script",
    }


def test_resnet18_script_trains_on_a_folder_of_clips_and_writes_the_split(tmp_path, clips_dir):
    # A fresh copy: the split CSVs are written into the data folder.
    data_dir = tmp_path / "clips"
    data_dir.mkdir()
    for wav in clips_dir.rglob("*.wav"):
        (data_dir / wav.name).write_bytes(wav.read_bytes())
    done = subprocess.run(
        ["bash", str(ROOT / "TRAINING" / "train_resnet18.sh"), str(data_dir), *SMALL],
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert {"train.csv", "val.csv", "test.csv"} <= {p.name for p in data_dir.iterdir()}
    run_dir = tmp_path / "runs" / "script"
    assert done.stdout.strip().splitlines()[-1] == f"wrote {run_dir / 'model.pt'}"
    config = load_toml(run_dir / "config.toml")
    # The fork's script values, with the extra flags on top.
    assert config.train.batch_size == 8
    assert config.train.lr == 5e-6
    assert config.train.beta1 == 0.5
    assert config.train.lr_patience_epochs == 8
    assert config.train.early_stopping_patience_epochs == 20
    assert config.train.epochs_per_eval == 2
    assert config.augment.enabled
    assert config.spectrogram.min_max_norm
    assert config.data.filter_broken_audio
    assert config.spectrogram.sequence_len_ms == 500
    assert config.train.max_train_epochs == 1  # an extra flag overrides the script's 150
    assert config.audio.sample_rate_hz == 16000
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["hyperparameters"]["lr"] == pytest.approx(5e-6 * 8)


@pytest.mark.slow  # about 10 s, nearly all of it importing torch and Lightning
def test_convnext_script_without_imagenet_weights_says_which_file_to_put_where(
    tmp_path, prepared_dir
):
    done = subprocess.run(
        ["bash", str(ROOT / "TRAINING" / "train_convnext_pretrained.sh"), str(prepared_dir)],
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "convnext_tiny-983f1562.pth" in lines[0]
    assert str(tmp_path / "torch_home" / "hub" / "checkpoints") in lines[0]


def test_scripts_without_a_data_dir_print_usage_and_exit_2():
    for script in ("train_resnet18.sh", "train_convnext_pretrained.sh"):
        done = subprocess.run(
            ["bash", str(ROOT / "TRAINING" / script)], capture_output=True, text=True
        )
        assert done.returncode == 2
        assert "usage:" in done.stderr


def test_legacy_config_file_and_set_override_configure_a_run(tmp_path, prepared_dir, capsys):
    legacy = tmp_path / "train.cfg"
    legacy.write_text(
        "\n".join(
            [
                "# an ANIMAL-SPOT training config",
                f"data_dir={prepared_dir}",
                f"model_dir={tmp_path / 'runs'}",
                f"checkpoint_dir={tmp_path / 'checkpoints'}",
                "batch_size=4",
                "learning_rate=1e-5",
                "beta1=0.7",
                "sequence_len=500",
                "sr=16000",
                "n_fft=256",
                "hop_length=128",
                "n_freq_bins=32",
                "fmin=200",
                "fmax=7000",
                "max_train_epochs=1",
                "start_from_scratch=true",
                "augmentation=false",
            ]
        )
        + "\n"
    )
    code = main(
        ["train", "--config", str(legacy), "--run_name", "legacy", "--set", "train.lr=3e-5"]
    )
    assert code == 0, capsys.readouterr().err
    run_dir = tmp_path / "runs" / "legacy"
    config = load_toml(run_dir / "config.toml")
    assert config.train.lr == 3e-5  # --set beats the file
    assert config.train.batch_size == 4
    assert config.train.beta1 == 0.7
    assert config.spectrogram.n_fft == 256
    assert not config.train.resume
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["hyperparameters"]["lr"] == pytest.approx(3e-5 * 4)
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"wrote {run_dir / 'model.pt'}"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--max_train_epochs", "many"], "max_train_epochs"),
        (["--lr", "-1"], "train.lr"),
        (["--scheduler", "cosine"], "plateau"),
        (["--set", "train.lrr=1"], "did you mean 'lr'"),
        (["--num_classes", "5"], "--num_classes 5 but the data has 3 classes"),
    ],
)
def test_a_bad_value_exits_2_with_one_line(tmp_path, prepared_dir, capsys, flags, expected):
    argv = ["train", "--data_dir", str(prepared_dir), "--model_dir", str(tmp_path), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("animal-spot train: ")
    assert expected in err[0]


def test_train_with_fmax_above_nyquist_exits_2_before_making_a_run_folder(tmp_path, prepared_dir):
    runs = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable, "-m", "animal_spot", "train", "--data_dir", prepared_dir,
            "--model_dir", runs, "--sr", "2000", "--fmax", "1500",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "fmax_hz 1500 lies above the Nyquist frequency 1000 Hz" in lines[0]
    assert not runs.exists()


def test_prepare_suggests_a_config_that_train_runs_and_a_misfit_one_warns(tmp_path):
    from tests.test_cli_prepare import write_raven_recordings

    write_raven_recordings(tmp_path)
    out = tmp_path / "prepared"
    env = subprocess_env(tmp_path)
    prepared = subprocess.run(
        [
            sys.executable, "-m", "animal_spot", "prepare", "--raven_dir", tmp_path / "raven",
            "--audio_dir", tmp_path / "audio", "--background_dir", tmp_path / "background",
            "--noise_per_selection", "1", "--window_s", "1", "--margin_s", "0.5", "--out", out,
        ],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    suggested = out / "suggested.toml"
    assert f"train --config {suggested}" in prepared.stdout
    base = [
        sys.executable, "-m", "animal_spot", "train", "--config", suggested, "--data_dir", out,
        "--model_dir", tmp_path / "runs", "--max_train_epochs", "1", "--batch_size", "8",
    ]  # fmt: skip
    done = subprocess.run(
        [*base, "--run_name", "fitted"], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr  # the suggestion suits the data it came from
    run_config = load_toml(tmp_path / "runs" / "fitted" / "config.toml")
    assert run_config.spectrogram == load_toml(suggested).spectrogram
    assert "weights of epoch 0" in done.stdout
    # 44.1 kHz and fmax 10 kHz over 8 kHz files: two warnings, one line each.
    misfit = subprocess.run(
        [*base, "--run_name", "misfit", "--sr", "44100", "--fmax", "10000"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert misfit.returncode == 0, misfit.stderr[-3000:]
    warnings = [line for line in misfit.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, misfit.stderr
    assert "above the Nyquist frequency of" in warnings[0] and "--sr 8000" in warnings[1]


def test_a_failed_train_leaves_no_empty_run_or_model_folder(tmp_path, prepared_dir):
    model_dir = tmp_path / "new" / "runs"
    code = main(
        ["train", "--data_dir", str(prepared_dir), "--model_dir", str(model_dir),
         "--run_name", "r", "--num_classes", "5", *SMALL]
    )  # fmt: skip
    assert code == 2
    assert list(tmp_path.iterdir()) == []  # neither runs/r nor the folders made for it
