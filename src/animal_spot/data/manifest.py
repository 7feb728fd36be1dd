"""The clip record and its CSV manifest (``path,label,group,start_s,end_s``)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_open
from ..errors import BadTable

MANIFEST_COLUMNS = ("path", "label", "group", "start_s", "end_s")


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
            clip_path = Path(row["path"])
            if not clip_path.is_absolute():
                clip_path = path.parent / clip_path
            group = (row.get("group") or "").strip() or clip_path.stem
            clips.append(
                Clip(
                    path=clip_path,
                    label=row["label"].strip(),
                    group=group,
                    start_s=_number(row.get("start_s") or "", path, line, "start_s"),
                    end_s=_number(row.get("end_s") or "", path, line, "end_s"),
                )
            )
    return clips


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def write_manifest(clips: Iterable[Clip], path: str | Path) -> Path:
    """Write clips as a manifest CSV (absolute paths), atomically."""
    path = Path(path)
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for clip in clips:
            writer.writerow(
                [
                    str(Path(clip.path).resolve()),
                    clip.label,
                    clip.group,
                    _seconds(clip.start_s),
                    _seconds(clip.end_s),
                ]
            )
    return path


def class_names(clips: Sequence[Clip]) -> list[str]:
    """Sorted unique labels (the class index order)."""
    return sorted({clip.label for clip in clips})
