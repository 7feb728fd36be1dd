"""Mining's files and guard: recordings, reference tables, splits, leaks, appends to train."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..annotations import raven
from ..atomic import atomic_open
from ..errors import BadConfig, BadData, BadTable
from .clips import parse_clip_name
from .manifest import MANIFEST_COLUMNS, Clip, protect_cell, read_manifest, unprotect_cell
from .prepare import is_prepared
from .splits import SPLITS

MINED_CSV = "mined.csv"
MINED_COLUMNS = (*MANIFEST_COLUMNS, "score", "class", "model", "mined_at", "status")
REJECTED = "rejected"  # a reviewer's mark in the status column: never mine this clip again
Problem = tuple[Path, str]


@dataclass(frozen=True, slots=True)
class MinedClip:
    """A noise clip added to train, with the score and class of the false positive it came from."""

    clip: Clip
    score: float
    claimed: str


def resolved(path: str | Path) -> Path:
    """The absolute form paths are compared (and written) in."""
    return Path(path).resolve()


def load_prepared(data_dir: Path) -> dict[str, list[Clip]]:
    """The splits of a prepared folder; ``train.csv`` must exist, val and test may be absent."""
    if not is_prepared(data_dir):
        raise BadConfig(
            "no train.csv manifest (path,label,group,start_s,end_s) here",
            path=data_dir,
            fix="give the folder written by `animal-spot prepare --out DIR`",
        )
    manifests = {name: data_dir / f"{name}.csv" for name in SPLITS}
    return {name: read_manifest(p) if p.is_file() else [] for name, p in manifests.items()}


def read_rejected(path: Path) -> list[Clip]:
    """The clips ``mined.csv`` marks ``rejected`` in its status column (none without the file)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    try:
        return [
            Clip(
                Path(unprotect_cell(r["path"])),
                unprotect_cell(r["label"]),
                unprotect_cell(r["group"]),
                float(r["start_s"]),
                float(r["end_s"]),
            )
            for r in rows
            if (r.get("status") or "").strip().casefold() == REJECTED
        ]
    except (KeyError, TypeError, ValueError):
        raise BadTable(
            f"not a record of mined clips (columns {','.join(MINED_COLUMNS)})",
            path=path,
            fix="restore it, or delete it to forget what was mined",
        ) from None


def find_inputs(inputs: Sequence[Path]) -> list[Path]:
    """Every recording the inputs name (files, or audio under folders), each once."""
    from ..prediction.api import find_recordings

    found: dict[Path, Path] = {}
    for source in inputs:
        for recording, _ in find_recordings(Path(source)):
            found.setdefault(resolved(recording), recording)
    if not found:
        where = inputs[0] if inputs else None
        raise BadConfig("no recordings found", path=where, fix="give audio files or folders")
    return list(found.values())


def pair_references(
    recordings: Sequence[Path], references: Path
) -> tuple[dict[Path, Path], list[Problem]]:
    """Each recording's reference table, by name as ``evaluate`` pairs them, and the unpaired.

    A single table and a single recording always pair. A table without a recording is ignored.
    """
    from ..prediction.outputs import COMBINED_TABLE

    if references.is_file():
        tables = [references]
    elif references.is_dir():
        tables = [t for t in raven.table_files(references) if t.name != COMBINED_TABLE]
    else:
        raise BadTable("no such reference table or folder", path=references)
    if len(tables) == 1 and len(recordings) == 1:
        return {recordings[0]: tables[0]}, []
    pairs, unpaired = raven.pair_tables(recordings, tables)
    reasons = dict(unpaired)
    problems = [
        (r, f"{reasons.get(r, 'its table matches several recordings')}; not mined")
        for r in recordings
        if r not in pairs
    ]
    return pairs, problems


def _tape(recording: Path) -> str | None:
    try:
        return parse_clip_name(recording).group
    except BadData:
        return None


def group_of(recording: Path, train_groups: dict[Path, str]) -> str:
    """The group prepare gives it: its group in train, else ``YEAR_TAPE`` by name, else its stem.

    The stem is what prepare uses for long recordings (Raven tables, background recordings).
    """
    if resolved(recording) in train_groups:
        return train_groups[resolved(recording)]
    return _tape(recording) or recording.stem


def check_no_leak(
    recordings: Sequence[Path], splits: dict[str, list[Clip]], train_groups: dict[Path, str]
) -> None:
    """Refuse recordings that are, or share a group with, clips of the val or test split.

    Groups merged by prepare (``a+b``) count by each member too.

    Raises:
        BadData: naming the first such recording and the split.
    """
    for split in ("val", "test"):
        clips = splits.get(split, [])
        paths = {resolved(clip.path) for clip in clips}
        groups = {g for clip in clips for g in (clip.group, *clip.group.split("+"))}
        for recording in recordings:
            names = {group_of(recording, train_groups), _tape(recording), recording.stem}
            shared = sorted(g for g in names & groups if g)
            if resolved(recording) in paths or shared:
                what = f"its group {shared[0]!r} is" if shared else "it is"
                raise BadData(
                    f"{what} in {split}.csv: its noise in train would leak into the {split} "
                    "figures",
                    path=recording,
                    fix="mine recordings outside val and test, or prepare again with it in train",
                )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def append_rows(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str]) -> Path:
    """Append rows to a CSV (written with ``columns`` if new), keeping its text, atomically."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    header = next(csv.reader([text.splitlines()[0]])) if text.strip() else list(columns)
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        if text.strip():
            handle.write(text if text.endswith(("\n", "\r")) else text + "\n")
        writer = csv.DictWriter(handle, fieldnames=header, restval="", extrasaction="ignore")
        if not text.strip():
            writer.writeheader()
        writer.writerows(rows)
    return path


def write_mined(data_dir: Path, added: Sequence[MinedClip], model_path: Path) -> list[Path]:
    """Append the clips to ``train.csv`` first, then record them in ``mined.csv``.

    In that order, a run killed between the two leaves clips that a rerun finds in train.
    """
    rows = [
        {
            "path": protect_cell(str(m.clip.path)),
            "label": protect_cell(m.clip.label),
            "group": protect_cell(m.clip.group),
            "start_s": _seconds(m.clip.start_s),
            "end_s": _seconds(m.clip.end_s),
        }
        for m in added
    ]
    train = append_rows(data_dir / "train.csv", rows, MANIFEST_COLUMNS)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    model = str(resolved(model_path))
    details = [
        {
            **row,
            "score": f"{m.score:.6g}",
            "class": protect_cell(m.claimed),
            "model": model,
            "mined_at": stamp,
            "status": "added",
        }
        for row, m in zip(rows, added, strict=True)
    ]
    return [train, append_rows(data_dir / MINED_CSV, details, MINED_COLUMNS)]
