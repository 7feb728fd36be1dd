"""Which selection table belongs to which recording: by the table's name, or by the files it names.

Tools name a recording's table after it: ``REC.Table.1.selections.txt`` (Raven Pro),
``REC.BirdNET.selection.table.txt`` (BirdNET-Analyzer), ``REC.selections.txt`` (predict),
``REC.wav.selections.txt``, ``REC.txt``, ``REC_predict_output.log.annotation.result.txt``
(ANIMAL-SPOT). A multi-file table (``Begin File`` or ``Begin Path``, and ``File Offset (s)``)
belongs to every recording it names, whatever its own name.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadTable
from .event import Event
from .reader import SelectionTable, files_of_recording, named_files, read_selections

logger = logging.getLogger(__name__)

_AUDIO = r"wav|flac|ogg|opus|aif|aiff|mp3|w64"
# What tools add after the recording's stem, in the order they follow it.
TABLE_SUFFIX = re.compile(
    rf"(\.(?:{_AUDIO}))?(_predict_output)?(\.log)?(\.annotation\.result)?(\.birdnet)?"
    r"(\.selection\.table)?(\.table\.\d+)?(\.selections)?\.txt$",
    re.IGNORECASE,
)
_RAVEN_NAME = re.compile(r"\.table\.\d+\.selections\.txt", re.IGNORECASE)
NOT_AMONG_RECORDINGS = "of sound files not among the recordings"


def recording_stem(table: str | Path) -> str:
    """The recording stem a table's name gives: ``rec.Table.1.selections.txt`` → ``rec``."""
    name = Path(table).name
    if not name.casefold().endswith(".txt"):
        return name
    return TABLE_SUFFIX.sub("", name) or name[: -len(".txt")]


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


def _name_rank(stem: str, table: Path) -> int | None:
    """How well a table's name fits a recording stem: 0 Raven's, 1 another tool's, 2 a prefix."""
    name = table.name.casefold()
    is_prefixed = name.startswith(stem + ".")
    if is_prefixed and _RAVEN_NAME.fullmatch(name[len(stem) :]):
        return 0
    if recording_stem(name) == stem:
        return 1
    return 2 if is_prefixed else None


def _best_by_name(recording: str | Path, tables: Iterable[Path]) -> tuple[int, list[Path]]:
    stem = Path(recording).stem.casefold()
    ranked = [(rank, t) for t in tables if (rank := _name_rank(stem, t)) is not None]
    if not ranked:
        return 3, []
    best = min(rank for rank, _ in ranked)
    return best, [t for rank, t in ranked if rank == best]


def _several(recording: str | Path, found: Sequence[Path]) -> BadTable:
    return BadTable(
        f"{len(found)} tables match the recording {Path(recording).name}: "
        + ", ".join(t.name for t in found),
        path=found[0].parent,
        fix="keep one selection table per recording, or merge them into one",
    )


def match_table(recording: str | Path, tables: Iterable[Path]) -> Path | None:
    """The table among ``tables`` named after ``recording``, or None.

    Raven's ``<stem>.Table.1.selections.txt`` wins, then another tool's name for the stem (see
    the module docstring), then any ``.txt`` whose name starts with the stem and a dot. Names
    compare case-insensitively.

    Raises:
        BadTable: several tables match the recording equally well.
    """
    _, found = _best_by_name(recording, tables)
    if len(found) > 1:
        raise _several(recording, found)
    return found[0] if found else None


class TableIndex:
    """Find a recording's table among many: multi-file tables by the files they name."""

    def __init__(self, tables: Iterable[Path]) -> None:
        self.tables = list(tables)
        self.files: dict[Path, set[str]] = {}
        self.errors: dict[Path, str] = {}  # tables whose header cannot be read: paired by name
        for table in self.tables:
            try:
                files = named_files(table)
            except BadTable as err:
                self.errors[table] = _reason(err)
                continue
            if files is not None:
                self.files[table] = files
        self.by_name = [t for t in self.tables if t not in self.files]

    def holders(self, recording: str | Path) -> list[Path]:
        """The multi-file tables that hold selections of ``recording``."""
        return [t for t, files in self.files.items() if files_of_recording(files, recording)]

    def candidates(self, recording: str | Path) -> tuple[int, list[Path]]:
        """The tables of ``recording``: rank -1 for multi-file ones, else `match_table`'s."""
        holders = self.holders(recording)
        rank, named = _best_by_name(recording, self.by_name)
        return (-1 if holders else rank), [*holders, *named]

    def find(self, recording: str | Path) -> Path | None:
        """The one table of ``recording``, or None.

        Raises:
            BadTable: several tables match or hold selections of the recording.
        """
        _, found = self.candidates(recording)
        if len(found) > 1:
            raise _several(recording, found)
        return found[0] if found else None


def pair_tables(
    recordings: Iterable[Path], tables: Sequence[Path]
) -> tuple[dict[Path, Path], list[tuple[Path, str]]]:
    """Each recording's table, and every file left unpaired with the reason.

    A multi-file table pairs with every recording it names; a table named after several
    recordings goes to the best-fitting name (``rec.b.Table.1...`` to ``rec.b``, not ``rec``).
    A recording without a table, one with several, and a table without a recording are left
    unpaired. Several recordings may share one multi-file table: read each one's selections
    with ``read_table(table, recording=...)``.
    """
    index = TableIndex(tables)
    unpaired: list[tuple[Path, str]] = []
    claims: dict[Path, list[tuple[int, Path]]] = {table: [] for table in tables}
    for recording in recordings:
        rank, found = index.candidates(recording)
        if len(found) > 1:
            err = _several(recording, found)
            unpaired.append((recording, str(err).removeprefix(f"{err.path}: ")))
        elif not found:
            unpaired.append((recording, "no selection table of this name"))
        else:
            claims[found[0]].append((rank, recording))
    pairs: dict[Path, Path] = {}
    for table, claimed in claims.items():
        if table in index.files:
            pairs.update({recording: table for _, recording in claimed})
            if not claimed:
                named = ", ".join(sorted(index.files[table])[:5]) or "no sound file"
                unpaired.append((table, f"names none of the recordings ({named})"))
            continue
        # The best name wins; among prefixes, the longest stem (``rec.b`` over ``rec``).
        fits = [((rank, -len(r.stem)), r) for rank, r in claimed]
        top = min((fit for fit, _ in fits), default=None)
        best = [r for fit, r in fits if fit == top]
        if len(best) == 1:
            pairs[best[0]] = table
            unpaired += [(r, "no selection table of this name") for _, r in claimed if r != best[0]]
        elif not best:
            unpaired.append((table, "no recording of this name"))
        else:
            names = ", ".join(str(r) for r in best)
            unpaired.append((table, f"matches {len(best)} recordings ({names})"))
    return dict(sorted(pairs.items())), unpaired


def find_table_for(recording: str | Path, table_dir: str | Path) -> Path | None:
    """The selection table in ``table_dir`` that belongs to ``recording`` (see `TableIndex`)."""
    return TableIndex(table_files(table_dir)).find(recording)


@dataclass
class TableReport:
    """How many selections of one table were used, and how many were skipped and why."""

    table: Path
    n_used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, detail: str = "") -> None:
        """Move one used selection to the skipped ones (``detail`` goes to the INFO log)."""
        self.n_used -= 1
        self.skipped[reason] += 1
        if detail:
            logger.info("%s: skipped the selection %s", self.table, detail)

    @property
    def n_skipped(self) -> int:
        """Selections not used, for every reason."""
        return sum(self.skipped.values())

    def summary(self) -> str:
        """``41 selections used, 3 skipped (2 without a label, 1 past the end ...)``."""
        text = f"{self.n_used} selections used"
        if self.n_skipped:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
            text += f", {self.n_skipped} skipped ({reasons})"
        return text


@dataclass
class PairedTables:
    """Recordings with their tables' events, and what was left out."""

    tables: dict[Path, Path]  # recording → its table
    events: dict[Path, list[Event]]  # recording → its selections, on its own timeline
    reports: dict[Path, TableReport]  # table → selections used and skipped
    unpaired: list[tuple[Path, str]]  # (file, reason) of everything left out


def _reason(err: BadTable) -> str:
    return str(err).removeprefix(f"{err.path}: ") if err.path else str(err)


def read_paired(
    recordings: Iterable[Path], tables: Sequence[Path], annotation_column: str | None = None
) -> PairedTables:
    """Pair recordings with tables (`pair_tables`), read each table once, split multi-file ones.

    A table that cannot be read is left unpaired with its error, and so are its recordings'
    selections. A selection of a multi-file table whose file is not among ``recordings`` is
    counted as skipped in the table's report.
    """
    recordings = list(recordings)
    pairs, unpaired = pair_tables(recordings, tables)
    read: dict[Path, SelectionTable] = {}
    for table in sorted({*pairs.values()}):
        try:
            read[table] = read_selections(table, annotation_column)
        except BadTable as err:
            unpaired.append((table, _reason(err)))
    result = PairedTables({}, {}, {}, unpaired)
    owners: dict[Path, dict[str, Path]] = {}  # multi-file table → its file names → recording
    for recording, table in pairs.items():
        if table not in read:
            continue
        selections = read[table].selections
        if read[table].is_multi_file:
            files = files_of_recording({s.file for s in selections if s.file}, recording)
            owners.setdefault(table, {}).update(dict.fromkeys(files, recording))
            selections = [s for s in selections if s.file in files]
        result.tables[recording] = table
        result.events[recording] = [s.event for s in selections]
    for table, content in read.items():
        report = result.reports[table] = TableReport(table, len(content.selections))
        for selection in content.selections:
            if content.is_multi_file and selection.file not in owners.get(table, {}):
                detail = f"of line {selection.line}: {selection.file} is not among the recordings"
                report.skip(NOT_AMONG_RECORDINGS, detail)
    return result
