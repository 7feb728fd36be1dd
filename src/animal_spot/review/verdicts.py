"""The verdicts of a review, kept as Raven tables that prepare and evaluate read as they are.

One table per recording, at the path of its predicted table under the verdict folder
(``reviewed/rec.selections.txt``), holds the detections judged so far: ``Annotation`` is the
label a person gave (the class when correct, the new class when relabelled, ``noise`` when
wrong), ``Score`` the detection's score, ``Verdict`` and ``Predicted`` (the model's class) follow.
Each verdict rewrites its table atomically before it is acknowledged, so closing the page or
killing the server loses nothing, and a new review of the folder starts where the last one
stopped. Rows that match no detection (predict ran again since) are kept as they are.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..annotations.columns import ANNOTATION_COLUMN, Header
from ..annotations.event import Event
from ..annotations.raven import read_selections, table_files, write_table
from ..annotations.reader import decode_table, unescape_cell
from ..annotations.writer import cell_text
from ..errors import BadConfig, BadTable
from .detections import NOISE_LABEL, Detection

logger = logging.getLogger(__name__)

CORRECT, WRONG, RELABEL = "correct", "wrong", "relabel"
VERDICTS = (CORRECT, WRONG, RELABEL)
VERDICT_COLUMN = "Verdict"
PREDICTED_COLUMN = "Predicted"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the reader's, so line numbers agree
_FOREIGN_FIX = "choose another verdict folder with --out, or move the table away"

Key = tuple[Path, float, float, str]  # (table, start_s, end_s, predicted class)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a person said of one detection, and the label its table row gets from that."""

    verdict: str
    label: str


def judge(predicted: str, verdict: str, label: str | None = None) -> Verdict:
    """The verdict on a detection of class ``predicted``, in its one canonical form.

    Relabelling to the predicted class is ``correct``, relabelling to ``noise`` is ``wrong``.

    Raises:
        ValueError: an unknown verdict, or ``relabel`` without a label.
    """
    if verdict == CORRECT:
        return Verdict(CORRECT, predicted)
    if verdict == WRONG:
        return Verdict(WRONG, NOISE_LABEL)
    if verdict != RELABEL:
        raise ValueError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    label = cell_text(label or "")
    if not label:
        raise ValueError("relabel needs the new class as label")
    if label == predicted:
        return Verdict(CORRECT, predicted)
    if label.casefold() == NOISE_LABEL:
        return Verdict(WRONG, NOISE_LABEL)
    return Verdict(RELABEL, label)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a verdict table: the event under its reviewed label, verdict, prediction."""

    event: Event
    verdict: str
    predicted: str


def _key(table: Path, event: Event, predicted: str) -> Key:
    # Both tables keep 6 decimals, so the times of one detection read back equal.
    return table, round(event.start_s, 6), round(event.end_s, 6), predicted


def _lines(path: Path) -> list[str]:
    return _LINE_BREAK.split(decode_table(path.read_bytes(), path))


def _header(lines: list[str]) -> Header:
    first = next((line for line in lines if line.strip()), "")
    return Header([unescape_cell(cell.strip()) for cell in first.split("\t")])


def is_verdict_table(path: Path) -> bool:
    """Whether ``path`` is a table this review writes (its header has a ``Verdict`` column)."""
    try:
        return _header(_lines(path)).find(VERDICT_COLUMN) >= 0
    except (OSError, BadTable):
        return False


def read_verdict_table(path: Path) -> list[Row]:
    """The rows of a verdict table.

    Raises:
        BadTable: the table is not one this review wrote, or a verdict cell is unknown.
    """
    if not is_verdict_table(path):
        raise BadTable(
            f"not a verdict table (no {VERDICT_COLUMN!r} column); a review would overwrite it",
            path=path,
            fix=_FOREIGN_FIX,
        )
    lines = _lines(path)
    header = _header(lines)
    verdict_at, predicted_at = header.find(VERDICT_COLUMN), header.find(PREDICTED_COLUMN)
    rows = []
    for selection in read_selections(path, ANNOTATION_COLUMN).selections:
        cells = [unescape_cell(c.strip()) for c in lines[selection.line - 1].split("\t")]
        verdict = cells[verdict_at] if verdict_at < len(cells) else ""
        if verdict not in VERDICTS:
            raise BadTable(
                f"line {selection.line}: {VERDICT_COLUMN} = {verdict!r} is not one of "
                + ", ".join(VERDICTS),
                path=path,
                fix=_FOREIGN_FIX,
            )
        predicted = cells[predicted_at] if 0 <= predicted_at < len(cells) else ""
        rows.append(Row(selection.event, verdict, predicted or selection.event.label))
    return rows


class VerdictStore:
    """Verdicts by detection id, each one on disk (atomically) before `mark` returns."""

    def __init__(self, out_dir: str | Path, detections: Sequence[Detection]) -> None:
        """Read the verdicts an earlier review left in ``out_dir``.

        Raises:
            BadConfig: ``out_dir`` is a file.
            BadTable: ``out_dir`` holds a table this review did not write.
        """
        self.out_dir = Path(out_dir)
        self.detections = list(detections)
        self.verdicts: dict[int, Verdict] = {}
        self._kept: dict[Path, list[Row]] = {}  # rows of earlier reviews matching no detection
        self._owned: set[Path] = set()  # tables read or written here: safe to replace
        self._by_table: dict[Path, list[Detection]] = {}
        self._lock = threading.Lock()
        for detection in self.detections:
            self._by_table.setdefault(detection.recording.table, []).append(detection)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise BadConfig("is a file, not a folder for verdicts", path=self.out_dir)
        if self.out_dir.is_dir():
            self._load()

    def _load(self) -> None:
        waiting: dict[Key, list[int]] = {}
        for d in self.detections:
            waiting.setdefault(_key(d.recording.table, d.event, d.event.label), []).append(d.id)
        n_kept = 0
        for path in table_files(self.out_dir):
            table = path.relative_to(self.out_dir)
            for row in read_verdict_table(path):
                ids = waiting.get(_key(table, row.event, row.predicted))
                if ids:
                    self.verdicts[ids.pop(0)] = Verdict(row.verdict, row.event.label)
                else:
                    self._kept.setdefault(table, []).append(row)
                    n_kept += 1
            self._owned.add(table)
        if n_kept:
            logger.warning(
                "%s: %d verdicts match no detection of these predictions; kept as they are",
                self.out_dir,
                n_kept,
            )

    def mark(self, detection_id: int, verdict: Verdict) -> Path:
        """Record ``verdict`` for a detection (replacing an earlier one) and write its table.

        Raises:
            KeyError: no detection has this id.
            BadTable: the table's place holds a table this review did not write.
        """
        detection = self.detections[detection_id] if 0 <= detection_id < len(self) else None
        if detection is None:
            raise KeyError(detection_id)
        with self._lock:
            previous = self.verdicts.get(detection_id)
            self.verdicts[detection_id] = verdict
            try:
                return self._write(detection.recording.table)
            except BaseException:
                if previous is None:
                    del self.verdicts[detection_id]
                else:
                    self.verdicts[detection_id] = previous
                raise

    def _write(self, table: Path) -> Path:
        path = self.out_dir / table
        if table not in self._owned and path.exists() and not is_verdict_table(path):
            raise BadTable(
                f"not a verdict table (no {VERDICT_COLUMN!r} column); will not overwrite it",
                path=path,
                fix=_FOREIGN_FIX,
            )
        rows = [
            Row(dataclasses.replace(d.event, label=v.label), v.verdict, d.event.label)
            for d in self._by_table.get(table, [])
            if (v := self.verdicts.get(d.id)) is not None
        ]
        rows += self._kept.get(table, [])
        write_table(
            [row.event for row in rows],
            path,
            extra_columns={
                VERDICT_COLUMN: [row.verdict for row in rows],
                PREDICTED_COLUMN: [row.predicted for row in rows],
            },
        )
        self._owned.add(table)
        return path

    def __len__(self) -> int:
        return len(self.detections)
