"""The clip record and its CSV manifest (``path,label,group,start_s,end_s``).

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``) are written
with a leading ``'``, and a cell starting with ``'`` gets one more, so reading strips exactly
one ``'`` and gives the text back. Labels, groups and paths with control characters (tab,
newline, CR, ...) are refused: they break the tab-separated Raven tables written later.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_open
from ..cells import read_cell, safe_cell
from ..errors import BadTable

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("path", "label", "group", "start_s", "end_s")
_LINE_BREAKS = frozenset("\u2028\u2029")  # str.splitlines breaks on these too


def text_problem(text: str, what: str = "label") -> str | None:
    """Why ``text`` cannot be a label, group or path in our tables, or None if it can."""
    for char in text:
        if unicodedata.category(char) == "Cc" or char in _LINE_BREAKS:
            return (
                f"the {what} holds a control character ({char!r}), which breaks the "
                "tab-separated tables written later: rename it"
            )
    return None


def protect_cell(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows as text, never runs as a formula."""
    return safe_cell(text)


def unprotect_cell(text: str) -> str:
    """The text ``protect_cell`` was given."""
    return read_cell(text)


@dataclass(frozen=True, slots=True)
class Clip:
    """One labelled sound: a whole file, or the span ``[start_s, end_s)`` of a recording.

    ``group`` is the recording (ANIMAL-SPOT's tape): clips of one group never go to two splits.
    """

    path: Path
    label: str
    group: str
    start_s: float | None = None
    end_s: float | None = None

    @property
    def is_span(self) -> bool:
        return self.start_s is not None or self.end_s is not None


_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _guess_encoding(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    if b"\x00" in data[:4096]:
        # UTF-16 without a mark: the zero bytes sit where ASCII characters have their high byte.
        head = data[:4096]
        return "utf-16-le" if head[1::2].count(0) > head[::2].count(0) else "utf-16-be"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode_table(path: Path) -> str:
    """The text of a CSV in UTF-8 (with or without BOM), UTF-16/32 (BOM), cp1252 or Latin-1.

    Spreadsheets export in any of these; a file that is no UTF-8 is read as cp1252 (Excel's
    Western default), or Latin-1 where cp1252 leaves a byte undefined, and a note is logged.

    Raises:
        BadTable: the file is missing or cannot be read, or is not text.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadTable("CSV file not found", path=path) from None
    except OSError as err:
        raise BadTable(f"cannot read it ({err.strerror})", path=path) from None
    encoding = _guess_encoding(data)
    for candidate in (encoding, "latin-1") if encoding == "cp1252" else (encoding,):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        if candidate not in ("utf-8", "utf-8-sig"):
            logger.warning("%s: not UTF-8, read as %s", path, candidate)
        if "\x00" in text:
            break
        return text
    raise BadTable(
        "not a text CSV (binary bytes, or an encoding that cannot be told)",
        path=path,
        fix="save it from the spreadsheet as CSV UTF-8",
    )


_DELIMITERS = (",", ";", "\t")  # European spreadsheets write ';', some exports tabs


def _split_rows(text: str, needed: Sequence[str]) -> list[list[str]]:
    """The rows, split at the first delimiter whose header holds every needed column.

    Without one, at the delimiter giving the most columns (so the error can list them).
    """
    head = text.splitlines(keepends=True)[:1]
    widths = []
    for rank, delimiter in enumerate(_DELIMITERS):
        header = [cell.strip() for cell in next(csv.reader(head, delimiter=delimiter), [])]
        if all(column in header for column in needed):
            break
        widths.append((len(header), -rank, delimiter))
    else:
        delimiter = max(widths)[2]
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_table(path: Path, needed: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line, {column: cell})`` of each non-blank row of a CSV a spreadsheet exported.

    The text may be in any encoding `decode_table` reads and separated by ``,``, ``;`` or tabs.
    No number is read here, so decimal commas do no harm.

    Raises:
        BadTable: the file cannot be read or parsed, or lacks a needed column (the message
            names the closest column and lists those found).
    """
    try:
        rows = _split_rows(decode_table(path), needed)
    except csv.Error as err:
        raise BadTable(f"not a readable CSV ({err})", path=path) from None
    found = [cell.strip() for cell in rows[0]] if rows else []
    for column in needed:
        if column not in found:
            close = difflib.get_close_matches(column, found, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BadTable(
                f"no column {column!r}{hint}; columns found: {', '.join(found)}",
                path=path,
                fix="name a column of the CSV's first row",
            )
    return [
        (line, dict(zip(found, cells, strict=False)))
        for line, cells in enumerate(rows[1:], start=2)
        if any(cell.strip() for cell in cells)  # spreadsheets leave blank rows at the end
    ]


def _number(text: str, path: Path, line: int, column: str) -> float | None:
    if text.strip() == "":
        return None
    try:
        return float(text)
    except ValueError:
        raise BadTable(
            f"line {line}: {column} = {text!r} is not a number",
            path=path,
            fix="leave it empty or give seconds",
        ) from None


def read_manifest(path: str | Path) -> list[Clip]:
    """Clips of a manifest CSV; relative paths are taken relative to the CSV's folder."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise BadTable("manifest not found", path=path) from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("path", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise BadTable(
                f"missing column(s) {', '.join(missing)}",
                path=path,
                fix=f"a manifest has the columns {','.join(MANIFEST_COLUMNS)}",
            )
        clips = []
        for line, row in enumerate(reader, start=2):
            clip_path = Path(unprotect_cell(row["path"] or ""))
            if not clip_path.is_absolute():
                clip_path = path.parent / clip_path
            group = unprotect_cell((row.get("group") or "").strip()) or clip_path.stem
            clips.append(
                Clip(
                    path=clip_path,
                    label=unprotect_cell((row["label"] or "").strip()),
                    group=group,
                    start_s=_number(row.get("start_s") or "", path, line, "start_s"),
                    end_s=_number(row.get("end_s") or "", path, line, "end_s"),
                )
            )
    return clips


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _row(clip: Clip) -> list[str]:
    cells = {"path": str(Path(clip.path).resolve()), "label": clip.label, "group": clip.group}
    for what, text in cells.items():
        reason = text_problem(text, what)
        if reason is not None:
            raise BadTable(reason, path=clip.path, fix="rename it, then prepare again")
    return [*map(protect_cell, cells.values()), _seconds(clip.start_s), _seconds(clip.end_s)]


def write_manifest(clips: Iterable[Clip], path: str | Path) -> Path:
    """Write clips as a manifest CSV (absolute paths), atomically; see the module on quoting.

    Raises:
        BadTable: a label, group or path holds a control character (nothing is written).
    """
    path = Path(path)
    rows = [_row(clip) for clip in clips]  # checked before the file is opened
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return path


def class_names(clips: Sequence[Clip]) -> list[str]:
    """Sorted unique labels (the class index order)."""
    return sorted({clip.label for clip in clips})
