"""Manifest CSVs: formula-safe cells that read back the same; spreadsheet exports of any kind."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from animal_spot.data.clips import read_csv
from animal_spot.data.manifest import (
    Clip,
    protect_cell,
    read_manifest,
    read_table,
    text_problem,
    unprotect_cell,
    write_manifest,
)
from animal_spot.errors import BadTable
from tests.conftest import write_wav

RATE_HZ = 8000


@pytest.mark.parametrize("label", ["=1+1", "+call", "-noise", "@SUM(A1)", "'=quoted", "''@two"])
def test_a_label_a_spreadsheet_would_run_is_written_as_text_and_reads_back_the_same(
    tmp_path, label
):
    clips = [Clip(tmp_path / "a.wav", label, f"{label}group", 0.5, 1.25)]
    path = write_manifest(clips, tmp_path / "train.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["label"] == "'" + label and row["group"] == "'" + label + "group"
    (back,) = read_manifest(path)
    assert (back.label, back.group, back.start_s, back.end_s) == (label, f"{label}group", 0.5, 1.25)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1))
def test_any_label_without_control_characters_round_trips_through_a_cell(label):
    assert unprotect_cell(protect_cell(label)) == label
    cell = protect_cell(label)
    is_number = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cell) is not None
    assert is_number or not cell.startswith(("=", "+", "-", "@"))


@pytest.mark.parametrize("bad", ["a\tb", "a\nb", "a\rb", "a\x00b", "a\u2028b"])
def test_a_control_character_in_a_label_is_refused_before_anything_is_written(tmp_path, bad):
    assert "control character" in (text_problem(bad) or "")
    target = tmp_path / "train.csv"
    target.write_text("path,label\nold.wav,kept\n", encoding="utf-8")
    clips = [Clip(tmp_path / "a.wav", "fine", "g"), Clip(tmp_path / "b.wav", bad, "g")]
    with pytest.raises(BadTable, match="control character") as caught:
        write_manifest(clips, target)
    assert "b.wav" in str(caught.value)
    assert target.read_text(encoding="utf-8") == "path,label\nold.wav,kept\n"


SPREADSHEET_EXPORTS = {
    "utf-8": ("utf-8", ","),
    "utf-8 with BOM": ("utf-8-sig", ","),
    "utf-16 (BOM)": ("utf-16", ","),
    "utf-16 LE without BOM": ("utf-16-le", ","),
    "cp1252": ("cp1252", ","),
    "latin-1": ("latin-1", ","),
    "European Excel (;)": ("cp1252", ";"),
    "tab-separated": ("utf-8", "\t"),
}


@pytest.mark.parametrize("kind", list(SPREADSHEET_EXPORTS))
def test_a_csv_in_any_common_export_encoding_and_separator_is_read(tmp_path, kind, caplog):
    encoding, delimiter = SPREADSHEET_EXPORTS[kind]
    write_wav(tmp_path / "a.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "b.wav", 0.1, sample_rate_hz=RATE_HZ)
    rows = [
        ["file", "espèce", "durée"],
        ["a.wav", "mésange", "0,5"],
        ["b.wav", "pinson € rare" if encoding != "latin-1" else "pinson ± rare", "1,25"],
    ]
    text = "\r\n".join(delimiter.join(row) for row in rows) + "\r\n"
    (tmp_path / "list.csv").write_bytes(text.encode(encoding))
    with caplog.at_level(logging.WARNING):
        clips, problems = read_csv(tmp_path / "list.csv", "file", "espèce")
    assert problems == []
    assert [(c.path.name, c.label) for c in clips] == [("a.wav", rows[1][1]), ("b.wav", rows[2][1])]
    is_utf8 = encoding in ("utf-8", "utf-8-sig")
    assert ("not UTF-8" in caplog.text) is not is_utf8


def test_a_binary_file_given_as_csv_is_a_bad_table_not_a_traceback(tmp_path):
    (tmp_path / "list.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    with pytest.raises(BadTable, match="not a text CSV"):
        read_table(tmp_path / "list.csv", ["path"])


def test_a_semicolon_csv_without_the_column_lists_the_columns_it_has(tmp_path):
    (tmp_path / "list.csv").write_text("datei;art\na.wav;x\n", encoding="utf-8")
    with pytest.raises(BadTable, match="columns found: datei, art"):
        read_table(tmp_path / "list.csv", ["path"])


def test_a_tab_in_a_csv_label_leaves_that_row_out_with_its_line(tmp_path):
    write_wav(tmp_path / "a.wav", 0.1, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "b.wav", 0.1, sample_rate_hz=RATE_HZ)
    with (tmp_path / "list.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["path", "label"], ["a.wav", "wren"], ["b.wav", "ro\tbin"]])
    clips, problems = read_csv(tmp_path / "list.csv", "path", "label")
    assert [c.label for c in clips] == ["wren"]
    (problem,) = problems
    assert problem.reason.startswith("line 3: the label holds a control character")


def test_a_manifest_written_and_read_keeps_paths_starting_with_a_dash(tmp_path):
    clip = Clip(Path(tmp_path / "-x.wav"), "bird", "-x")
    (back,) = read_manifest(write_manifest([clip], tmp_path / "m.csv"))
    assert (back.path.name, back.group) == ("-x.wav", "-x")
