"""Raven selection tables: read, write and match to recordings (the only home of Raven's names)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..atomic import atomic_open
from ..errors import BadTable
from .event import Event

BEGIN_COLUMN = "Begin Time (s)"
END_COLUMN = "End Time (s)"
LOW_COLUMN = "Low Freq (Hz)"
HIGH_COLUMN = "High Freq (Hz)"
ANNOTATION_COLUMN = "Annotation"
SCORE_COLUMN = "Score"
HEADER = (
    "Selection",
    "View",
    "Channel",
    BEGIN_COLUMN,
    END_COLUMN,
    LOW_COLUMN,
    HIGH_COLUMN,
    ANNOTATION_COLUMN,
    SCORE_COLUMN,
)
# Label columns tried in order when none is named: Raven's usual one, then ANIMAL-SPOT's.
_LABEL_COLUMNS = ("annotation", "sound type")
_FIX_COLUMNS = (
    f"a Raven table is tab-separated with the columns {BEGIN_COLUMN!r} and {END_COLUMN!r}"
)


def _key(column: str) -> str:
    return " ".join(column.strip().casefold().split())


def _read_lines(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadTable("selection table not found", path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # Raven on Windows writes the ANSI code page
        text = data.decode("latin-1")
    return text.splitlines()


def _float(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadTable(
            f"line {line}: {column} = {text!r} is not a number",
            path=path,
            fix=f"give a number in {column!r}",
        )
    return value


def _optional(text: str, path: Path, line: int, column: str) -> float | None:
    return _float(text, path, line, column) if text else None


def _cell(cells: list[str], index: int) -> str:
    return cells[index].strip() if 0 <= index < len(cells) else ""


def _label_index(columns: dict[str, int], header: list[str], path: Path, name: str | None) -> int:
    if name is None:
        return next((columns[key] for key in _LABEL_COLUMNS if key in columns), -1)
    if _key(name) in columns:
        return columns[_key(name)]
    close = difflib.get_close_matches(name, header, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise BadTable(
        f"no annotation column {name!r}{hint}; columns found: {', '.join(header)}",
        path=path,
        fix="pass the name of the column that holds the class labels",
    )


def read_table(path: str | Path, annotation_column: str | None = None) -> list[Event]:
    """Events of a tab-separated Raven selection table, in file order.

    Header names match case-insensitively. Labels come from ``annotation_column``; when it is
    None, from ``Annotation`` or else ANIMAL-SPOT's ``Sound type``, or are empty where the table
    has neither. A table holding both a spectrogram and a waveform view of each selection gives
    one event per ``Selection``.

    Raises:
        BadTable: a required column is missing, a time is not a number, or an event ends before
            it begins; the message names the file and line.
    """
    path = Path(path)
    lines = [(number, line) for number, line in enumerate(_read_lines(path), 1) if line.strip()]
    if not lines:
        raise BadTable("the selection table is empty", path=path, fix=_FIX_COLUMNS)
    header = [cell.strip() for cell in lines[0][1].split("\t")]
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        columns.setdefault(_key(cell), index)
    missing = [c for c in (BEGIN_COLUMN, END_COLUMN) if _key(c) not in columns]
    if missing:
        raise BadTable(
            f"line {lines[0][0]}: no column {', '.join(map(repr, missing))}; "
            f"columns found: {', '.join(header)}",
            path=path,
            fix=_FIX_COLUMNS,
        )
    label_at = _label_index(columns, header, path, annotation_column)
    at = {
        name: columns.get(_key(name), -1)
        for name in (BEGIN_COLUMN, END_COLUMN, LOW_COLUMN, HIGH_COLUMN, SCORE_COLUMN, "Selection")
    }
    view_at = columns.get("view", -1)
    rows: list[tuple[str, bool, Event]] = []  # (selection, is_waveform, event)
    for number, line in lines[1:]:
        cells = line.split("\t")
        begin_s = _float(_cell(cells, at[BEGIN_COLUMN]), path, number, BEGIN_COLUMN)
        end_s = _float(_cell(cells, at[END_COLUMN]), path, number, END_COLUMN)
        if end_s < begin_s:
            raise BadTable(
                f"line {number}: ends at {end_s} s, before it begins at {begin_s} s",
                path=path,
                fix=f"swap or correct {BEGIN_COLUMN!r} and {END_COLUMN!r}",
            )
        event = Event(
            start_s=begin_s,
            end_s=end_s,
            label=_cell(cells, label_at),
            score=_optional(_cell(cells, at[SCORE_COLUMN]), path, number, SCORE_COLUMN),
            low_hz=_optional(_cell(cells, at[LOW_COLUMN]), path, number, LOW_COLUMN),
            high_hz=_optional(_cell(cells, at[HIGH_COLUMN]), path, number, HIGH_COLUMN),
        )
        is_waveform = _cell(cells, view_at).casefold().startswith("waveform")
        rows.append((_cell(cells, at["Selection"]), is_waveform, event))
    # Raven repeats each selection once per view; keep the spectrogram row where both exist.
    with_other_view = {selection for selection, is_waveform, _ in rows if not is_waveform}
    return [
        event
        for selection, is_waveform, event in rows
        if not (is_waveform and selection and selection in with_other_view)
    ]


def _decimal(value: float | None, digits: int) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _text(value: object) -> str:
    text = "" if value is None else str(value)
    if any(char in text for char in "\t\r\n"):
        raise ValueError(f"a Raven table cell cannot hold a tab or a line break: {text!r}")
    return text


def write_table(
    events: Sequence[Event],
    path: str | Path,
    *,
    extra_columns: Mapping[str, Sequence[object]] | None = None,
    is_sorted: bool = True,
) -> Path:
    """Write events as a Raven selection table, sorted by start time, atomically.

    Times keep 6 decimals, frequencies 3; a missing score or band is left empty.

    Args:
        events: The events, in any order.
        path: The table to write (folders are created).
        extra_columns: More columns after ``Score``, one value per event in the order given.
        is_sorted: False keeps the given order (a combined table ordered by file, then time).
    """
    path = Path(path)
    extra = dict(extra_columns or {})
    for name, values in extra.items():
        if len(values) != len(events):
            raise ValueError(
                f"extra column {name!r} has {len(values)} values for {len(events)} events"
            )
    order = list(range(len(events)))
    if is_sorted:
        order.sort(key=lambda i: (events[i].start_s, events[i].end_s))
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write("\t".join(map(_text, (*HEADER, *extra))) + "\n")
        for selection, index in enumerate(order, 1):
            event = events[index]
            cells = [
                str(selection),
                "Spectrogram 1",
                "1",
                f"{event.start_s:.6f}",
                f"{event.end_s:.6f}",
                _decimal(event.low_hz, 3),
                _decimal(event.high_hz, 3),
                _text(event.label),
                "" if event.score is None else f"{event.score:.6g}",
                *(_text(values[index]) for values in extra.values()),
            ]
            handle.write("\t".join(cells) + "\n")
    return path


def table_files(table_dir: str | Path) -> list[Path]:
    """Every ``*.txt`` under ``table_dir`` (recursive, hidden files left out), sorted."""
    root = Path(table_dir)
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.casefold() == ".txt"
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def match_table(recording: str | Path, tables: Iterable[Path]) -> Path | None:
    """The table among ``tables`` named after ``recording``, or None.

    Raven names a table ``<stem>.Table.1.selections.txt``; failing that, any ``.txt`` whose
    name starts with the recording's stem and a dot matches. Names compare case-insensitively.

    Raises:
        BadTable: several tables match the recording.
    """
    stem = Path(recording).stem.casefold()
    raven_name = re.compile(re.escape(stem) + r"\.table\.\d+\.selections\.txt")
    tables = list(tables)
    candidates = [t for t in tables if raven_name.fullmatch(t.name.casefold())]
    if not candidates:
        candidates = [t for t in tables if t.name.casefold().startswith(stem + ".")]
    if len(candidates) > 1:
        raise BadTable(
            f"{len(candidates)} tables match the recording {Path(recording).name}: "
            + ", ".join(t.name for t in candidates),
            path=candidates[0].parent,
            fix="keep one selection table per recording, or merge them into one",
        )
    return candidates[0] if candidates else None


def pair_tables(
    recordings: Iterable[Path], tables: Sequence[Path]
) -> tuple[dict[Path, Path], list[tuple[Path, str]]]:
    """Each recording's table (`match_table`), and every file left unpaired with the reason.

    A recording without a table, a table without a recording, and a recording or table that
    matches several others are left unpaired.
    """
    unpaired: list[tuple[Path, str]] = []
    recordings_of: dict[Path, list[Path]] = {table: [] for table in tables}
    for recording in recordings:
        try:
            table = match_table(recording, tables)
        except BadTable as err:
            unpaired.append((recording, str(err).removeprefix(f"{err.path}: ")))
            continue
        if table is None:
            unpaired.append((recording, "no selection table of this name"))
        else:
            recordings_of[table].append(recording)
    pairs = {}
    for table, found in recordings_of.items():
        if len(found) == 1:
            pairs[found[0]] = table
        elif not found:
            unpaired.append((table, "no recording of this name"))
        else:
            names = ", ".join(str(r) for r in found)
            unpaired.append((table, f"matches {len(found)} recordings ({names})"))
    return dict(sorted(pairs.items())), unpaired


def find_table_for(recording: str | Path, table_dir: str | Path) -> Path | None:
    """The selection table in ``table_dir`` that belongs to ``recording`` (see `match_table`)."""
    return match_table(recording, table_files(table_dir))
