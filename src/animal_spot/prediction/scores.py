"""ScoreTrack: class probabilities of consecutive windows of one recording, and its CSV form.

The window scores CSV has the columns ``file,start_s,end_s,<one column per class>``; file and
class names are written through `safe_cell` (a spreadsheet never runs them) and read back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_open
from ..cells import read_cell, safe_cell
from ..errors import BadTable

FIXED_COLUMNS = ("file", "start_s", "end_s")


@dataclass(frozen=True)
class ScoreTrack:
    """Scores of one recording: window ``i`` spans ``[start_s[i], end_s[i])`` with ``probs[i]``."""

    file: str
    start_s: np.ndarray  # (n_windows,)
    end_s: np.ndarray  # (n_windows,)
    probs: np.ndarray  # (n_windows, n_classes)
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.start_s)
        if len(self.end_s) != n or self.probs.shape != (n, len(self.classes)):
            raise ValueError(
                f"ScoreTrack of {self.file}: {n} starts, {len(self.end_s)} ends, probs "
                f"{self.probs.shape} for {len(self.classes)} classes"
            )

    def __len__(self) -> int:
        return len(self.start_s)

    def column(self, label: str) -> np.ndarray:
        """Scores of one class over the windows."""
        return self.probs[:, self.classes.index(label)]

    @classmethod
    def empty(cls, file: str, classes: Sequence[str]) -> ScoreTrack:
        return cls(file, np.zeros(0), np.zeros(0), np.zeros((0, len(classes))), tuple(classes))


def _seconds(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def write_scores(tracks: Iterable[ScoreTrack], path: str | Path) -> Path:
    """Write one or more tracks (same classes) as a window scores CSV, atomically."""
    path = Path(path)
    tracks = list(tracks)
    classes = tracks[0].classes if tracks else ()
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FIXED_COLUMNS, *map(safe_cell, classes)])
        for track in tracks:
            if track.classes != classes:
                raise ValueError(f"{track.file}: classes {track.classes} differ from {classes}")
            file = safe_cell(track.file)
            for start, end, row in zip(track.start_s, track.end_s, track.probs, strict=True):
                writer.writerow([file, _seconds(start), _seconds(end), *(f"{p:.6g}" for p in row)])
    return path


def read_scores(path: str | Path) -> list[ScoreTrack]:
    """The tracks of a window scores CSV, one per ``file`` value, in order of appearance."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise BadTable("window scores file not found", path=path) from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header[:3]) != FIXED_COLUMNS or len(header) < 4:
            raise BadTable(
                "not a window scores CSV",
                path=path,
                fix="expected the columns file,start_s,end_s,<class>... written by predict",
            )
        classes = tuple(map(read_cell, header[3:]))
        rows: dict[str, list[list[float]]] = {}
        for line, row in enumerate(reader, start=2):
            try:
                rows.setdefault(read_cell(row[0]), []).append([float(v) for v in row[1:]])
            except (ValueError, IndexError):
                raise BadTable(f"line {line} is not numeric", path=path) from None
    tracks = []
    for file, values in rows.items():
        array = np.asarray(values, dtype=np.float64).reshape(-1, 2 + len(classes))
        tracks.append(ScoreTrack(file, array[:, 0], array[:, 1], array[:, 2:], classes))
    return tracks
