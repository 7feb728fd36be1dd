"""Bad config and flag values end in one stderr line and exit code 2, never in a traceback."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from animal_spot.cli import build_parser, main
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips
from tests.conftest import write_wav

SMALL = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500", "--max_train_epochs", "1",
    "--batch_size", "8",
]  # fmt: skip
SWEPT_VALUES = ("nan", "inf", "-1", "0", "1e12")
REFERENCE_TABLE = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
    "\tSound type\n1\tSpectrogram 1\t1\t0.5\t1.0\t500\t3000\ttone\n"
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Convention-named clips of two call types over six tapes."""
    root = tmp_path_factory.mktemp("clips")
    return synthesize_clips(root, classes=("tone", "click"), clips_per_class=6, n_tapes=6).folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Path:
    return prepare(tmp_path_factory.mktemp("prepared"), clips_dir=clips_dir, seed=0).out_dir


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recording")
    return write_wav(folder / "rec.wav", 3.0, sample_rate_hz=8000, calls=[(1.0, 0.5, 1000.0)])


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A predicted and a reference Raven table with one matching event."""
    folder = tmp_path_factory.mktemp("tables")
    predictions, references = folder / "predicted.txt", folder / "reference.txt"
    predictions.write_text(REFERENCE_TABLE)
    references.write_text(REFERENCE_TABLE)
    return predictions, references


def run_cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "animal_spot.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--lr", "nan"], "train.lr = nan must be a finite number"),
        (["--lr_decay_factor", "2"], "train.lr_decay_factor = 2.0"),
        (["--num_workers", "-1"], "train.num_workers = -1"),
        (["--min_level_db", "nan"], "spectrogram.min_level_db = nan"),
        (["--fmax", "inf"], "spectrogram.fmax_hz = inf must be a finite number"),
        (["--fmax", "9000"], "lies above the Nyquist frequency 8000 Hz"),
        (["--split", "nan,0.5,0.5"], "data.split"),
        (["--gain_db", "nan,2"], "augment.gain_db"),
        (["--seed", "1e12"], "train.seed"),
        (["--sequence_len", "5"], "a window would have no frames"),
        (["--run_name", "../../escaped"], "not a plain folder name"),
        (["--run_name", "/tmp/elsewhere"], "not a plain folder name"),
    ],
)
def test_a_bad_train_value_is_one_line_and_leaves_no_run_folder(
    tmp_path, data_dir, flags, expected
):
    runs = tmp_path / "runs"
    done = run_cli(
        "train", "--data_dir", data_dir, "--model_dir", runs, "--run_name", "r", *SMALL, *flags
    )
    assert_one_line_error(done, "animal-spot train: ", expected)
    assert not runs.exists()
    assert not (tmp_path / "escaped").exists()


def test_a_model_dir_that_is_a_file_is_one_line(tmp_path, data_dir):
    a_file = tmp_path / "runs"
    a_file.write_text("not a folder")
    done = run_cli("train", "--data_dir", data_dir, "--model_dir", a_file, *SMALL)
    assert_one_line_error(done, str(a_file), "not a folder")
    assert a_file.read_text() == "not a folder"


def test_a_decay_factor_of_one_is_accepted_and_trains(tmp_path, data_dir):
    runs = tmp_path / "runs"
    done = run_cli(
        "train", "--data_dir", data_dir, "--model_dir", runs, "--run_name", "r", *SMALL,
        "--lr_decay_factor", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert (runs / "r" / "model.pt").is_file()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[train]\nlr = "fast"\n', "[train].lr = 'fast' must be a number, not str"),
        ("[train]\nbatch_size = 1.5\n", "[train].batch_size = 1.5 must be an integer"),
        ("[train]\nlr = { value = 1 }\n", "[train].lr"),
        ('[train]\nbatch_size = "16"\n', "[train].batch_size = '16' must be an integer"),
        ("[train]\nrun_name = 5\n", "[train].run_name = 5 must be a string"),
        ("train = 5\n", "must be a table"),
        ("[spectrogram]\nmin_level_db = nan\n", "spectrogram.min_level_db = nan"),
        ("[model]\nresnet = true\n", "[model].resnet = True must be an integer"),
    ],
)
def test_a_toml_value_of_the_wrong_type_names_its_key(tmp_path, data_dir, toml, expected):
    config = tmp_path / "config.toml"
    config.write_text(toml)
    done = run_cli("train", "--config", config, "--data_dir", data_dir, "--model_dir", tmp_path)
    assert_one_line_error(done, str(config), expected)


def test_a_utf16_toml_and_a_folder_as_config_are_one_line(tmp_path):
    utf16 = tmp_path / "config.toml"
    utf16.write_text("[train]\nlr = 1e-4\n", encoding="utf-16")
    assert_one_line_error(run_cli("train", "--config", utf16), "not UTF-8", "save")
    assert_one_line_error(run_cli("train", "--config", tmp_path), "is a folder")
    legacy = tmp_path / "train.cfg"
    legacy.write_text("lr=1e-4\n", encoding="utf-16")
    assert_one_line_error(run_cli("train", "--config", legacy), "not UTF-8")


def test_a_bad_predict_value_is_one_line(tmp_path, random_model, recording):
    out = tmp_path / "out"
    base = ["predict", "--model_path", random_model, "--input_file", recording]
    assert_one_line_error(run_cli(*base, "--output_dir", out, "--hop", "nan"), "predict.hop_s")
    assert not out.exists()
    if not torch.cuda.is_available():
        done = run_cli(*base, "--output_dir", out, "--device", "cuda")
        assert_one_line_error(done, "--device cuda", "0 CUDA device")
    assert_one_line_error(run_cli(*base, "--device", "tpu"), "predict.device = 'tpu'")


def test_a_bad_evaluate_value_and_a_bad_split_are_one_line(tmp_path, tables, clips_dir):
    predictions, references = tables
    done = run_cli(
        "evaluate", "--predictions", predictions, "--references", references, "--iou", "nan"
    )
    assert_one_line_error(done, "animal-spot evaluate: ", "--iou")
    out = tmp_path / "prepared"
    done = run_cli("prepare", "--out", out, "--clips_dir", clips_dir, "--split", "0.5,0.5,0.5")
    assert_one_line_error(done, "--split", "sum to 1")
    assert not out.exists()


# ---------------------------------------------------------------- the sweep of numeric flags


def numeric_flags(verb: str) -> list[str]:
    """The verb's flags that take a number: from the parser itself, so none is forgotten."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = []
    for action in sub.choices[verb]._actions:
        is_numeric = action.metavar in ("INT", "FLOAT", "TRAIN,VAL,TEST") or (
            callable(action.type) and (action.type not in (str, Path))
        )
        if action.option_strings and is_numeric:
            flags.append(action.option_strings[0])
    return flags


def call_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as done:  # argparse refuses a value before any verb runs
        code = int(done.code or 0)
    return code, capsys.readouterr().err.strip().splitlines()


def sweep(
    base: list[str], flag: str, capsys: pytest.CaptureFixture[str], made: Path | None = None
) -> None:
    """Every swept value is accepted (exit 0) or refused in one line (exit 2), nothing else.

    ``made`` (with ``{n}``): what an accepted value writes, removed after it is checked (a
    training run is 200 MB of checkpoints; 50 flags × 5 values would fill a small disk).
    """
    for number, value in enumerate(SWEPT_VALUES):
        argv = [arg.replace("{n}", str(number)) for arg in base]
        code, err = call_main([*argv, f"{flag}={value}"], capsys)
        if made is not None:
            shutil.rmtree(str(made).replace("{n}", str(number)), ignore_errors=True)
        assert code in (0, 2), (flag, value, err)
        assert "Traceback" not in "\n".join(err), (flag, value, err)
        if code == 2:  # logged warnings may come first; the error is one line, the last
            errors = [line for line in err if line.startswith("animal-spot")]
            assert errors == err[-1:], (flag, value, err)


def test_the_train_sweep_covers_the_flags_that_went_wrong():
    assert {"--lr", "--lr_decay_factor", "--num_workers", "--min_level_db", "--fmax"} <= set(
        numeric_flags("train")
    )
    assert {"--hop", "--window_s", "--num_workers"} <= set(numeric_flags("predict"))
    assert {"--iou", "--n_thresholds"} <= set(numeric_flags("evaluate"))
    assert {"--split", "--workers", "--seed"} <= set(numeric_flags("prepare"))


@pytest.mark.parametrize("flag", numeric_flags("train"))
def test_every_numeric_train_flag_takes_any_number_without_a_traceback(
    flag, tmp_path, data_dir, capsys
):
    base = ["train", "--data_dir", str(data_dir), "--model_dir", str(tmp_path), *SMALL]
    sweep([*base, "--run_name", "r{n}"], flag, capsys, made=tmp_path / "r{n}")


@pytest.mark.parametrize("flag", numeric_flags("predict"))
def test_every_numeric_predict_flag_takes_any_number_without_a_traceback(
    flag, tmp_path, random_model, recording, capsys
):
    base = ["predict", "--model_path", str(random_model), "--input_file", str(recording)]
    sweep([*base, "--output_dir", str(tmp_path / "out{n}")], flag, capsys)


@pytest.mark.parametrize("flag", numeric_flags("evaluate"))
def test_every_numeric_evaluate_flag_takes_any_number_without_a_traceback(
    flag, tmp_path, tables, capsys
):
    predictions, references = map(str, tables)
    base = ["evaluate", "--predictions", predictions, "--references", references]
    sweep([*base, "--output_dir", str(tmp_path / "ev{n}")], flag, capsys)


@pytest.mark.parametrize("flag", numeric_flags("prepare"))
def test_every_numeric_prepare_flag_takes_any_number_without_a_traceback(
    flag, tmp_path, clips_dir, capsys
):
    base = ["prepare", "--clips_dir", str(clips_dir), "--out", str(tmp_path / "out{n}")]
    sweep(base, flag, capsys)


def test_an_output_path_below_a_file_is_one_line_naming_it(tmp_path, tables, clips_dir):
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    predictions, references = tables
    done = run_cli(
        "evaluate", "--predictions", predictions, "--references", references,
        "--output_dir", a_file,
    )  # fmt: skip
    assert_one_line_error(done, f"animal-spot evaluate: {a_file}")
    done = run_cli("prepare", "--out", a_file / "sub", "--clips_dir", clips_dir)
    assert_one_line_error(done, f"animal-spot prepare: {a_file}", "Not a directory")
    assert a_file.read_text() == "keep me"
