"""Read selection tables of Raven Pro, BirdNET-Analyzer, R packages and ANIMAL-SPOT.

A table is tab-separated text, one header line and one selection per line. The text may be
UTF-8 (with or without a byte-order mark), UTF-16 (with a BOM, or without one, found by its
NUL bytes) or, failing those, latin-1 (Raven on Windows writes the ANSI code page).
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..cells import read_cell
from ..errors import BadTable
from . import columns as col
from .event import Event

_FIX_COLUMNS = (
    f"a Raven table is tab-separated with the columns {col.BEGIN_COLUMN!r} and {col.END_COLUMN!r}"
)
_FIX_TABS = "export the table tab-separated (Raven: File > Save Selection Table)"
_FIX_COMMA = "decimal commas: export with a dot as decimal separator (or set your locale)"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # only these: a label may hold other separators
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_OTHER_SEPARATORS = (";", ",")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class Selection:
    """One selection: its event, its line in the table and, in a multi-file table, its file.

    In a multi-file table the event's times are within ``file`` (a file name, no folders).
    """

    event: Event
    line: int
    file: str | None = None


@dataclass(frozen=True, slots=True)
class SelectionTable:
    """The selections of one table, the label column used, and whether it names files."""

    path: Path
    selections: list[Selection]
    label_column: str | None
    is_multi_file: bool


def unescape_cell(text: str) -> str:
    """A cell's text without the ``'`` the writer puts before formula-like text."""
    return read_cell(text)


def _encoding(data: bytes) -> tuple[str, int]:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    # UTF-16 without a BOM: text in the Latin range has a NUL in every other byte.
    sample = data[:4096]
    n_pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if n_pairs and odd >= 0.4 * n_pairs and even <= 0.1 * odd:
        return "utf-16-le", 0
    if n_pairs and even >= 0.4 * n_pairs and odd <= 0.1 * even:
        return "utf-16-be", 0
    return "utf-8", 0


def decode_table(data: bytes, path: Path) -> str:
    """The text of a table's bytes (see the module docstring for the encodings)."""
    codec, skip = _encoding(data)
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError:
        if codec != "utf-8":
            raise BadTable(
                f"the table starts as {codec.upper()} text but is not valid {codec.upper()}",
                path=path,
                fix="save the table again as UTF-8 or UTF-16 text",
            ) from None
        return data[skip:].decode("latin-1")


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadTable("selection table not found", path=path) from None
    except IsADirectoryError:
        raise BadTable("a folder, not a selection table", path=path) from None
    numbered = enumerate(_LINE_BREAK.split(decode_table(data, path)), 1)
    return [(number, line) for number, line in numbered if line.strip()]


def _header(lines: list[tuple[int, str]], path: Path) -> col.Header:
    if not lines:
        raise BadTable("the selection table is empty", path=path, fix=_FIX_COLUMNS)
    number, line = lines[0]
    header = col.Header([unescape_cell(cell.strip()) for cell in line.split("\t")])
    missing = [c for c in (col.BEGIN_COLUMN, col.END_COLUMN) if header.find(c) < 0]
    if not missing:
        return header
    for separator in _OTHER_SEPARATORS:
        other = col.Header([cell.strip() for cell in line.split(separator)])
        if all(other.find(c) >= 0 for c in missing) or (len(header) == 1 and separator in line):
            raise BadTable(
                f"line {number}: the columns are separated by {separator!r}, not by tabs",
                path=path,
                fix=_FIX_TABS,
            )
    raise BadTable(
        f"line {number}: no column {', '.join(map(repr, missing))}; "
        f"columns found: {', '.join(header.cells)}",
        path=path,
        fix=_FIX_COLUMNS,
    )


def _misplaced_separator(cells: Sequence[str]) -> str | None:
    return next((s for s in _OTHER_SEPARATORS if any(s in cell for cell in cells)), None)


def _row(number: int, line: str, header: col.Header, required: list[int], path: Path) -> list[str]:
    """The cells of one line, checked against the header's cell count."""
    cells = [unescape_cell(cell.strip()) for cell in line.split("\t")]
    while len(cells) > len(header) and not cells[-1]:
        cells.pop()  # trailing tabs add no data
    counts = f"line {number} has {len(cells)} cells, the header {len(header)}"
    if len(cells) > len(header):
        separator = _misplaced_separator(header.cells)
        why = f" (the header has {separator!r} where a tab belongs)" if separator else ""
        raise BadTable(f"{counts}{why}", path=path, fix=_FIX_TABS)
    if len(cells) < len(header):
        separator = _misplaced_separator(cells[:-1])
        missing = [header.cells[i] for i in required if i >= len(cells)]
        if separator or missing:
            why = f"{separator!r} where a tab belongs" if separator else "no " + ", ".join(missing)
            raise BadTable(f"{counts} ({why})", path=path, fix=_FIX_TABS)
    return cells


def _cell(cells: Sequence[str], index: int) -> str:
    return cells[index] if 0 <= index < len(cells) else ""


def _float(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        fix = _FIX_COMMA if _DECIMAL_COMMA.fullmatch(text) else f"give a number in {column!r}"
        raise BadTable(f"line {line}: {column} = {text!r} is not a number", path=path, fix=fix)
    return value


def _optional(text: str, path: Path, line: int, column: str) -> float | None:
    return _float(text, path, line, column) if text else None


def _times(cells: list[str], at: dict[str, int], path: Path, line: int) -> tuple[float, float]:
    """Begin and end of a selection, checked: on its file's timeline in a multi-file table."""
    begin_s = _float(_cell(cells, at["begin"]), path, line, col.BEGIN_COLUMN)
    end_s = _float(_cell(cells, at["end"]), path, line, col.END_COLUMN)
    if begin_s < 0:
        raise BadTable(
            f"line {line}: begins at {begin_s} s, before the recording starts",
            path=path,
            fix=f"correct {col.BEGIN_COLUMN!r}: times count from the start of the recording",
        )
    if end_s < begin_s:
        raise BadTable(
            f"line {line}: ends at {end_s} s, before it begins at {begin_s} s",
            path=path,
            fix=f"swap or correct {col.BEGIN_COLUMN!r} and {col.END_COLUMN!r}",
        )
    if at["offset"] < 0:
        return begin_s, end_s
    offset_s = _float(_cell(cells, at["offset"]), path, line, col.FILE_OFFSET_COLUMN)
    if offset_s < 0:
        raise BadTable(
            f"line {line}: {col.FILE_OFFSET_COLUMN} = {offset_s} s is negative",
            path=path,
            fix=f"correct {col.FILE_OFFSET_COLUMN!r}: the start within the sound file",
        )
    return offset_s, round(offset_s + (end_s - begin_s), 9)


def _file(cells: list[str], at: dict[str, int], path: Path, line: int) -> str | None:
    """The sound file a selection of a multi-file table lies in, as a bare file name."""
    if at["offset"] < 0:
        return None
    text = _cell(cells, at["file"]) or _cell(cells, at["path"])
    name = re.split(r"[\\/]", text)[-1].strip()  # Windows or POSIX folders
    if not name:
        raise BadTable(
            f"line {line}: no sound file in {col.BEGIN_FILE_COLUMN!r} or {col.BEGIN_PATH_COLUMN!r}",
            path=path,
            fix="name the sound file of every selection of a multi-file table",
        )
    return name


def _positions(header: col.Header) -> dict[str, int]:
    at = {
        "begin": header.find(col.BEGIN_COLUMN),
        "end": header.find(col.END_COLUMN),
        "low": header.find(col.LOW_COLUMN),
        "high": header.find(col.HIGH_COLUMN),
        "score": header.find(*col.SCORE_COLUMNS),
        "selection": header.find(col.SELECTION_COLUMN),
        "view": header.find(col.VIEW_COLUMN),
        "file": header.find(col.BEGIN_FILE_COLUMN),
        "path": header.find(col.BEGIN_PATH_COLUMN),
        "offset": header.find(col.FILE_OFFSET_COLUMN),
    }
    if at["file"] < 0 and at["path"] < 0:
        at["offset"] = -1  # an offset alone does not say which file it is in
    return at


def _one_per_selection(rows: list[tuple[str, bool, Selection]]) -> list[Selection]:
    # Raven repeats each selection once per view; keep the spectrogram row where both exist.
    with_other_view = {number for number, is_waveform, _ in rows if not is_waveform}
    return [
        selection
        for number, is_waveform, selection in rows
        if not (is_waveform and number and number in with_other_view)
    ]


def read_selections(path: str | Path, annotation_column: str | None = None) -> SelectionTable:
    """The selections of a table, in file order (see `read_table` for the rules).

    Raises:
        BadTable: see `read_table`.
    """
    path = Path(path)
    lines = _lines(path)
    header = _header(lines, path)
    at = _positions(header)
    required = [at["begin"], at["end"]] + ([at["offset"]] if at["offset"] >= 0 else [])
    rows = [(n, _row(n, line, header, required, path)) for n, line in lines[1:]]
    label_at = col.label_column(header, [cells for _, cells in rows], path, annotation_column)
    if label_at in required:
        raise BadTable(
            f"the annotation column {header.cells[label_at]!r} holds times, not labels",
            path=path,
            fix="pass the name of the column that holds the class labels",
        )
    score_name = header.cells[at["score"]] if at["score"] >= 0 else col.SCORE_COLUMN
    found: list[tuple[str, bool, Selection]] = []
    for number, cells in rows:
        start_s, end_s = _times(cells, at, path, number)
        event = Event(
            start_s=start_s,
            end_s=end_s,
            label=_cell(cells, label_at),
            score=_optional(_cell(cells, at["score"]), path, number, score_name),
            low_hz=_optional(_cell(cells, at["low"]), path, number, col.LOW_COLUMN),
            high_hz=_optional(_cell(cells, at["high"]), path, number, col.HIGH_COLUMN),
        )
        is_waveform = _cell(cells, at["view"]).casefold().startswith("waveform")
        selection = Selection(event, number, _file(cells, at, path, number))
        found.append((_cell(cells, at["selection"]), is_waveform, selection))
    selections = _one_per_selection(found)
    col.warn_if_unlabelled(header, [s.event.label for s in selections], path, label_at)
    label = header.cells[label_at] if label_at >= 0 else None
    return SelectionTable(path, selections, label, at["offset"] >= 0)


def files_of_recording(files: set[str], recording: str | Path) -> set[str]:
    """Those of ``files`` (names) that are ``recording``: the same name, else the same stem."""
    name = Path(recording).name.casefold()
    same = {f for f in files if f.casefold() == name}
    stem = Path(recording).stem.casefold()
    return same or {f for f in files if Path(f).stem.casefold() == stem}


def read_table(
    path: str | Path, annotation_column: str | None = None, *, recording: str | Path | None = None
) -> list[Event]:
    """Events of a tab-separated selection table, in file order.

    Header names match case- and punctuation-insensitively (`columns.column_key`). Labels come
    from ``annotation_column``; when it is None, from the preferred label column present
    (`columns.LABEL_COLUMNS`), or are empty where the table has none. Scores come from
    ``Score``, ``Confidence`` or ``Probability``. A table holding both a spectrogram and a
    waveform view of each selection gives one event per ``Selection``.

    A multi-file table (``Begin File`` or ``Begin Path``, and ``File Offset (s)``) gives each
    selection on its own file's timeline: from the offset to offset + (end − begin). Give
    ``recording`` to read the selections of that sound file only (`files_of_recording`).

    Raises:
        BadTable: a required column is missing, the header is not tab-separated, a line has
            more cells than the header (or lacks a time), a time is not a number or negative,
            an event ends before it begins, or a multi-file table names several files and no
            ``recording`` is given; the message names the file and line.
    """
    table = read_selections(path, annotation_column)
    if not table.is_multi_file:
        return [s.event for s in table.selections]
    files = {s.file for s in table.selections if s.file}
    if recording is not None:
        files = files_of_recording(files, recording)
    elif len(files) > 1:
        raise BadTable(
            f"the table holds selections of {len(files)} sound files: "
            + ", ".join(sorted(files)[:5]),
            path=table.path,
            fix="read it for one recording (recording=...) or split it by sound file",
        )
    return [s.event for s in table.selections if s.file in files]


def named_files(path: Path) -> set[str] | None:
    """The sound files a multi-file table names, or None for a one-recording table.

    A quick look for pairing tables with recordings: only the header and the file column.

    Raises:
        BadTable: the file cannot be read or its header lacks the time columns.
    """
    lines = _lines(path)
    at = _positions(_header(lines, path))
    if at["offset"] < 0:
        return None
    files: set[str] = set()
    for number, line in lines[1:]:
        try:
            name = _file([cell.strip() for cell in line.split("\t")], at, path, number)
        except BadTable:
            continue  # reported when the table is read
        if name:
            files.add(name)
    return files
