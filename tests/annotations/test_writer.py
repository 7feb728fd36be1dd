"""Writing tables that stay tables: no tab or line break inside a cell, no formula, round trips."""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import LABEL_COLUMNS, read_table, write_table


def documented_escaping(text: str) -> str:
    """What a label reads back as: control and line-separator characters become spaces, and
    surrounding whitespace goes (the ``'`` before formula-like text is removed on reading)."""
    kept = "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} else c for c in text)
    return kept.strip()


def test_tabs_and_line_breaks_in_labels_become_spaces_and_the_rows_stay_whole(tmp_path):
    events = [Event(1.0, 2.0, "song\ttype\nA\r1"), Event(3.0, 4.0, "b\u2028c")]
    path = write_table(events, tmp_path / "t.txt", extra_columns={"File": ["x\ty.wav", "z"]})
    lines = path.read_bytes().decode("utf-8").split("\n")
    assert [len(line.split("\t")) for line in lines[:-1]] == [10, 10, 10]
    assert lines[1].split("\t")[7:] == ["song type A 1", "", "x y.wav"]
    assert [e.label for e in read_table(path)] == ["song type A 1", "b c"]


@pytest.mark.parametrize(
    ("label", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+call", "'+call"),
        ("-call", "'-call"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("'=x", "''=x"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("call", "call"),
    ],
)
def test_formula_like_labels_get_a_quote_that_reading_removes(tmp_path, label, cell):
    path = write_table([Event(1.0, 2.0, label)], tmp_path / "t.txt")
    assert path.read_text(encoding="utf-8").splitlines()[1].split("\t")[7] == cell
    assert read_table(path)[0].label == label


times = st.integers(min_value=0, max_value=10**11).map(lambda n: n / 10**6)
bands = st.none() | st.integers(min_value=0, max_value=10**8).map(lambda n: n / 10**3)
scores = st.none() | st.floats(0, 1).map(lambda x: float(f"{x:.6g}"))
labels = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["a\tb", "=1+1", "'=", '"quoted"', "-", "+", "@", " x ", "\r\n", "ü\u2029"]
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    start_s = draw(times)
    return Event(
        start_s=start_s,
        end_s=round(start_s + draw(times), 6),
        label=draw(labels),
        score=draw(scores),
        low_hz=draw(bands),
        high_hz=draw(bands),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), max_size=8))
def test_reading_back_what_was_written_gives_the_same_events(written):
    with tempfile.TemporaryDirectory() as folder:
        again = read_table(write_table(written, Path(folder) / "t.txt"))
    expected = [
        Event(e.start_s, e.end_s, documented_escaping(e.label), e.score, e.low_hz, e.high_hz)
        for e in sorted(written, key=lambda e: (e.start_s, e.end_s))
    ]
    assert again == expected


def spelling(name: str, draw: st.DrawFn) -> str:
    """``name`` with random case and words joined by a space, dot, underscore or nothing."""
    joiner = draw(st.sampled_from([" ", ".", "_", "", "  "]))
    text = joiner.join(name.split())
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]], list[str]]:
    """A header in random order holding one label column spelled anyhow, rows, and labels."""
    label_column = spelling(draw(st.sampled_from(LABEL_COLUMNS)), draw)
    others = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Comments"]
    header = draw(st.permutations([*others, label_column]))
    names = st.text(alphabet="abcdefghij -", min_size=1, max_size=8).map(str.strip)
    found = draw(st.lists(names.filter(bool), min_size=1, max_size=5))
    values = {"Begin Time (s)": "1.5", "End Time (s)": "2.5", "View": "Spectrogram 1"}
    rows = [
        [label if column == label_column else values.get(column, str(n)) for column in header]
        for n, label in enumerate(found, 1)
    ]
    return header, rows, found


@settings(max_examples=150, deadline=None)
@given(tables())
def test_a_label_column_is_found_in_any_order_case_and_punctuation(table):
    header, rows, expected = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.txt"
        path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
        assert [e.label for e in read_table(path)] == expected
