"""Selection tables from Raven Pro, BirdNET-Analyzer and spreadsheets through prepare, evaluate."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import write_table
from tests.annotations.tables import BIRDNET, RAVEN, RAVEN_MULTI_FILE, write_lines
from tests.conftest import write_wav

RATE_HZ = 8000


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animal_spot.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr


def night_table(folder: Path) -> Path:
    """A Raven Pro table spanning a.wav and b.wav (and c.wav, not among the recordings)."""
    return write_lines(
        folder / "night.Table.1.selections.txt",
        [
            RAVEN_MULTI_FILE,
            "1\tSpectrogram 1\t1\t5.0\t5.5\t500\t1500\tD:\\night\\a.wav\t5.0\ta.wav\tupcall",
            "2\tSpectrogram 1\t1\t31.0\t31.5\t500\t1500\tD:\\night\\b.wav\t11.0\tb.wav\tgunshot",
            "3\tSpectrogram 1\t1\t34.0\t34.5\t500\t1500\tD:\\night\\b.wav\t14.0\tb.wav\t",
            "4\tSpectrogram 1\t1\t45.0\t45.5\t500\t1500\tD:\\night\\c.wav\t5.0\tc.wav\tupcall",
        ],
    )


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """Three 20 s recordings a, b and rec, each with a tone at 5 s."""
    for seed, stem in enumerate(("a", "b", "rec")):
        path = tmp_path / "audio" / f"{stem}.wav"
        write_wav(path, 20.0, sample_rate_hz=RATE_HZ, calls=[(5.0, 0.5, 1000.0)], seed=seed)
    return tmp_path / "audio"


def clip_rows(out: Path) -> list[tuple[str, str, float, float]]:
    rows = []
    for split in ("train", "val", "test"):
        with (out / f"{split}.csv").open(newline="") as handle:
            rows += [
                (Path(r["path"]).name, r["label"], float(r["start_s"]), float(r["end_s"]))
                for r in csv.DictReader(handle)
            ]
    return sorted(rows)


def test_prepare_gives_each_recording_its_selections_of_raven_and_birdnet_tables(
    tmp_path, recordings
):
    tables = tmp_path / "raven"
    night_table(tables)
    write_lines(
        tables / "rec.BirdNET.selection.table.txt",
        [
            BIRDNET,
            "1\tSpectrogram 1\t1\t/d/rec.wav\t3.0\t6.0\t150\t4000\tamerob\tAmerican Robin"
            "\t0.81\t3.0",
            "2\tSpectrogram 1\t1\t/d/rec.wav\t21.0\t24.0\t150\t4000\tamerob\tAmerican Robin"
            "\t0.52\t21.0",
        ],
    )
    out = tmp_path / "out"
    done = run_cli(
        "prepare", "--raven_dir", tables, "--audio_dir", recordings, "--window_s", "1",
        "--out", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert clip_rows(out) == [
        ("a.wav", "upcall", 4.75, 5.75),
        ("b.wav", "gunshot", 10.75, 11.75),  # on b.wav's own timeline, not the night's
        ("rec.wav", "American Robin", 3.0, 6.0),
    ]
    assert (
        "night.Table.1.selections.txt: 2 selections used, 2 skipped "
        "(1 of sound files not among the recordings, 1 without a label)"
    ) in done.stdout
    assert (
        "rec.BirdNET.selection.table.txt: 1 selections used, 1 skipped "
        "(1 past the end of the recording)"
    ) in done.stdout
    assert "labels from 'Common Name'" in done.stderr
    assert "--annotation_column NAME" in done.stderr


def test_prepare_with_a_semicolon_separated_table_says_so_in_one_line(tmp_path, recordings):
    header = RAVEN.replace("\t", ";")
    write_lines(tmp_path / "raven" / "a.Table.1.selections.txt", [header, "1;S;1;5;5.5;1;2;x"])
    done = run_cli(
        "prepare", "--raven_dir", tmp_path / "raven", "--audio_dir", recordings,
        "--window_s", "1", "--out", tmp_path / "out",
    )  # fmt: skip
    assert_one_line_error(done, "a.Table.1.selections.txt", "separated by ';'")
    assert not (tmp_path / "out" / "train.csv").exists()


def test_evaluate_matches_each_recording_against_its_selections_of_a_multi_file_table(tmp_path):
    night_table(tmp_path / "references")
    write_table([Event(5.0, 5.5, "upcall", score=0.9)], tmp_path / "pred" / "a.selections.txt")
    write_table(
        [Event(11.0, 11.5, "gunshot", score=0.8), Event(14.0, 14.5, "", score=0.7)],
        tmp_path / "pred" / "b.selections.txt",
    )
    done = run_cli(
        "evaluate", "--predictions", tmp_path / "pred", "--references", tmp_path / "references",
        "--output_dir", tmp_path / "ev",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert {r["name"]: r["true_positives"] for r in figures["recordings"]} == {"a": 1, "b": 2}
    assert figures["overall"]["false_negatives"] == 0
    assert figures["unpaired"] == [
        {
            "file": str(tmp_path / "references" / "night.Table.1.selections.txt"),
            "reason": "3 selections used, 1 skipped (1 of recordings without predictions)",
        }
    ]


def reference_case(tmp_path: Path, lines: list[str], encoding: str = "utf-8") -> list[Path]:
    write_table([Event(5.0, 5.5, "upcall", score=0.9)], tmp_path / "pred" / "a.selections.txt")
    reference = write_lines(tmp_path / "a.Table.1.selections.txt", lines, encoding=encoding)
    return [tmp_path / "pred" / "a.selections.txt", reference]


@pytest.mark.parametrize(
    ("row", "needles"),
    [
        ("1\tSpectrogram 1\t1\t5,0\t5,5\t500\t1500\tupcall", ["line 2", "decimal commas"]),
        ("1\tSpectrogram 1\t1\t-5.0\t5.5\t500\t1500\tupcall", ["line 2", "begins at -5.0 s"]),
        ("1\tSpectrogram 1\t1\t5.0\t5.5\t500\t1500\tupcall\t3000", ["line 2 has 9 cells"]),
    ],
)
def test_evaluate_refuses_a_reference_it_would_misread_with_one_line(tmp_path, row, needles):
    predicted, reference = reference_case(tmp_path, [RAVEN, row])
    done = run_cli("evaluate", "--predictions", predicted, "--references", reference)
    assert_one_line_error(done, "a.Table.1.selections.txt", *needles)


def test_evaluate_refuses_a_semicolon_header_that_would_give_labels_like_3000(tmp_path):
    header = RAVEN.replace("Selection\tView", "Selection;View")
    row = "1\tSpectrogram 1\t1\t5.0\t5.5\t500\t3000\tupcall"
    predicted, reference = reference_case(tmp_path, [header, row])
    done = run_cli("evaluate", "--predictions", predicted, "--references", reference)
    assert_one_line_error(done, "line 2 has 8 cells, the header 7", "';' where a tab belongs")


def test_evaluate_reads_a_utf16_reference_with_its_label_in_species(tmp_path):
    lines = [
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tSpecies\tConfidence",
        "1\tSpectrogram 1\t1\t5.0\t5.5\tupcall\t0.75",
    ]
    predicted, reference = reference_case(tmp_path, lines, encoding="utf-16")
    done = run_cli(
        "evaluate", "--predictions", predicted, "--references", reference,
        "--output_dir", tmp_path / "ev",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert figures["per_class"]["upcall"]["true_positives"] == 1
