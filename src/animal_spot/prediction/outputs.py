"""The files prediction writes: per recording, the combined table, errors; and what is done.

For a recording named ``<dir>/<stem>.<ext>`` (relative to the input folder) the output folder
gets, at the same relative place: ``<stem>.scores.csv``, with ``latent_extract``
``<stem>.embeddings.npy`` and ``<stem>.embeddings.csv``, and last ``<stem>.selections.txt``,
which marks the recording as done. Every file is written atomically.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..annotations.event import Event
from ..annotations.raven import read_table, write_table
from ..atomic import atomic_open
from ..errors import BadTable
from .scores import ScoreTrack

COMBINED_TABLE = "all.selections.txt"
ERRORS_CSV = "errors.csv"
FILE_COLUMN = "Begin File"

Done = tuple[Path, str, dict[str, Path]]  # (recording, name, its outputs)


def output_paths(output_dir: Path, name: str, latent: bool) -> dict[str, Path]:
    """The files one recording gets, by kind; ``selections`` comes last (the done marker)."""
    relative = Path(name)
    base = output_dir / relative.parent / relative.stem
    paths = {"scores": Path(f"{base}.scores.csv")}
    if latent:
        paths["embeddings"] = Path(f"{base}.embeddings.npy")
        paths["index"] = Path(f"{base}.embeddings.csv")
    paths["selections"] = Path(f"{base}.selections.txt")
    return paths


def is_done(recording: Path, outputs: dict[str, Path]) -> bool:
    """Every output exists and is at least as new as the recording."""
    try:
        made = min(path.stat().st_mtime_ns for path in outputs.values())
    except FileNotFoundError:
        return False
    return made >= recording.stat().st_mtime_ns


def clear_stale_temp_files(outputs: dict[str, Path]) -> None:
    """Remove the temp files a killed run left beside these outputs (``atomic_path``'s names)."""
    for path in outputs.values():
        if path.parent.is_dir():
            for stale in path.parent.glob(f".{path.name}.*.tmp"):
                stale.unlink(missing_ok=True)


def write_embeddings(embeddings: np.ndarray, track: ScoreTrack, outputs: dict[str, Path]) -> None:
    """``.npy`` of the embeddings ``(n_windows, n_features)`` and its ``file,start_s,end_s``."""
    with atomic_open(outputs["embeddings"], "wb") as handle:
        np.save(handle, embeddings)
    with atomic_open(outputs["index"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "start_s", "end_s"])
        spans = zip(track.start_s, track.end_s, strict=True)
        writer.writerows([track.file, f"{s:.6f}", f"{e:.6f}"] for s, e in spans)


def write_errors(output_dir: Path, errors: list[tuple[Path, str]]) -> None:
    """``errors.csv`` (``file,reason``), or no such file when every recording was read."""
    path = output_dir / ERRORS_CSV
    if not errors:
        path.unlink(missing_ok=True)  # a stale list from an earlier run would mislead
        return
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "reason"])
        writer.writerows([str(file), reason] for file, reason in errors)


def write_combined(output_dir: Path, done: list[Done], errors: list[tuple[Path, str]]) -> int:
    """``all.selections.txt`` from every finished recording's table; returns its event count.

    Its ``Begin File`` column names each event's recording (relative to the input folder).
    """
    events: list[Event] = []
    files: list[str] = []
    for recording, name, outputs in sorted(done, key=lambda d: d[1]):
        try:
            table = read_table(outputs["selections"])
        except BadTable as err:
            errors.append((recording, f"its selection table cannot be read back ({err})"))
            continue
        events.extend(sorted(table, key=lambda e: (e.start_s, e.end_s)))
        files.extend([name] * len(table))
    # Ordered by recording, then time, so each recording's events stay together.
    write_table(
        events, output_dir / COMBINED_TABLE, extra_columns={FILE_COLUMN: files}, is_sorted=False
    )
    return len(events)
