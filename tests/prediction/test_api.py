"""predict() and `animal-spot predict` over folders: outputs, bad files, resuming, the CLI."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from animal_spot.annotations.raven import read_table
from animal_spot.cli import main
from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from tests.conftest import write_wav

CALLS = [(1.0, 0.4, 1000.0), (4.2, 0.3, 2500.0)]


def folder_of_recordings(root: Path, n: int = 3, duration_s: float = 6.0) -> Path:
    for i in range(n):
        sub = root / ("night" if i % 2 else "day")
        write_wav(sub / f"rec{i}.wav", duration_s, sample_rate_hz=8000, calls=CALLS, seed=i)
    return root


RUN_RECORDS = ("prediction.json", "predict.log")


def visible_files(folder: Path) -> dict[str, bytes]:
    """Every output file below ``folder`` by relative path (temp files of a killed run aside).

    ``prediction.json`` and ``predict.log`` are left out: they record the run itself (its
    folder, times, statuses).
    """
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".")
        and p.name not in ("prediction.json", "predict.log")
    }


def test_a_folder_gets_scores_tables_embeddings_and_a_combined_table(make_model, tmp_path):
    model = make_model(classes=("noise", "tone"))
    inputs = folder_of_recordings(tmp_path / "in")
    out = tmp_path / "out"
    config = PredictConfig(
        model_path=(model,), input_file=inputs, output_dir=out, hop_s=0.25, threshold=0.2,
        latent_extract=True,
    )  # fmt: skip
    result = predict(config, progress=False)
    assert len(result.predicted) == 3
    assert result.hours == pytest.approx(3 * 6 / 3600)
    names = set(visible_files(out))
    for stem in ("day/rec0", "night/rec1", "day/rec2"):
        for suffix in (".scores.csv", ".selections.txt", ".embeddings.npy", ".embeddings.csv"):
            assert stem + suffix in names
    (track,) = read_scores(out / "night" / "rec1.scores.csv")
    assert track.file == "night/rec1.wav"
    assert track.classes == ("noise", "tone")
    embeddings = np.load(out / "day" / "rec0.embeddings.npy")
    with (out / "day" / "rec0.embeddings.csv").open() as handle:
        index = list(csv.DictReader(handle))
    assert embeddings.shape == (len(index), 512)
    combined = (out / "all.selections.txt").read_text().splitlines()
    assert combined[0].split("\t")[-1] == "Begin File"
    stems = ("day/rec0", "night/rec1", "day/rec2")
    per_file = sum(len(read_table(out / f"{stem}.selections.txt")) for stem in stems)
    assert len(combined) - 1 == result.n_events == per_file
    events = read_table(out / "day" / "rec0.selections.txt")
    assert {(e.low_hz, e.high_hz) for e in events} <= {(300.0, 3900.0)}


def test_unreadable_files_are_reported_once_in_errors_csv_and_the_run_goes_on(make_model, tmp_path):
    inputs = folder_of_recordings(tmp_path / "in", n=2)
    (inputs / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk" * 10)
    (inputs / "empty.wav").write_bytes(b"")
    write_wav(inputs / "silent.wav", 0.0, sample_rate_hz=8000)  # a header and no samples
    config = PredictConfig(model_path=(make_model(),), input_file=inputs, output_dir=tmp_path / "o")
    result = predict(config, progress=False)
    assert len(result.predicted) == 2
    with (tmp_path / "o" / "errors.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(Path(r["file"]).name for r in rows) == ["corrupt.wav", "empty.wav", "silent.wav"]
    reasons = {Path(r["file"]).name: r["reason"] for r in rows}
    assert "empty" in reasons["empty.wav"]
    assert "no samples" in reasons["silent.wav"]
    assert "corrupt.wav" not in reasons["corrupt.wav"]  # the path is in its own column


def test_a_second_run_skips_finished_recordings_unless_overwrite_or_newer(make_model, tmp_path):
    inputs = folder_of_recordings(tmp_path / "in", n=2)
    config = PredictConfig(model_path=(make_model(),), input_file=inputs, output_dir=tmp_path / "o")
    first = predict(config, progress=False)
    table = tmp_path / "o" / "day" / "rec0.selections.txt"
    made_ns = table.stat().st_mtime_ns
    again = predict(config, progress=False)
    assert (again.predicted, len(again.skipped)) == ([], 2)
    assert table.stat().st_mtime_ns == made_ns
    assert again.n_events == first.n_events
    recording = inputs / "night" / "rec1.wav"
    os.utime(recording, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert predict(config, progress=False).predicted == [recording]
    assert len(predict(replace(config, overwrite=True), progress=False).predicted) == 2


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "animal_spot", "predict", *args]


def test_a_killed_folder_run_resumes_without_redoing_finished_files(make_model, tmp_path):
    model = make_model()
    inputs = folder_of_recordings(tmp_path / "in", n=5, duration_s=12.0)
    args = ["--model_path", str(model), "--input_file", str(inputs), "--hop", "0.5"]
    killed = tmp_path / "killed"
    process = subprocess.Popen(_cli(*args, "--output_dir", str(killed)), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(killed.rglob("rec*.selections.txt")):
            assert process.poll() is None, "the run ended before any file was done"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    finished = {p: p.stat().st_mtime_ns for p in killed.rglob("rec*.*") if p.is_file()}
    done_tables = [p for p in finished if p.name.endswith(".selections.txt")]
    assert 1 <= len(done_tables) < 5
    resumed = predict(
        PredictConfig(model_path=(model,), input_file=inputs, output_dir=killed, hop_s=0.5),
        progress=False,
    )
    assert len(resumed.skipped) == len(done_tables)
    for path in done_tables:  # finished recordings were not redone
        assert path.stat().st_mtime_ns == finished[path]
    whole = tmp_path / "whole"
    predict(
        PredictConfig(model_path=(model,), input_file=inputs, output_dir=whole, hop_s=0.5),
        progress=False,
    )
    assert visible_files(killed) == visible_files(whole)
    assert not [p for p in killed.rglob(".*.tmp")]  # a killed write's temp file is cleared


def test_the_cli_prints_the_output_folder_and_a_summary(make_model, tmp_path, capsys):
    inputs = folder_of_recordings(tmp_path / "in", n=2, duration_s=5.0)
    out = tmp_path / "out"
    code = main(
        ["predict", "--model_path", str(make_model()), "--input_file", str(inputs),
         "--output_dir", str(out), "--sequence_len", "0.5", "--hop", "0.5", "--no_cuda"]
    )  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert code == 0
    assert printed[0] == f"wrote {out}"
    assert printed[1].startswith("2 files: 2 predicted")
    assert (out / "all.selections.txt").is_file()


def test_the_cli_names_a_missing_model_in_one_line(tmp_path, capsys):
    code = main(["predict", "--model_path", str(tmp_path / "nope.pt"), "--input_file", "."])
    assert code == 2
    assert "nope.pt" in capsys.readouterr().err


def test_an_animal_spot_predict_config_file_drives_the_cli(make_model, tmp_path, capsys):
    inputs = folder_of_recordings(tmp_path / "in", n=1, duration_s=5.0)
    out = tmp_path / "out"
    config = tmp_path / "predict.cfg"
    config.write_text(
        f"model_path={make_model()}\ninput_file={inputs}\noutput_dir={out}\n"
        "sequence_len=0.5\nhop=0.25\nthreshold=0.75\nbatch_size=1\nno_cuda=true\n"
        "min_max_norm=false\n"
    )
    assert main(["predict", "--config", str(config)]) == 0
    (track,) = read_scores(out / "day" / "rec0.scores.csv")
    assert track.start_s[1] == pytest.approx(0.25, abs=128 / 8000)
    assert capsys.readouterr().out.startswith(f"wrote {out}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_predict_from_python_on_a_cuda_device_this_machine_lacks_is_bad_config(
    make_model, tmp_path
):
    recording = folder_of_recordings(tmp_path / "in", n=1)
    config = PredictConfig(
        model_path=(make_model(),), input_file=recording, output_dir=tmp_path / "out",
        device="cuda:1",
    )  # fmt: skip
    with pytest.raises(BadConfig, match="CUDA device"):
        predict(config, progress=False)
