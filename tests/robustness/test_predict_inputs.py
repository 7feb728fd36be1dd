"""`animal-spot predict` on messy folders: odd names, clashing names, links, FIFOs, two runs."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from animal_spot.annotations.raven import read_table
from animal_spot.config import PredictConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.scores import read_scores
from animal_spot.synthetic import synthesize_recording
from tests.conftest import write_wav

HOP_S = 0.25
IS_ROOT = os.name == "posix" and os.geteuid() == 0
FORMULA_STARTS = ("=", "+", "-", "@")  # what a spreadsheet runs as a formula


def run_cli(model: Path, inputs: Path, out: Path, *extra: str, timeout: float = 300):
    """``animal-spot predict`` in a real subprocess; stdout and stderr as text."""
    command = [sys.executable, "-m", "animal_spot.cli", "predict", "--model_path", str(model)]
    command += ["--input_file", str(inputs), "--output_dir", str(out), "--hop", str(HOP_S)]
    command.extend(extra)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def tone_at(path: Path, start_s: float, duration_s: float = 4.0) -> Path:
    """A recording with one tone of 0.4 s at ``start_s``, written under ``path`` (any bytes)."""
    plain = path.with_name("plain-tmp.wav")
    synthesize_recording(plain, duration_s, [(start_s, 0.4, "tone")], seed=round(start_s * 10))
    os.rename(plain, path)  # os.rename takes any name the file system does
    return path


def combined_files(table: Path) -> list[str]:
    """The ``Begin File`` cells of a combined table, one per event."""
    lines = table.read_text(encoding="utf-8").splitlines()
    at = lines[0].split("\t").index("Begin File")
    return [line.split("\t")[at] for line in lines[1:]]


def assert_one_clean_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_name_that_is_not_utf8_is_scored_with_the_others(trained_model, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    latin1 = inputs / os.fsdecode(b"caf\xe9.wav")  # café in Latin-1: not valid UTF-8
    tone_at(latin1, 1.3)
    tone_at(inputs / "ok.wav", 2.6)
    out = tmp_path / "out"
    done = run_cli(trained_model, inputs, out)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "2 files: 2 predicted" in done.stdout
    (event,) = read_table(out / "caf\\xe9.selections.txt")  # a valid UTF-8 name
    assert abs(event.start_s - 1.3) <= HOP_S + 0.25
    (track,) = read_scores(out / "caf\\xe9.scores.csv")
    assert track.file == "caf\\xe9.wav"
    assert sorted(combined_files(out / "all.selections.txt")) == ["caf\\xe9.wav", "ok.wav"]


def test_recordings_sharing_a_stem_or_named_all_keep_their_own_results_over_reruns(
    trained_model, tmp_path
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    tone_at(inputs / "rec.wav", 0.8)
    synthesize_recording(inputs / "rec.flac", 4.0, [(2.9, 0.4, "tone")], seed=2)
    tone_at(inputs / "all.wav", 1.9)
    config = PredictConfig(
        model_path=(trained_model,), input_file=inputs, output_dir=tmp_path / "out", hop_s=HOP_S
    )
    first = predict(config, progress=False)
    out = tmp_path / "out"
    for name, start_s in [("rec.wav", 0.8), ("rec.flac", 2.9), ("all.wav", 1.9)]:
        (event,) = read_table(out / f"{name}.selections.txt")
        assert abs(event.start_s - start_s) <= HOP_S + 0.25, name
        (track,) = read_scores(out / f"{name}.scores.csv")
        assert track.file == name
    combined = (out / "all.selections.txt").read_bytes()
    assert first.n_events == 3
    assert sorted(combined_files(out / "all.selections.txt")) == ["all.wav", "rec.flac", "rec.wav"]
    for _ in range(2):
        again = predict(config, progress=False)
        assert (again.predicted, again.n_events) == ([], 3)
        assert (out / "all.selections.txt").read_bytes() == combined


def all_cells(folder: Path) -> list[tuple[Path, list[list[str]]]]:
    """Every table prediction wrote, as rows of cells (CSV by csv, Raven tables by tabs)."""
    tables = []
    written = (p for p in folder.rglob("*") if p.is_file() and p.suffix in (".csv", ".txt"))
    for path in sorted(written):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".csv":
            rows = list(csv.reader(text.splitlines()))
        else:
            rows = [line.split("\t") for line in text.split("\n") if line]
        tables.append((path, rows))
    return tables


def test_tabs_line_breaks_and_formula_names_become_safe_cells_in_every_table(
    trained_model, tmp_path
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["=HYPERLINK(1).wav", "+1.wav", "-2.wav", "@sum.wav", "tab\there.wav", "line\nb.wav"]
    for i, name in enumerate(names):
        tone_at(inputs / name, 0.7 + 0.4 * i)
    write_wav(inputs / "bad\tname.wav", 0.0, sample_rate_hz=8000)  # an error row with a tab
    out = tmp_path / "out"
    done = run_cli(trained_model, inputs, out, "--latent_extract")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    tables = all_cells(out)
    assert len(tables) == 1 + 1 + 3 * len(names)  # combined, errors, per recording
    for path, rows in tables:
        assert len({len(row) for row in rows}) == 1, path  # no cell broke a row
        for row in rows:
            assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)], (path, row)
    files = sorted(combined_files(out / "all.selections.txt"))
    assert files == sorted(["'=HYPERLINK(1).wav", "'+1.wav", "'-2.wav", "'@sum.wav",
                            "tab\\there.wav", "line\\nb.wav"])  # fmt: skip
    (track,) = read_scores(out / "=HYPERLINK(1).scores.csv")
    assert track.file == "=HYPERLINK(1).wav"  # read back as written by the recorder


def slow_folder(root: Path, n: int = 12, duration_s: float = 30.0) -> Path:
    for i in range(n):
        write_wav(root / f"rec{i:02d}.wav", duration_s, sample_rate_hz=8000, seed=i)
    return root


def test_a_second_run_on_the_same_output_folder_stops_with_one_line_and_the_first_finishes(
    random_model, tmp_path
):
    inputs = slow_folder(tmp_path / "in")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "animal_spot.cli", "predict", "--model_path",
               str(random_model), "--input_file", str(inputs), "--output_dir", str(out),
               "--hop", "0.05"]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("rec*.selections.txt")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert first.poll() is None, "the first run ended before the second one started"
        stdout, stderr = first.communicate(timeout=300)
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    line = assert_one_clean_line(second.stderr)
    assert "another process is predicting into this folder" in line
    assert first.returncode == 0, stderr
    assert "12 files: 12 predicted" in stdout
    assert not list(out.glob(".*.tmp"))
    for i in range(12):
        assert len(read_scores(out / f"rec{i:02d}.scores.csv")[0]) > 500


def messy_folder(root: Path) -> tuple[Path, list[str]]:
    """A good recording beside every kind of entry a search must step over; their names."""
    root.mkdir(parents=True)
    write_wav(root / "good.wav", 1.0, sample_rate_hz=8000)
    (root / "folder.wav").mkdir()
    os.mkfifo(root / "fifo.wav")  # opening it would block forever
    (root / "dangling.wav").symlink_to(root / "gone.wav")
    (root / "self.wav").symlink_to(root / "self.wav")  # ELOOP
    (root / "loop").symlink_to(root)  # a folder link back to the top
    return root, ["folder.wav", "fifo.wav", "dangling.wav", "self.wav", "loop"]


def test_links_fifos_and_folders_named_wav_are_each_reported_once_and_the_rest_scored(
    random_model, tmp_path
):
    inputs, skipped = messy_folder(tmp_path / "in")
    out = tmp_path / "out"
    done = run_cli(random_model, inputs, out, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    for name in skipped:
        assert len([line for line in warnings if f"{inputs / name}:" in line]) == 1, name
    assert len(warnings) == len(skipped) + 1  # and one summary
    assert f"{len(skipped)} of {len(skipped) + 1} inputs not scored" in warnings[-1]
    with (out / "errors.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(Path(row["file"]).name for row in rows) == sorted(skipped)
    assert (out / "good.selections.txt").is_file()
    assert "6 files: 1 predicted" in done.stdout


def test_a_folder_where_nothing_can_be_scored_exits_2_with_one_line(random_model, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" * 20)
    (inputs / "empty.wav").write_bytes(b"")
    os.mkfifo(inputs / "fifo.wav")
    done = run_cli(random_model, inputs, tmp_path / "out", timeout=120)
    assert done.returncode == 2
    line = assert_one_clean_line(done.stderr)
    assert "no input could be scored" in line
    assert "errors.csv" in line
    with (tmp_path / "out" / "errors.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 3


def test_a_folder_without_recordings_exits_2_with_one_line(random_model, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("no audio here")
    done = run_cli(random_model, tmp_path / "in", tmp_path / "out", timeout=120)
    assert done.returncode == 2
    assert "no recordings found" in assert_one_clean_line(done.stderr)


@pytest.mark.skipif(IS_ROOT, reason="root reads every file and folder")
def test_unreadable_files_and_folders_are_reported_as_permission_errors(random_model, tmp_path):
    inputs = tmp_path / "in"
    write_wav(inputs / "good.wav", 1.0, sample_rate_hz=8000)
    write_wav(inputs / "locked.wav", 1.0, sample_rate_hz=8000).chmod(0)
    write_wav(inputs / "closed" / "inside.wav", 1.0, sample_rate_hz=8000)
    (inputs / "closed").chmod(0)
    try:
        config = PredictConfig(model_path=(random_model,), input_file=inputs, output_dir=tmp_path)
        result = predict(config, progress=False)
    finally:
        (inputs / "closed").chmod(0o755)
    assert result.predicted == [inputs / "good.wav"]
    reasons = {path.name: reason for path, reason in result.errors}
    assert reasons["locked.wav"] == "cannot read: permission denied — check the file's permissions"
    assert "permission denied" in reasons["closed"]
    assert not any("re-export" in reason for reason in reasons.values())


def test_many_entries_left_out_are_summarised_after_the_first_twenty(
    random_model, tmp_path, caplog
):
    inputs = tmp_path / "in"
    write_wav(inputs / "good.wav", 0.5, sample_rate_hz=8000)
    for i in range(25):
        (inputs / f"empty{i:02d}.wav").write_bytes(b"")
    config = PredictConfig(model_path=(random_model,), input_file=inputs, output_dir=tmp_path / "o")
    with caplog.at_level("WARNING"):
        result = predict(config, progress=False)
    assert len(result.errors) == 25
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len([line for line in lines if "empty" in line and ".wav:" in line]) == 20
    assert "5 more files (25 in all)" in lines[20]
    assert "25 of 26 inputs not scored" in lines[-1]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_every_output_gets_the_mode_a_plain_open_gives(random_model, tmp_path, umask):
    inputs = tmp_path / "in"
    write_wav(inputs / "a.wav", 1.0, sample_rate_hz=8000)
    (inputs / "bad.wav").write_bytes(b"")  # so that errors.csv is written too
    config = PredictConfig(
        model_path=(random_model,), input_file=inputs, output_dir=tmp_path / "out",
        latent_extract=True,
    )  # fmt: skip
    before = os.umask(umask)
    try:
        predict(config, progress=False)
    finally:
        os.umask(before)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    # 4 outputs, the combined table, errors.csv, prediction.json, predict.log, the folder's lock
    assert len(modes) == 9
    assert set(modes.values()) == {0o666 & ~umask}, modes


def fill_folder(root: Path, n_files: int, n_bad: int) -> list[str]:
    """``n_files`` recordings of 0.5 s at 2 kHz, ``n_bad`` of them broken in turn; bad names."""
    kinds = ["corrupt", "empty", "header", "nan", "fifo"]
    rng = np.random.default_rng(0)
    bad_at = set(rng.choice(n_files, size=n_bad, replace=False).tolist())
    bad = []
    root.mkdir(parents=True)
    for i in range(n_files):
        path = root / f"f{i:04d}.wav"
        if i not in bad_at:
            sf.write(str(path), 0.01 * rng.standard_normal(1000), 2000, subtype="PCM_16")
            continue
        kind = kinds[len(bad) % len(kinds)]
        if kind == "corrupt":
            path.write_bytes(rng.bytes(2000))
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "header":
            sf.write(str(path), np.zeros(0), 2000)
        elif kind == "nan":
            sf.write(str(path), np.full(1000, np.nan), 2000, subtype="FLOAT")
        else:
            os.mkfifo(path)
        bad.append(path.name)
    return bad


def test_a_folder_of_1000_files_with_ten_bad_ones_scores_every_good_one(random_model, tmp_path):
    n_files, n_bad = 1000, 10  # about 30 s on one core
    bad = fill_folder(tmp_path / "in", n_files, n_bad)
    out = tmp_path / "out"
    done = run_cli(random_model, tmp_path / "in", out, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{n_files} files: {n_files - n_bad} predicted" in done.stdout
    assert len(list(out.glob("f*.selections.txt"))) == n_files - n_bad
    with (out / "errors.csv").open(encoding="utf-8") as handle:
        listed = [Path(row["file"]).name for row in csv.DictReader(handle)]
    assert sorted(listed) == sorted(bad)
    for name in bad:
        assert done.stderr.count(f"{name}:") == 1, name


def test_a_name_too_long_for_its_outputs_is_reported_and_the_others_scored(random_model, tmp_path):
    inputs = tmp_path / "in"
    write_wav(inputs / "good.wav", 1.0, sample_rate_hz=8000)
    long_name = "n" * 245 + ".wav"  # fits the disk's 255 bytes; its outputs do not
    write_wav(inputs / long_name, 1.0, sample_rate_hz=8000)
    config = PredictConfig(model_path=(random_model,), input_file=inputs, output_dir=tmp_path / "o")
    result = predict(config, progress=False)
    assert result.predicted == [inputs / "good.wav"]
    ((path, reason),) = result.errors
    assert path == inputs / long_name
    assert "cannot write its outputs" in reason
    assert not list((tmp_path / "o").glob(".*.tmp"))
