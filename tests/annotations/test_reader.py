"""Reading tables of Raven Pro, BirdNET-Analyzer, R and spreadsheets: labels, files, text."""

from __future__ import annotations

import logging

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_selections, read_table
from animal_spot.errors import BadTable
from tests.annotations.tables import BIRDNET, RAVEN, RAVEN_MULTI_FILE, write_lines

WARNING_LOG = "animal_spot.annotations.columns"


@pytest.mark.parametrize(
    "column",
    [
        "Species", "Common Name", "Scientific Name", "class", "Class", "signal", "Call Type",
        "Call type", "Label", "label", "Species Code", "Tags", "Sound.type", "Call.Type",
        "Common.Name", "call_type", "SOUND TYPE",
    ],
)  # fmt: skip
def test_labels_are_read_from_any_known_label_column_and_the_choice_is_logged(
    tmp_path, caplog, column
):
    path = write_lines(
        tmp_path / "t.txt",
        [
            f"Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\t{column}",
            "1\tSpectrogram 1\t1\t1.5\t2.25\tupcall",
            "2\tSpectrogram 1\t1\t3.0\t3.5\tgunshot",
        ],
    )
    with caplog.at_level(logging.INFO, logger=WARNING_LOG):
        events = read_table(path)
    assert [e.label for e in events] == ["upcall", "gunshot"]
    chosen = [r.getMessage() for r in caplog.records if column in r.getMessage()]
    assert len(chosen) == 1


def test_r_dotted_time_columns_and_sound_type_are_read(tmp_path):
    path = write_lines(
        tmp_path / "r_export.txt",
        [
            "Selection\tView\tChannel\tBegin.Time..s.\tEnd.Time..s.\tLow.Freq..Hz.\tHigh.Freq..Hz."
            "\tSound.type",
            "1\tSpectrogram 1\t1\t10.25\t11\t300\t900\tN04",
        ],
    )
    assert read_table(path) == [Event(10.25, 11.0, "N04", low_hz=300.0, high_hz=900.0)]


def test_several_filled_label_columns_warn_with_the_candidates_and_the_hint(tmp_path, caplog):
    path = write_lines(
        tmp_path / "REC.BirdNET.selection.table.txt",
        [
            BIRDNET,
            "1\tSpectrogram 1\t1\t/data/REC.wav\t0\t3.0\t150\t15000\tamerob\tAmerican Robin"
            "\t0.8123\t0",
        ],
    )
    with caplog.at_level(logging.WARNING, logger=WARNING_LOG):
        events = read_table(path)
    assert [e.label for e in events] == ["American Robin"]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "'Common Name'" in text and "'Species Code'" in text
    assert "labels from 'Common Name'" in text
    assert "--annotation_column NAME" in text


def test_an_empty_annotation_column_gives_way_to_a_filled_species_column(tmp_path):
    path = write_lines(
        tmp_path / "t.txt",
        [f"{RAVEN}\tSpecies", "1\tSpectrogram 1\t1\t1\t2\t100\t200\t\tEubalaena glacialis"],
    )
    assert read_table(path)[0].label == "Eubalaena glacialis"


def test_a_table_whose_labels_are_all_empty_warns_once_with_the_hint(tmp_path, caplog):
    path = write_lines(
        tmp_path / "t.txt",
        [RAVEN, "1\tSpectrogram 1\t1\t1\t2\t100\t200\t", "2\tSpectrogram 1\t1\t3\t4\t100\t200\t"],
    )
    with caplog.at_level(logging.WARNING, logger=WARNING_LOG):
        assert [e.label for e in read_table(path)] == ["", ""]
    (warning,) = caplog.records
    assert "t.txt" in warning.getMessage()
    assert "--annotation_column NAME" in warning.getMessage()


def test_an_explicit_label_column_beats_the_preference_and_a_missing_one_lists_the_columns(
    tmp_path,
):
    path = write_lines(
        tmp_path / "t.txt",
        [f"{RAVEN}\tCall Type", "1\tSpectrogram 1\t1\t1\t2\t100\t200\tNARW\tupcall"],
    )
    assert read_table(path)[0].label == "NARW"
    assert read_table(path, annotation_column="call.type")[0].label == "upcall"
    with pytest.raises(BadTable, match=r"no annotation column 'Call Types'.*Call Type"):
        read_table(path, annotation_column="Call Types")


@pytest.mark.parametrize("column", ["Confidence", "probability", "Probability", "Score", "score"])
def test_scores_come_from_confidence_probability_or_score(tmp_path, column):
    path = write_lines(
        tmp_path / "t.txt",
        [f"Begin Time (s)\tEnd Time (s)\tLabel\t{column}", "0.5\t3.5\tcall\t0.8125"],
    )
    assert read_table(path)[0].score == 0.8125


def test_a_raven_multi_file_table_gives_each_selection_on_its_own_files_timeline(tmp_path):
    path = write_lines(
        tmp_path / "all.Table.1.selections.txt",
        [
            RAVEN_MULTI_FILE,
            "1\tSpectrogram 1\t1\t55.5\t57.0\t80\t300\tD:\\narw\\a.wav\t55.5\ta.wav\tupcall",
            "2\tSpectrogram 1\t1\t905.25\t906.0\t90\t280\tD:\\narw\\b.wav\t5.25\tb.wav\tgunshot",
            "3\tSpectrogram 1\t1\t1810.0\t1811.5\t90\t280\tD:\\narw\\c.wav\t10.0\t\tupcall",
        ],
    )
    table = read_selections(path)
    assert table.is_multi_file
    assert [(s.file, s.event.start_s, s.event.end_s, s.event.label) for s in table.selections] == [
        ("a.wav", 55.5, 57.0, "upcall"),
        ("b.wav", 5.25, 6.0, "gunshot"),
        ("c.wav", 10.0, 11.5, "upcall"),  # no Begin File: the name in Begin Path
    ]
    assert read_table(path, recording="b.flac") == [
        Event(5.25, 6.0, "gunshot", low_hz=90.0, high_hz=280.0)
    ]
    with pytest.raises(BadTable, match="selections of 3 sound files"):
        read_table(path)


def test_a_birdnet_table_of_one_file_reads_without_naming_the_recording(tmp_path):
    path = write_lines(
        tmp_path / "REC.BirdNET.selection.table.txt",
        [
            BIRDNET,
            "1\tSpectrogram 1\t1\t/data/REC.wav\t0\t3.0\t150\t15000\tamerob\tAmerican Robin"
            "\t0.8123\t0",
            "2\tSpectrogram 1\t1\t/data/REC.wav\t6.0\t9.0\t150\t15000\tnorcar\tNorthern Cardinal"
            "\t0.4467\t6.0",
        ],
    )
    events = read_table(path)
    assert [(e.start_s, e.end_s, e.label, e.score) for e in events] == [
        (0.0, 3.0, "American Robin", 0.8123),
        (6.0, 9.0, "Northern Cardinal", 0.4467),
    ]


EVENTS = [Event(1.5, 2.25, "Ringelgans", low_hz=500.0, high_hz=4000.0)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "latin-1"])
def test_tables_in_utf16_with_or_without_bom_utf8_bom_and_latin1_read_the_same(tmp_path, encoding):
    lines = [RAVEN, "1\tSpectrogram 1\t1\t1.5\t2.25\t500\t4000\tRingelgans"]
    assert read_table(write_lines(tmp_path / "t.txt", lines, encoding=encoding)) == EVENTS
    accented = [RAVEN, "1\tSpectrogram 1\t1\t1.5\t2.25\t500\t4000\tMésange"]
    path = write_lines(tmp_path / "accented.txt", accented, encoding=encoding, newline="\r\n")
    assert read_table(path)[0].label == "Mésange"


def test_a_decimal_comma_says_how_to_export_the_table(tmp_path):
    path = write_lines(
        tmp_path / "t.txt", [RAVEN, "1\tSpectrogram 1\t1\t12,5\t13,25\t500\t4000\tx"]
    )
    with pytest.raises(BadTable, match=r"line 2: Begin Time \(s\) = '12,5'") as caught:
        read_table(path)
    assert "decimal commas: export with a dot as decimal separator (or set your locale)" in str(
        caught.value
    )


@pytest.mark.parametrize("separator", [";", ","])
def test_a_header_separated_by_semicolons_or_commas_names_the_separator(tmp_path, separator):
    header = RAVEN.replace("\t", separator)
    path = write_lines(tmp_path / "t.txt", [header, "1;Spectrogram 1;1;1.0;2.0;100;200;x"])
    with pytest.raises(BadTable, match=f"line 1: the columns are separated by '{separator}'"):
        read_table(path)


def test_one_semicolon_in_the_header_shifts_no_column_it_is_an_error_naming_the_line(tmp_path):
    header = RAVEN.replace("Selection\tView", "Selection;View")
    path = write_lines(tmp_path / "t.txt", [header, "1\tSpectrogram 1\t1\t1.0\t2.0\t100\t3000\tx"])
    with pytest.raises(BadTable, match=r"line 2 has 8 cells, the header 7 \(the header has ';'"):
        read_table(path)


def test_rows_may_lack_trailing_cells_but_not_a_time_nor_have_more_cells(tmp_path):
    short = write_lines(tmp_path / "short.txt", [RAVEN, "1\tSpectrogram 1\t1\t1.0\t2.0"])
    assert read_table(short) == [Event(1.0, 2.0, "")]
    trailing_tabs = write_lines(tmp_path / "tabs.txt", [RAVEN, "1\tS\t1\t1\t2\t3\t4\tx\t\t"])
    assert read_table(trailing_tabs)[0].label == "x"
    no_end = write_lines(
        tmp_path / "no_end.txt", ["Selection\tBegin Time (s)\tEnd Time (s)", "1\t1"]
    )
    with pytest.raises(BadTable, match=r"line 2 has 2 cells, the header 3 \(no End Time"):
        read_table(no_end)
    more = write_lines(tmp_path / "more.txt", [RAVEN, "1\tS\t1\t1\t2\t3\t4\tx\ty"])
    with pytest.raises(BadTable, match="line 2 has 9 cells, the header 8"):
        read_table(more)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("1\tSpectrogram 1\t1\t-0.5\t2.0\t100\t200\tx", r"line 3: begins at -0.5 s"),
        ("1\tSpectrogram 1\t1\t4.0\t3.0\t100\t200\tx", r"line 3: ends at 3.0 s"),
    ],
)
def test_negative_or_reversed_selection_times_name_the_line(tmp_path, row, expected):
    path = write_lines(tmp_path / "t.txt", [RAVEN, "1\tSpectrogram 1\t1\t1\t2\t100\t200\tx", row])
    with pytest.raises(BadTable, match=expected) as caught:
        read_table(path)
    assert "t.txt" in str(caught.value)


def test_a_negative_file_offset_names_the_line(tmp_path):
    row = "1\tSpectrogram 1\t1\t5\t6\t80\t300\ta.wav\t-1.0\ta.wav\tupcall"
    path = write_lines(tmp_path / "t.txt", [RAVEN_MULTI_FILE, row])
    with pytest.raises(BadTable, match=r"line 2: File Offset \(s\) = -1.0 s is negative"):
        read_table(path)
