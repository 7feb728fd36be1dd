"""ANIMAL-SPOT's persisted split (notes §1): the ``train``/``val``/``test`` index files → clips.

ANIMAL-SPOT writes, per folder of clips, ``train.csv``/``val.csv``/``test.csv`` (one column, no
header) and, in the data folder, index files ``train``, ``val``, ``test`` (no extension) that
list those CSVs. When all three index files exist, that split is reused as it is: blank and
``#`` lines are skipped, a listed CSV that is missing is an error, and each row's basename is
re-joined to its CSV's folder (so a moved data folder still works).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ..data.clips import parse_clip_name
from ..data.manifest import Clip
from ..data.splits import SPLITS
from ..errors import BadData, BadTable

log = logging.getLogger(__name__)


def has_legacy_split(data_dir: str | Path) -> bool:
    """Whether ``data_dir`` holds all three ANIMAL-SPOT index files."""
    folder = Path(data_dir)
    found = [name for name in SPLITS if (folder / name).is_file()]
    if found and len(found) < len(SPLITS):
        log.warning("%s: only the index files %s exist; ignoring them", folder, ", ".join(found))
    return len(found) == len(SPLITS)


def _resolve_csv(entry: str, data_dir: Path) -> Path | None:
    """The CSV an index line names: as written, under data_dir, or its tail under data_dir."""
    path = Path(entry)
    candidates = [path] if path.is_absolute() else [data_dir / path, path]
    parts = path.parts[1:] if path.is_absolute() else path.parts
    candidates += [data_dir.joinpath(*parts[i:]) for i in range(1, len(parts))]
    return next((c for c in candidates if c.is_file()), None)


def read_index_file(index: Path, data_dir: Path) -> list[Path]:
    """The CSV files an index file lists, in order, each once.

    Raises:
        BadData: a listed CSV does not exist.
    """
    csvs: list[Path] = []
    for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        found = _resolve_csv(entry, data_dir)
        if found is None:
            raise BadData(
                f"line {number} lists {entry}, which does not exist",
                path=index,
                fix=f"restore that CSV, or delete the index files train, val, test in {data_dir}"
                " to split again",
            )
        if found not in csvs:  # ANIMAL-SPOT appends, so a CSV may be listed twice
            csvs.append(found)
    return csvs


def read_split_csv(csv_path: Path) -> tuple[list[Clip], list[str]]:
    """Clips of one split CSV, and the rows left out (badly named or missing files)."""
    clips: list[Clip] = []
    skipped: list[str] = []
    try:
        handle = csv_path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise BadTable(f"cannot be read ({err.strerror})", path=csv_path) from None
    with handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip():
                continue
            path = csv_path.parent / Path(row[0].strip()).name
            try:
                name = parse_clip_name(path)
            except BadData as err:
                skipped.append(str(err))
                continue
            if not path.is_file():
                skipped.append(f"{path}: listed in {csv_path} but missing")
                continue
            clips.append(Clip(path, name.label, name.group))
    return clips, skipped


def read_legacy_split(data_dir: str | Path) -> dict[str, list[Clip]]:
    """The clips of each split that ANIMAL-SPOT's index files in ``data_dir`` describe.

    Raises:
        BadData: an index file lists a missing CSV, or no clip is left in ``train``.
    """
    folder = Path(data_dir)
    splits: dict[str, list[Clip]] = {}
    skipped: list[str] = []
    for name in SPLITS:
        clips: list[Clip] = []
        for csv_path in read_index_file(folder / name, folder):
            found, left_out = read_split_csv(csv_path)
            clips += found
            skipped += left_out
        splits[name] = clips
    if skipped:
        log.warning(
            "%s: %d listed clips left out (as ANIMAL-SPOT drops them); first: %s",
            folder,
            len(skipped),
            skipped[0],
        )
    if not splits["train"]:
        raise BadData("ANIMAL-SPOT's train split lists no usable clip", path=folder / "train")
    log.info(
        "%s: reusing ANIMAL-SPOT's split (%s)",
        folder,
        ", ".join(f"{name} {len(clips)}" for name, clips in splits.items()),
    )
    return splits
