"""Column names of selection tables, and which column of a table holds labels and scores.

Names match case- and punctuation-insensitively (`column_key`): ``Call.Type`` (R),
``Call_Type`` and ``call type`` are one column, and so are ``Begin Time (s)`` and
``Begin.Time..s.``.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from pathlib import Path

from ..errors import BadTable

logger = logging.getLogger(__name__)

BEGIN_COLUMN = "Begin Time (s)"
END_COLUMN = "End Time (s)"
LOW_COLUMN = "Low Freq (Hz)"
HIGH_COLUMN = "High Freq (Hz)"
ANNOTATION_COLUMN = "Annotation"
SCORE_COLUMN = "Score"
SELECTION_COLUMN = "Selection"
VIEW_COLUMN = "View"
# A table spanning several sound files (Raven, BirdNET-Analyzer) names each selection's file
# and gives its start within that file.
BEGIN_FILE_COLUMN = "Begin File"
BEGIN_PATH_COLUMN = "Begin Path"
FILE_OFFSET_COLUMN = "File Offset (s)"
HEADER = (
    SELECTION_COLUMN,
    VIEW_COLUMN,
    "Channel",
    BEGIN_COLUMN,
    END_COLUMN,
    LOW_COLUMN,
    HIGH_COLUMN,
    ANNOTATION_COLUMN,
    SCORE_COLUMN,
)
# Columns that hold the class label, most preferred first: Raven's own, ANIMAL-SPOT's, then the
# names Raven users, BirdNET-Analyzer and R packages (warbleR, Rraven, monitoR) give them.
LABEL_COLUMNS = (
    "Annotation",
    "Sound type",
    "Call type",
    "Song type",
    "Label",
    "Class",
    "Species",
    "Common Name",
    "Scientific Name",
    "Species Code",
    "Signal",
    "Vocalization",
    "Tags",
)
# Columns that hold an event's score: ours, BirdNET-Analyzer's, other detectors'.
SCORE_COLUMNS = ("Score", "Confidence", "Probability")
LABEL_HINT = "choose the label column with --annotation_column NAME"


_warned: set[tuple[Path, str]] = set()  # a table read twice (prepare, then suggest) warns once


def _warn_once(path: Path, message: str) -> None:
    key = (path.resolve(), message)
    logger.log(logging.INFO if key in _warned else logging.WARNING, "%s", message)
    _warned.add(key)


def column_key(name: str) -> str:
    """``name`` casefolded with everything but letters and digits removed."""
    return "".join(char for char in name.casefold() if char.isalnum())


class Header:
    """The column names of a table and where each one sits (first of equal keys wins)."""

    def __init__(self, cells: Sequence[str]) -> None:
        self.cells = list(cells)
        self._at: dict[str, int] = {}
        for index, cell in enumerate(self.cells):
            if cell:
                self._at.setdefault(column_key(cell), index)

    def __len__(self) -> int:
        return len(self.cells)

    def find(self, *names: str) -> int:
        """Index of the first of ``names`` present, or -1."""
        return next((self._at[k] for k in map(column_key, names) if k in self._at), -1)

    def present(self, names: Sequence[str]) -> list[int]:
        """Indices of those of ``names`` present, in the order of ``names``."""
        found = [self._at[k] for k in map(column_key, names) if k in self._at]
        return list(dict.fromkeys(found))


def _cell(row: Sequence[str], index: int) -> str:
    return row[index] if 0 <= index < len(row) else ""


def _named_column(header: Header, path: Path, name: str) -> int:
    index = header.find(name)
    if index >= 0:
        return index
    close = difflib.get_close_matches(name, header.cells, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise BadTable(
        f"no annotation column {name!r}{hint}; columns found: {', '.join(header.cells)}",
        path=path,
        fix="pass the name of the column that holds the class labels",
    )


def label_column(
    header: Header, rows: Sequence[Sequence[str]], path: Path, name: str | None
) -> int:
    """Index of the column that holds the labels, or -1 where the table has none.

    ``name`` given: that column, or BadTable listing the columns found. Otherwise the first
    column of `LABEL_COLUMNS` that holds a label in some row (where none does: the first
    present). Logs the column chosen, and warns when several label columns hold labels.
    """
    if name is not None:
        return _named_column(header, path, name)
    present = header.present(LABEL_COLUMNS)
    filled = [i for i in present if any(_cell(row, i) for row in rows)]
    candidates = filled or present
    if not candidates:
        logger.info("%s: no label column (known: %s)", path, ", ".join(LABEL_COLUMNS))
        return -1
    chosen = header.cells[candidates[0]]
    if len(candidates) > 1:
        names = ", ".join(repr(header.cells[i]) for i in candidates)
        _warn_once(
            path, f"{path}: several label columns ({names}); labels from {chosen!r} — {LABEL_HINT}"
        )
    else:
        logger.info("%s: labels from column %r", path, chosen)
    return candidates[0]


def warn_if_unlabelled(header: Header, labels: Sequence[str], path: Path, index: int) -> None:
    """Warn once when a table has selections and every label is empty."""
    if not labels or any(labels):
        return
    where = f"column {header.cells[index]!r} is empty" if index >= 0 else "no label column"
    columns = ", ".join(header.cells)
    _warn_once(
        path, f"{path}: every selection is unlabelled ({where}; columns: {columns}) — {LABEL_HINT}"
    )
