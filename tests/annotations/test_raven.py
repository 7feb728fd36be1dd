"""Raven selection tables: reading real and odd tables, writing, round trips, matching."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import find_table_for, read_table, write_table
from animal_spot.errors import BadTable


def write_text(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_real_table_gives_one_event_per_annotated_call(shared_data):
    folder = shared_data / "narw_upcalls"
    with (folder / "annotations_dev.csv").open(newline="") as handle:
        expected = Counter(Path(row["filename"]).stem for row in csv.DictReader(handle))
    counts = {}
    for table in sorted((folder / "raven").glob("*.txt")):
        events = read_table(table)
        assert all(e.label == "upcall" and e.end_s > e.start_s and e.low_hz for e in events)
        counts[table.name.split(".")[0]] = len(events)
    assert counts == dict(expected)
    assert sum(counts.values()) == 53


def test_written_events_read_back_the_same_sorted_by_start(tmp_path):
    events = [
        Event(12.5, 13.25, "call", score=0.875, low_hz=500.0, high_hz=4000.0),
        Event(1.123456, 2.0, "noise"),
        Event(7.0, 7.5, "song type A", score=1e-7, low_hz=0.0, high_hz=22050.0),
    ]
    path = write_table(events, tmp_path / "out" / "rec.selections.txt")
    again = read_table(path)
    assert again == sorted(events, key=lambda e: e.start_s)
    assert [p.name for p in path.parent.iterdir()] == ["rec.selections.txt"]  # no temp file left


def test_written_table_has_ravens_header_and_extra_columns_follow_their_events(tmp_path):
    events = [Event(5.0, 6.0, "b", score=0.5), Event(1.0, 2.0, "a", score=0.25)]
    path = write_table(events, tmp_path / "t.txt", extra_columns={"File": ["second", "first"]})
    header, first, second = path.read_text(encoding="utf-8").splitlines()
    assert header.split("\t") == [
        "Selection", "View", "Channel", "Begin Time (s)", "End Time (s)",
        "Low Freq (Hz)", "High Freq (Hz)", "Annotation", "Score", "File",
    ]  # fmt: skip
    assert first.split("\t") == [
        "1",
        "Spectrogram 1",
        "1",
        "1.000000",
        "2.000000",
        "",
        "",
        "a",
        "0.25",
        "first",
    ]
    assert second.split("\t")[0] == "2"
    assert second.endswith("second")


def test_animal_spot_evaluation_tables_with_lower_case_time_and_sound_type_are_read(tmp_path):
    path = write_text(
        tmp_path / "x.annotation.result.txt",
        [
            "Selection\tView\tChannel\tBegin time (s)\tEnd time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
            "\tSound type\tComments",
            "1\tSpectrogram_1\t1\t0.5\t1.5\t500\t10000\ttarget\t ",
            "",
            "2\tSpectrogram_1\t1\t2.0\t2.25\t500\t10000\tnoise\t ",
        ],
    )
    assert read_table(path) == [
        Event(0.5, 1.5, "target", low_hz=500.0, high_hz=10000.0),
        Event(2.0, 2.25, "noise", low_hz=500.0, high_hz=10000.0),
    ]


def test_a_table_with_spectrogram_and_waveform_views_gives_one_event_per_selection(tmp_path):
    path = write_text(
        tmp_path / "views.txt",
        [
            "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
            "\tAnnotation",
            "1\tSpectrogram 1\t1\t1.0\t2.0\t100\t200\tcall",
            "1\tWaveform 1\t1\t1.0\t2.0\t\t\tcall",
            "2\tWaveform 1\t1\t3.0\t4.0\t\t\tcall",
            "2\tSpectrogram 1\t1\t3.0\t4.0\t150\t250\tcall",
        ],
    )
    events = read_table(path)
    assert [(e.start_s, e.low_hz) for e in events] == [(1.0, 100.0), (3.0, 150.0)]


def test_a_table_without_a_label_column_gives_empty_labels(tmp_path):
    path = write_text(tmp_path / "t.txt", ["begin time (s)\tend time (s)", "1\t2"])
    assert read_table(path) == [Event(1.0, 2.0, "")]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ["Selection\tBegin Time (s)\tLow Freq (Hz)", "1\t2.0\t100"],
            r"line 1: no column .End Time \(s\)",
        ),
        (["Begin Time (s)\tEnd Time (s)", "1.0\t2.0", "1.5\tsoon"], "line 3"),
        (["Begin Time (s)\tEnd Time (s)", "4.0\t3.0"], "line 2: ends at 3.0 s"),
        (["Begin Time (s)\tEnd Time (s)", "\tnan"], "line 2"),
        ([""], "empty"),
    ],
)
def test_a_broken_table_raises_bad_table_naming_the_file_and_the_line(tmp_path, lines, expected):
    path = write_text(tmp_path / "broken.txt", lines)
    with pytest.raises(BadTable, match=expected) as caught:
        read_table(path)
    assert "broken.txt" in str(caught.value)
    assert caught.value.fix


def test_a_named_label_column_that_is_missing_lists_the_columns_found(tmp_path):
    path = write_text(tmp_path / "t.txt", ["Begin Time (s)\tEnd Time (s)\tSpecies", "1\t2\tx"])
    with pytest.raises(BadTable, match=r"columns found: Begin Time.*Species") as caught:
        read_table(path, annotation_column="Specie")
    assert "did you mean 'Species'" in str(caught.value)
    assert read_table(path, annotation_column="species")[0].label == "x"


def test_a_recording_finds_its_table_by_ravens_name_or_by_its_stem(tmp_path):
    write_text(tmp_path / "tables" / "rec_a.Table.1.selections.txt", ["x"])
    write_text(tmp_path / "tables" / "rec_a.b.Table.1.selections.txt", ["x"])
    write_text(tmp_path / "tables" / "sub" / "rec_b.annotations.txt", ["x"])
    tables = tmp_path / "tables"
    assert find_table_for(tmp_path / "rec_a.wav", tables).name == "rec_a.Table.1.selections.txt"
    assert find_table_for(Path("REC_A.B.flac"), tables).name == "rec_a.b.Table.1.selections.txt"
    assert find_table_for(Path("rec_b.wav"), tables).name == "rec_b.annotations.txt"
    assert find_table_for(Path("rec_c.wav"), tables) is None


def test_a_recording_with_two_tables_is_ambiguous(tmp_path):
    write_text(tmp_path / "rec.Table.1.selections.txt", ["x"])
    write_text(tmp_path / "rec.Table.2.selections.txt", ["x"])
    with pytest.raises(BadTable, match=r"2 tables match the recording rec\.wav"):
        find_table_for(Path("rec.wav"), tmp_path)
