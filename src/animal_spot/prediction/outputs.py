"""The files prediction writes: per recording, the combined table, errors; and what is done.

The folder holds ``all.selections.txt``, ``errors.csv`` (when inputs were left out),
``prediction.json`` (the run's summary, `summary`) and ``report.html`` (`reporting.prediction`).

A recording named ``<dir>/<stem>.<ext>`` (relative to the input folder) gets, at the same
relative place in the output folder: ``<stem>.scores.csv``, with ``latent_extract``
``<stem>.embeddings.npy`` and ``<stem>.embeddings.csv``, and last ``<stem>.selections.txt``,
which marks the recording as done. Where two recordings of one folder share a stem
(``rec.wav``, ``rec.flac``; compared ignoring case) or a top-level output would take a combined
output's name (``all.wav``), the recording's whole name is the base instead
(``rec.wav.selections.txt``); the same folder always gives the same names. Bytes of a name that
are not UTF-8 appear as ``\\xNN``. Every file is written atomically, and every text cell
through `safe_cell`.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from ..annotations.event import Event
from ..annotations.raven import read_table, write_table
from ..atomic import LOCK_NAME, atomic_open, is_stale_temp
from ..cells import printable, safe_cell
from ..errors import BadTable
from .scores import ScoreTrack

COMBINED_TABLE = "all.selections.txt"
ERRORS_CSV = "errors.csv"
SUMMARY_JSON = "prediction.json"  # the run's inputs, outputs and timing (`summary`)
REPORT_HTML = "report.html"
FILE_COLUMN = "Begin File"
# Output kind → suffix after the base; "selections" comes last (the done marker).
KINDS = {
    "scores": ".scores.csv",
    "embeddings": ".embeddings.npy",
    "index": ".embeddings.csv",
    "selections": ".selections.txt",
}
PREDICT_LOG = "predict.log"  # what each run said, appended
_FOLDER_FILES = frozenset(
    name.casefold()
    for name in (COMBINED_TABLE, ERRORS_CSV, SUMMARY_JSON, REPORT_HTML, LOCK_NAME, PREDICT_LOG)
)

Done = tuple[Path, str, dict[str, Path]]  # (recording, name, its outputs)


def _stem_base(name: str) -> str:
    relative = PurePosixPath(printable(name))
    return str(relative.parent / relative.stem) if relative.parent.parts else relative.stem


def _takes_folder_file(base: str) -> bool:
    return "/" not in base and any(
        (base + suffix).casefold() in _FOLDER_FILES for suffix in KINDS.values()
    )


def output_bases(names: Sequence[str]) -> dict[str, str]:
    """Each recording name's output base (relative path before the kind suffix), all distinct.

    Names whose stems clash keep their whole name; what still clashes (names equal but for
    case or for undecodable bytes) gets ``~2``, ``~3``, ... in sorted order.
    """
    bases = {name: _stem_base(name) for name in names}
    for _ in range(len(bases)):
        counts = Counter(base.casefold() for base in bases.values())
        clashing = [
            name
            for name, base in bases.items()
            if base != printable(name) and (counts[base.casefold()] > 1 or _takes_folder_file(base))
        ]
        if not clashing:
            break
        for name in clashing:
            bases[name] = printable(name)
    taken: Counter[str] = Counter()
    for name in sorted(bases):
        key = bases[name].casefold()
        taken[key] += 1
        if taken[key] > 1:
            bases[name] = f"{bases[name]}~{taken[key]}"
    return bases


def output_paths(output_dir: Path, base: str, latent: bool) -> dict[str, Path]:
    """The files one recording gets, by kind; ``selections`` comes last (the done marker)."""
    kinds = [kind for kind in KINDS if latent or kind not in ("embeddings", "index")]
    return {kind: output_dir / f"{base}{KINDS[kind]}" for kind in kinds}


def is_done(recording: Path, outputs: dict[str, Path]) -> bool:
    """Every output exists and is at least as new as the recording."""
    try:
        made = min(path.stat().st_mtime_ns for path in outputs.values())
        return made >= recording.stat().st_mtime_ns
    except OSError:
        return False


def clear_stale_temp_files(outputs: dict[str, Path]) -> None:
    """Remove the temp files killed runs left beside these outputs; a live writer's stay."""
    for path in outputs.values():
        if path.parent.is_dir():
            for tmp in path.parent.glob(f".{path.name}.*.tmp"):
                if is_stale_temp(tmp, path):
                    tmp.unlink(missing_ok=True)


def write_embeddings(embeddings: np.ndarray, track: ScoreTrack, outputs: dict[str, Path]) -> None:
    """``.npy`` of the embeddings ``(n_windows, n_features)`` and its ``file,start_s,end_s``."""
    with atomic_open(outputs["embeddings"], "wb") as handle:
        np.save(handle, embeddings)
    with atomic_open(outputs["index"], "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "start_s", "end_s"])
        file = safe_cell(track.file)
        spans = zip(track.start_s, track.end_s, strict=True)
        writer.writerows([file, f"{s:.6f}", f"{e:.6f}"] for s, e in spans)


def write_errors(output_dir: Path, errors: list[tuple[Path, str]]) -> None:
    """``errors.csv`` (``file,reason``), or no such file when every recording was read."""
    path = output_dir / ERRORS_CSV
    if not errors:
        path.unlink(missing_ok=True)  # a stale list from an earlier run would mislead
        return
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "reason"])
        writer.writerows([safe_cell(file), safe_cell(reason)] for file, reason in errors)


def read_done_tables(
    done: list[Done], errors: list[tuple[Path, str]]
) -> tuple[list[Event], list[str], dict[str, int]]:
    """Every finished recording's events in name then time order, their names, counts per name.

    A table that cannot be read back goes to ``errors`` and has no count.
    """
    events: list[Event] = []
    files: list[str] = []
    counts: dict[str, int] = {}
    for recording, name, outputs in sorted(done, key=lambda d: d[1]):
        try:
            table = read_table(outputs["selections"])
        except BadTable as err:
            errors.append((recording, f"its selection table cannot be read back ({err})"))
            continue
        counts[name] = len(table)
        events.extend(sorted(table, key=lambda e: (e.start_s, e.end_s)))
        # The Raven writer adds the formula guard itself; a second ' would stay in the cell.
        files.extend([safe_cell(name, guard_formula=False)] * len(table))
    return events, files, counts


def write_combined(
    output_dir: Path, done: list[Done], errors: list[tuple[Path, str]]
) -> dict[str, int]:
    """``all.selections.txt`` from every finished recording's table; returns events per name.

    Its ``Begin File`` column names each event's recording (relative to the input folder).
    """
    events, files, counts = read_done_tables(done, errors)
    # Ordered by recording, then time, so each recording's events stay together.
    write_table(
        events, output_dir / COMBINED_TABLE, extra_columns={FILE_COLUMN: files}, is_sorted=False
    )
    return counts
