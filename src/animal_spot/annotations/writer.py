"""Write Raven selection tables that Raven, spreadsheets and `read_table` all read safely.

Cells come from users (labels, file names), so each one is made safe (`cell_text`): a tab or
line break would split a cell or a row, and text a spreadsheet runs as a formula
(``=HYPERLINK(...)``) must stay text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..atomic import atomic_open
from ..cells import safe_cell
from .columns import HEADER
from .event import Event

# Control characters (tab, CR, LF, NUL ...) and Unicode line and paragraph separators.
_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def cell_text(value: object) -> str:
    """The text a table holds for ``value``, as the reader gives it back.

    Tabs, line breaks and other control characters become spaces, surrounding whitespace is
    dropped (the reader strips cells), and text starting with ``=``, ``+``, ``-`` or ``@``
    (possibly after ``'``) that is not a number gets a leading ``'``, which the reader removes.
    """
    text = "" if value is None else str(value)
    text = "".join(
        " " if unicodedata.category(char) in _BREAKING_CATEGORIES else char for char in text
    ).strip()
    return safe_cell(text)  # nothing left to escape but bytes and the formula guard


def _decimal(value: float | None, digits: int) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_table(
    events: Sequence[Event],
    path: str | Path,
    *,
    extra_columns: Mapping[str, Sequence[object]] | None = None,
    is_sorted: bool = True,
) -> Path:
    """Write events as a Raven selection table, sorted by start time, atomically.

    Times keep 6 decimals, frequencies 3; a missing score or band is left empty. Labels and
    extra cells pass through `cell_text`, so reading the table back gives the same events.

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
        handle.write("\t".join(map(cell_text, (*HEADER, *extra))) + "\n")
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
                cell_text(event.label),
                "" if event.score is None else f"{event.score:.6g}",
                *(cell_text(values[index]) for values in extra.values()),
            ]
            handle.write("\t".join(cells) + "\n")
    return path
