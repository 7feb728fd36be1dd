"""Pairing tables with recordings: every tool's table names, multi-file tables, reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from animal_spot.annotations.raven import (
    match_table,
    pair_tables,
    read_paired,
    recording_stem,
    table_files,
)
from tests.annotations.tables import BIRDNET, RAVEN, RAVEN_MULTI_FILE, write_lines

ROW = "1\tSpectrogram 1\t1\t1.0\t2.0\t100\t200\tcall"


@pytest.mark.parametrize(
    "name",
    [
        "REC.BirdNET.selection.table.txt",
        "REC.selections.txt",
        "REC.Table.1.selections.txt",
        "REC.txt",
        "REC.wav.selections.txt",
        "REC_predict_output.log.annotation.result.txt",
    ],
)
def test_every_tools_table_name_pairs_with_its_recording_and_not_with_a_longer_stem(tmp_path, name):
    table = write_lines(tmp_path / "tables" / name, [RAVEN, ROW])
    write_lines(tmp_path / "tables" / "REC.b.Table.1.selections.txt", [RAVEN, ROW])
    assert recording_stem(name) == "REC"
    recordings = [Path("audio/REC.wav"), Path("audio/REC.b.wav"), Path("audio/other.flac")]
    pairs, unpaired = pair_tables(recordings, table_files(tmp_path / "tables"))
    assert pairs == {
        Path("audio/REC.wav"): table,
        Path("audio/REC.b.wav"): tmp_path / "tables" / "REC.b.Table.1.selections.txt",
    }
    assert unpaired == [(Path("audio/other.flac"), "no selection table of this name")]


def test_a_prefix_only_table_goes_to_the_longest_stem_that_fits(tmp_path):
    table = write_lines(tmp_path / "rec.b.notes.txt", [RAVEN, ROW])
    pairs, unpaired = pair_tables([Path("rec.wav"), Path("rec.b.wav")], [table])
    assert pairs == {Path("rec.b.wav"): table}
    assert unpaired == [(Path("rec.wav"), "no selection table of this name")]


def test_ravens_name_wins_over_another_tools_name_for_the_same_recording(tmp_path):
    raven = write_lines(tmp_path / "rec.Table.1.selections.txt", [RAVEN, ROW])
    other = write_lines(tmp_path / "rec.selections.txt", [RAVEN, ROW])
    assert match_table("rec.wav", [other, raven]) == raven


def multi_file_table(folder: Path) -> Path:
    return write_lines(
        folder / "tables" / "night.Table.1.selections.txt",
        [
            RAVEN_MULTI_FILE,
            "1\tSpectrogram 1\t1\t55.5\t57.0\t80\t300\tD:\\narw\\a.wav\t55.5\ta.wav\tupcall",
            "2\tSpectrogram 1\t1\t905.25\t906.0\t90\t280\tD:\\narw\\b.wav\t5.25\tb.wav\tupcall",
            "3\tSpectrogram 1\t1\t907.0\t908.0\t90\t280\tD:\\narw\\b.wav\t7.0\tb.wav\tupcall",
            "4\tSpectrogram 1\t1\t1810.0\t1811.5\t90\t280\tD:\\narw\\c.wav\t10.0\tc.wav\tupcall",
        ],
    )


def test_a_multi_file_table_pairs_with_each_recording_it_names_and_reports_the_rest(tmp_path):
    table = multi_file_table(tmp_path)
    recordings = [tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "d.wav"]
    paired = read_paired(recordings, table_files(tmp_path / "tables"))
    assert paired.tables == {tmp_path / "a.wav": table, tmp_path / "b.wav": table}
    assert [(e.start_s, e.end_s) for e in paired.events[tmp_path / "a.wav"]] == [(55.5, 57.0)]
    assert [(e.start_s, e.end_s) for e in paired.events[tmp_path / "b.wav"]] == [
        (5.25, 6.0),
        (7.0, 8.0),
    ]
    assert paired.unpaired == [(tmp_path / "d.wav", "no selection table of this name")]
    assert paired.reports[table].summary() == (
        "3 selections used, 1 skipped (1 of sound files not among the recordings)"
    )


def test_a_recording_in_a_multi_file_table_and_with_its_own_table_is_ambiguous(tmp_path):
    multi_file_table(tmp_path)
    write_lines(tmp_path / "tables" / "a.Table.1.selections.txt", [RAVEN, ROW])
    pairs, unpaired = pair_tables([tmp_path / "a.wav"], table_files(tmp_path / "tables"))
    assert pairs == {}
    assert "2 tables match the recording a.wav" in unpaired[0][1]


def test_a_birdnet_table_pairs_by_the_file_it_names_whatever_its_name(tmp_path):
    row = "1\tSpectrogram 1\t1\t/x/XC1.flac\t3.0\t6.0\t150\t15000\tamerob\tAmerican Robin\t0.9\t3"
    table = write_lines(tmp_path / "BirdNET_SelectionTable.txt", [BIRDNET, row])
    paired = read_paired([tmp_path / "XC1.wav"], [table])
    assert [(e.start_s, e.label) for e in paired.events[tmp_path / "XC1.wav"]] == [
        (3.0, "American Robin")
    ]


def test_an_unreadable_table_is_left_unpaired_with_its_error(tmp_path):
    table = write_lines(tmp_path / "rec.Table.1.selections.txt", [RAVEN.replace("\t", ";"), ROW])
    paired = read_paired([tmp_path / "rec.wav"], [table])
    assert paired.tables == {}
    assert [(path, reason.split(" — ")[0]) for path, reason in paired.unpaired] == [
        (table, "line 1: the columns are separated by ';', not by tabs")
    ]
