"""Every flag of ANIMAL-SPOT's and the fork's main.py and predict.py is taken under its name.

The flag lists are data (notes §6, §7, §11), not read from the package: each one parses, and
the ones with an effect are run and checked for it.
"""

from __future__ import annotations

import json
import math
import os
import re

import pytest
import torch

from animal_spot.cli import build_parser, main
from animal_spot.data.prepare import prepare
from animal_spot.prediction.scores import read_scores
from animal_spot.synthetic import synthesize_clips
from tests.conftest import write_wav
from tests.prediction.conftest import save_random_model

# flag → an example value (None: a switch), as ANIMAL-SPOT's scripts pass them
MAIN_PY = {
    "-d": None, "--debug": None, "--start_from_scratch": None, "--jit_save": None,
    "--no_cuda": None, "--data_dir": "data", "--model_dir": "models",
    "--checkpoint_dir": "checkpoints", "--summary_dir": "summaries", "--cache_dir": "cache",
    "--log_dir": "logs", "--noise_dir": "noise", "--max_train_epochs": "500",
    "--epochs_per_eval": "2", "--batch_size": "1", "--num_workers": "4", "--lr": "1e-5",
    "--learning_rate": "1e-5", "--beta1": "0.5", "--lr_patience_epochs": "8",
    "--lr_decay_factor": "0.5", "--early_stopping_patience_epochs": "20",
    "--sequence_len": "1280", "--freq_compression": "linear", "--sr": "44100", "--fmin": "500",
    "--fmax": "10000", "--n_freq_bins": "256", "--n_fft": "4096", "--hop_length": "441",
    "--augmentation": None, "--filter_broken_audio": None, "--min_max_norm": None,
    "--resnet": "18", "--conv_kernel_size": "7", "--num_classes": "2", "--max_pool": "1",
    # the fork's
    "--backbone": "convnext", "--pretrained": None, "--weighted_sampling": None,
    "--sampling_strategy": "sqrt_inverse_freq", "--rare_class_boost": "1.5",
    "--label_smoothing": "0.1", "--scheduler": "onecycle",
}  # fmt: skip
PREDICT_PY = {
    "--model_path": "m.pk", "--checkpoint_path": "c", "--log_dir": "logs",
    "--output_dir": "out", "--sequence_len": "2", "--hop": "1", "--threshold": "0.5",
    "--batch_size": "1", "--num_workers": "4", "--no_cuda": None, "--visualize": None,
    "--jit_load": None, "--min_max_norm": None, "--latent_extract": None,
    "--input_file": "rec.wav", "-d": None,
}  # fmt: skip


def _argv(flags: dict[str, str | None]) -> list[str]:
    return [part for flag, value in flags.items() for part in (flag, value) if part is not None]


@pytest.mark.parametrize(("verb", "flags"), [("train", MAIN_PY), ("predict", PREDICT_PY)])
def test_every_flag_of_the_scripts_parses(verb, flags):
    parser = build_parser()
    for flag, value in flags.items():
        parser.parse_args([verb, flag] if value is None else [verb, flag, value])
    parser.parse_args([verb, *_argv(flags)])  # and all at once


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("flags")
    made = synthesize_clips(root / "clips", classes=("tone", "noise"), clips_per_class=8, n_tapes=8)
    return prepare(root / "prepared", clips_dir=made.folder, seed=0).out_dir


SMALL = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "1",
]  # fmt: skip


def test_the_training_flags_do_what_they_did(tmp_path, prepared, monkeypatch, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # restored afterwards
    code = main(
        [
            "train", "--data_dir", str(prepared), "--model_dir", str(tmp_path / "runs"),
            "--run_name", "old", *SMALL, "--batch_size", "4", "--learning_rate", "1e-5",
            "--no_cuda", "--debug", "--start_from_scratch", "--log_dir", str(tmp_path / "logs"),
            "--summary_dir", str(tmp_path / "summaries"),
            "--checkpoint_dir", str(tmp_path / "checkpoints"), "--jit_save", "--no_report",
        ]
    )  # fmt: skip
    assert code == 0
    run = tmp_path / "runs" / "old"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["hyperparameters"]["lr"] == pytest.approx(1e-5 * 4)  # × batch, as main.py
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""  # the run saw no GPU
    log = (tmp_path / "logs" / "TRAIN.log").read_text()
    assert "DEBUG" in log and "epoch" in log
    assert list((tmp_path / "summaries" / "old").glob("events.out.tfevents.*"))
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))  # the report's copy
    scripted = torch.jit.load(str(run / "model.torchscript.pt"))
    assert scripted(torch.zeros(1, 1, 32, 62)).shape[-1] == 2
    saved = tmp_path / "checkpoints" / "old"
    assert (saved / "last.ckpt").is_file() and (saved / "best.ckpt").is_file()
    assert not list(run.glob("*.ckpt"))
    # --resume without a name continues the run whose checkpoint in --checkpoint_dir is newest
    code = main(
        [
            "train", "--data_dir", str(prepared), "--model_dir", str(tmp_path / "runs"),
            *SMALL, "--batch_size", "4", "--learning_rate", "1e-5", "--max_train_epochs", "2",
            "--checkpoint_dir", str(tmp_path / "checkpoints"), "--resume", "--no_report",
            "--summary_dir", str(tmp_path / "summaries"),
        ]
    )  # fmt: skip
    assert code == 0 and [p.name for p in (tmp_path / "runs").iterdir()] == ["old"]
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 2  # one more epoch


def test_start_from_scratch_with_resume_is_one_line(tmp_path, prepared, capsys):
    code = main(
        ["train", "--data_dir", str(prepared), "--model_dir", str(tmp_path), "--run_name", "x",
         "--start_from_scratch", "--resume", *SMALL]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "contradict" in err


def test_the_prediction_flags_do_what_they_did_or_say_what_instead(tmp_path, capsys, caplog):
    model = save_random_model(tmp_path / "model.pt")
    write_wav(tmp_path / "rec.wav", 10.0, sample_rate_hz=8000)  # 20 windows: two pages
    base = ["predict", "--model_path", str(model), "--input_file", str(tmp_path / "rec.wav"),
            "--output_dir", str(tmp_path / "out"), "--no_report"]  # fmt: skip
    # an exported TorchScript file predicts under --jit_load as its model.pt does
    assert main(["export", "--model_path", str(model)]) == 0

    def run(model_path, out, *flags):
        return main(["predict", "--model_path", str(model_path), "--input_file",
                     str(tmp_path / "rec.wav"), "--output_dir", str(tmp_path / out),
                     "--no_report", *flags])  # fmt: skip

    assert run(tmp_path / "model.torchscript.pt", "jit", "--jit_load") == 0
    assert run(model, "pt") == 0
    (from_jit,) = read_scores(tmp_path / "jit" / "rec.scores.csv")
    (from_pt,) = read_scores(tmp_path / "pt" / "rec.scores.csv")
    assert abs(from_jit.probs - from_pt.probs).max() < 1e-5
    capsys.readouterr()
    assert main([*base, "--jit_load"]) == 2  # a model.pt is not a TorchScript file
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a TorchScript export" in err
    code = main(
        [*base, "-d", "--log_dir", str(tmp_path / "logs"), "--checkpoint_path", "x", "--no_cuda",
         "--visualize"]
    )  # fmt: skip
    assert code == 0
    pdf = (tmp_path / "out" / "rec.windows.pdf").read_bytes()
    (track,) = read_scores(tmp_path / "out" / "rec.scores.csv")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pdf.startswith(b"%PDF") and pages == math.ceil(len(track.start_s) / 16) == 2
    assert "--checkpoint_path is unused" in caplog.text
    log = (tmp_path / "logs" / "PREDICT.log").read_text()
    assert "DEBUG" in log
