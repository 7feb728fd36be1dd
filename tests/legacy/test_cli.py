"""The ANIMAL-SPOT paths of the command line: a .pk predicts, logs, evaluates and converts."""

from __future__ import annotations

import subprocess
import sys

import torch

from animal_spot.bundle import load_model
from animal_spot.cli import main
from animal_spot.legacy.logs import read_legacy_log
from tests.conftest import write_wav
from tests.prediction.conftest import save_random_model

from .test_config_file import EVALUATION_TEMPLATE
from .test_models import resnet_pk


def run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "animal_spot", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_pk_predicts_with_legacy_logs_that_evaluate_legacy_turns_into_tables(tmp_path):
    pk, _, _ = resnet_pk(tmp_path, 18, 2, 1)
    write_wav(tmp_path / "audio" / "rec.wav", 3.0, calls=[(1.0, 0.5, 3000.0)])
    out = tmp_path / "predictions"
    run(
        "predict",
        "--model_path",
        pk,
        "--input_file",
        tmp_path / "audio",
        "--output_dir",
        out,
        "--sequence_len",
        "1.0",
        "--hop",
        "0.5",
        "--min_max_norm",
        "--legacy_log",
    )
    log = read_legacy_log(out / "rec_predict_output.log")
    scores = (out / "rec.scores.csv").read_text().splitlines()
    assert len(log.windows) == len(scores) - 1 >= 4
    tables = tmp_path / "tables"
    done = run(
        "evaluate",
        "--legacy",
        "--prediction_dir",
        out,
        "--output_dir",
        tables,
        "--threshold",
        "0.5",
        "--noise_in_anno",
    )
    table = tables / "rec_predict_output.log.annotation.result.txt"
    assert "wrote 1 annotation tables" in done.stdout
    header = table.read_text().splitlines()[0].split("\t")
    assert header[:5] == ["Selection", "View", "Channel", "Begin time (s)", "End time (s)"]


def test_the_evaluation_template_runs_through_evaluate_config(tmp_path):
    pk, _, _ = resnet_pk(tmp_path, 18, 2, 1)
    write_wav(tmp_path / "audio" / "rec.wav", 2.0)
    logs = tmp_path / "predictions"
    run(
        "predict",
        "--model_path",
        pk,
        "--input_file",
        tmp_path / "audio",
        "--output_dir",
        logs,
        "--sequence_len",
        "1.0",
        "--legacy_log",
    )
    config = tmp_path / "eval.cfg"
    config.write_text(EVALUATION_TEMPLATE.format(root=tmp_path))
    run("evaluate", "--config", config)
    tables = list((tmp_path / "annotations").glob("*.annotation.result.txt"))
    assert [t.name for t in tables] == ["rec_predict_output.log.annotation.result.txt"]


def test_export_from_legacy_writes_a_model_pt_that_needs_no_flags(tmp_path):
    pk, _, _ = resnet_pk(tmp_path, 18, 3, 2)
    target = tmp_path / "converted.pt"
    run(
        "export", "--from_legacy", pk, "--sequence_len", "500", "--min_max_norm", "--output", target
    )
    content = torch.load(target, weights_only=True)
    bundle = load_model(target)
    assert content["classes"] == bundle.classes == ["K0", "K1", "K2"]
    assert bundle.config.spectrogram.sequence_len_ms == 500
    assert bundle.config.spectrogram.min_max_norm


LOG_END = "_predict_output.log"


def test_legacy_logs_of_recordings_whose_names_clash_do_not_overwrite_each_other(tmp_path):
    model = save_random_model(tmp_path / "model.pt")
    inputs = tmp_path / "in"
    for name in ("rec.wav", "rec.flac", "a.x.wav", "a.y.wav"):
        write_wav(inputs / name, 3.0, sample_rate_hz=8000, seed=len(name))
    out = tmp_path / "out"
    code = main([
        "predict", "--model_path", str(model), "--input_file", str(inputs),
        "--output_dir", str(out), "--legacy_log",
    ])  # fmt: skip
    assert code == 0
    logs = sorted(p.name for p in out.glob(f"*{LOG_END}"))
    assert logs == [
        "a.x_predict_output.log", "a.y_predict_output.log",
        "rec.flac_predict_output.log", "rec.wav_predict_output.log",
    ]  # fmt: skip
    speaks_of = {name: read_legacy_log(out / name).file or "" for name in logs}
    assert sorted(speaks_of.values()) == ["a.x.wav", "a.y.wav", "rec.flac", "rec.wav"]
    assert all(file.startswith(log.removesuffix(LOG_END)) for log, file in speaks_of.items())
