"""Output names, text cells and temp files of prediction: unique, safe, and left to their owner."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from animal_spot.atomic import atomic_open, is_stale_temp
from animal_spot.cells import FORMULA_STARTS, read_cell, safe_cell
from animal_spot.prediction.outputs import (
    COMBINED_TABLE,
    KINDS,
    clear_stale_temp_files,
    output_bases,
    output_paths,
)

# Names a recorder, a user or a Latin-1 file system can produce, surrogate escapes included.
NAME_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from(["\udce9", "\t", "\n", "="]),
    max_size=12,
)


@given(NAME_TEXT)
def test_a_safe_cell_is_one_utf8_cell_that_no_spreadsheet_runs(text):
    cell = safe_cell(text)
    cell.encode("utf-8")  # raises on a surrogate
    assert not any(char in cell for char in "\t\r\n")
    assert not cell.startswith(FORMULA_STARTS) or float(cell) == float(cell)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([cell, "x"])
    assert buffer.getvalue().count("\n") == 1  # one line, whatever the name held
    assert list(csv.reader(io.StringIO(buffer.getvalue()))) == [[cell, "x"]]


@given(
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)
    | st.sampled_from(["'=x", "''-y", "'-2", "-2", "@", "'"])
)
def test_a_cell_of_plain_text_reads_back_as_the_text(text):
    assert read_cell(safe_cell(text)) == text


def test_formula_starts_get_a_quote_and_numbers_written_elsewhere_stay_numbers():
    assert [safe_cell(t) for t in ("=1+1", "+x", "-x", "@x", "x=1", "-2.5", "+1e3")] == [
        "'=1+1", "'+x", "'-x", "'@x", "x=1", "-2.5", "+1e3",
    ]  # fmt: skip
    assert safe_cell("caf\udce9.wav") == "caf\\xe9.wav"
    assert safe_cell("a\tb\nc\r") == "a\\tb\\nc\\r"
    assert safe_cell("nul\x00 sep\u2028") == "nul\\x00 sep\\u2028"


def test_recordings_sharing_a_stem_keep_their_suffix_and_others_do_not():
    names = ["rec.wav", "rec.flac", "Night.WAV", "night.wav", "day/rec.wav", "solo.wav"]
    bases = output_bases(names)
    assert bases["rec.wav"] == "rec.wav"
    assert bases["rec.flac"] == "rec.flac"
    assert bases["day/rec.wav"] == "day/rec"  # another folder: no clash
    assert bases["solo.wav"] == "solo"
    # equal but for case: one file on a case-insensitive disk, so the second gets a number
    assert (bases["Night.WAV"], bases["night.wav"]) == ("Night.WAV", "night.wav~2")


def test_output_names_never_clash_however_the_names_fall():
    names = ["all.wav", "x.wav", "x.wav.flac", "X.WAV", "caf\udce9.wav", "caf\\xe9.wav"]
    bases = output_bases(names)
    assert len({b.casefold() for b in bases.values()}) == len(names)
    assert bases == output_bases(list(reversed(names)))  # stable: order does not matter
    files = [p.name for b in bases.values() for p in output_paths(Path(), b, True).values()]
    assert COMBINED_TABLE not in files
    assert len(set(files)) == len(names) * len(KINDS)


@given(st.lists(NAME_TEXT.map(lambda t: t.replace("/", "") + ".wav"), max_size=8, unique=True))
def test_any_set_of_names_gets_distinct_bases(names):
    bases = output_bases(names)
    assert len({b.casefold() for b in bases.values()}) == len(names)
    assert all(b.casefold() != "all" for b in bases.values())


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_files_get_the_mode_a_plain_open_gives(tmp_path, umask):
    before = os.umask(umask)
    try:
        with atomic_open(tmp_path / "atomic.txt") as handle:
            handle.write("x")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(before)
    mode = (tmp_path / "atomic.txt").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_only_temp_files_of_ended_processes_are_cleared(tmp_path):
    outputs = output_paths(tmp_path, "rec", latent=False)
    table = outputs["selections"]
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f".{table.name}.{int(ended.stdout)}.ab12.tmp"
    alive = tmp_path / f".{table.name}.{os.getppid()}.cd34.tmp"  # the process that runs pytest
    old_style = tmp_path / f".{table.name}.k3j_x9q.tmp"  # mkstemp's names carry no pid
    for path in (dead, alive, old_style):
        path.write_text("partial")
    clear_stale_temp_files(outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]
    assert not is_stale_temp(tmp_path / "rec.scores.csv", table)
