"""What a prediction folder holds, read back for its report: ``prediction.json``, tables, errors."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..annotations.event import Event
from ..annotations.raven import read_table
from ..cells import read_cell
from ..errors import BadConfig, BadTable
from ..prediction.outputs import ERRORS_CSV, SUMMARY_JSON

# A start time in a recording's name, as recorders write it: 20240501_221500, 20240501T221500.
_TIMESTAMP = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})(\d{2})(?!\d)")


@dataclass(frozen=True)
class PredictedRecording:
    """One recording of the folder with its events (empty when its table cannot be read)."""

    name: str
    path: Path
    duration_s: float | None
    selections: Path
    scores: Path
    status: str
    events: list[Event]
    problem: str | None = None  # why its table could not be read

    @property
    def length_s(self) -> float:
        """Its duration, else the end of its last event (0 when neither is known)."""
        if self.duration_s is not None:
            return self.duration_s
        return max((e.end_s for e in self.events), default=0.0)


@dataclass(frozen=True)
class PredictionFolder:
    """A prediction output folder: its summary, recordings with events, and inputs left out."""

    output_dir: Path
    summary: dict[str, Any]
    recordings: list[PredictedRecording]
    errors: list[tuple[str, str]]

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.summary.get("classes") or []]

    @property
    def thresholds(self) -> dict[str, float]:
        values = self.summary.get("thresholds") or {}
        return {str(k): float(v) for k, v in values.items() if isinstance(v, int | float)}


def is_prediction_folder(folder: Path) -> bool:
    return (folder / SUMMARY_JSON).is_file()


def start_time(name: str) -> datetime | None:
    """The start time a recording's name holds (``..._20240501_221500.wav``), or None."""
    found = _TIMESTAMP.search(Path(name).name)
    if found is None:
        return None
    try:
        return datetime(*map(int, found.groups()))  # type: ignore[arg-type]
    except ValueError:  # 20241399_...: digits, not a date
        return None


def _read_errors(folder: Path, summary: dict[str, Any]) -> list[tuple[str, str]]:
    path = folder / ERRORS_CSV
    if path.is_file():
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            rows = list(csv.reader(handle))
        return [(read_cell(r[0]), read_cell(r[1])) for r in rows[1:] if len(r) >= 2]
    return [(str(e.get("file")), str(e.get("reason"))) for e in summary.get("errors") or []]


def _recording(folder: Path, entry: dict[str, Any]) -> PredictedRecording:
    selections = folder / str(entry.get("selections", ""))
    try:
        events, problem = read_table(selections), None
    except (BadTable, OSError) as err:
        events, problem = [], str(err)
    duration = entry.get("duration_s")
    return PredictedRecording(
        name=str(entry.get("name", selections.name)),
        path=Path(str(entry.get("path", ""))),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
        selections=selections,
        scores=folder / str(entry.get("scores", "")),
        status=str(entry.get("status", "")),
        events=events,
        problem=problem,
    )


def read_prediction_folder(folder: str | Path) -> PredictionFolder:
    """Read ``prediction.json`` and every recording's selection table of a predict folder.

    Raises:
        BadConfig: the folder has no readable ``prediction.json``.
    """
    folder = Path(folder)
    path = folder / SUMMARY_JSON
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadConfig(
            f"cannot be read ({err})", path=path, fix="run animal-spot predict into it again"
        ) from None
    if not isinstance(summary, dict):
        raise BadConfig("not a JSON object", path=path, fix="run animal-spot predict again")
    entries = [e for e in summary.get("recordings") or [] if isinstance(e, dict)]
    return PredictionFolder(
        output_dir=folder,
        summary=summary,
        recordings=[_recording(folder, entry) for entry in entries],
        errors=_read_errors(folder, summary),
    )
