"""prepare: a source of labelled audio → audited, leak-free train/val/test manifests.

Reads one source (convention-named clips, class folders, a CSV, or Raven tables beside long
recordings), drops what cannot be read (each file reported once), merges groups that share
audio so that no stretch of tape lands in two splits, splits by group, audits the result and
writes ``train.csv``, ``val.csv``, ``test.csv``, ``audit.json`` and a ``suggested.toml``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..config import DataConfig, from_dict
from ..console import run_log
from ..conventions import NOISE_CLASS as NOISE_LABEL
from ..errors import BadConfig, BadData
from ..extensions import SPLIT_READERS
from ..verb_config import PrepareConfig
from .audit import AuditReport, audit, groups_to_merge
from .clips import Problem, ReadResult, read_clips_dir, read_csv
from .fingerprint import clip_key, find_shared_content, fingerprint_clips
from .manifest import Clip, read_manifest, text_problem, write_manifest
from .recordings import read_background, read_raven
from .splits import SPLITS, merge_groups, split_by_group
from .suggest import FILE_NAME as SUGGESTION_FILE
from .suggest import write_suggestion

log = logging.getLogger(__name__)
PREPARE_LOG = "prepare.log"


@dataclass(frozen=True)
class PrepareResult:
    """The splits written, the audit of them, and what was left out on the way."""

    out_dir: Path
    splits: dict[str, list[Clip]]
    report: AuditReport
    problems: list[Problem] = field(default_factory=list)
    merged_groups: list[tuple[str, str]] = field(default_factory=list)
    suggested_config: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.report.to_dict(),
            "split_sizes": {name: len(clips) for name, clips in self.splits.items()},
            "skipped_files": [{"path": str(p.path), "reason": p.reason} for p in self.problems],
            "merged_groups": [list(pair) for pair in self.merged_groups],
            "suggested_config": None
            if self.suggested_config is None
            else str(self.suggested_config),
        }

    def format_text(self) -> str:
        """The audit, the split sizes and the files left out, for a terminal."""
        sizes = ", ".join(f"{name} {len(clips)}" for name, clips in self.splits.items())
        lines = [f"splits: {sizes} clips", self.report.format_text()]
        if self.merged_groups:
            lines.append(
                f"merged {len(self.merged_groups)} pairs of groups that share audio, "
                "so each shared stretch stays in one split"
            )
        if self.problems:
            lines.append(f"skipped {len(self.problems)} files:")
            lines.extend(f"  {p}" for p in self.problems[:20])
            if len(self.problems) > 20:
                lines.append(f"  … and {len(self.problems) - 20} more (see audit.json)")
        return "\n".join(lines)


def read_source(
    *,
    clips_dir: str | Path | None = None,
    csv: str | Path | None = None,
    path_column: str = "path",
    label_column: str = "label",
    group_column: str | None = None,
    raven_dir: str | Path | None = None,
    audio_dir: str | Path | None = None,
    annotation_column: str | None = None,
    window_s: float = 1.0,
    noise_per_selection: float = 0,
    margin_s: float = 1.0,
    crops_per_selection: int = 1,
    background_dir: str | Path | None = None,
    background_clips: int | None = None,
    seed: int = 0,
) -> ReadResult:
    """Clips from exactly one source, plus noise clips of call-free recordings if given.

    ``background_dir`` adds ``background_clips`` noise clips of ``window_s`` per recording
    (None: as many in all as the source has selections, or call clips, spread evenly).
    """
    clips, problems = _read_one_source(
        clips_dir=clips_dir,
        csv=csv,
        path_column=path_column,
        label_column=label_column,
        group_column=group_column,
        raven_dir=raven_dir,
        audio_dir=audio_dir,
        annotation_column=annotation_column,
        window_s=window_s,
        noise_per_selection=noise_per_selection,
        margin_s=margin_s,
        crops_per_selection=crops_per_selection,
        seed=seed,
    )
    clips, problems = _drop_unsafe_text(clips, problems)
    if background_dir is None:
        return ReadResult(clips, problems)
    n_calls = sum(c.label.casefold() != NOISE_LABEL for c in clips)
    background = read_background(
        background_dir,
        window_s=window_s,
        clips_per_recording=background_clips,
        total_clips=math.ceil(n_calls / crops_per_selection),
        noise_label=NOISE_LABEL,
        seed=seed,
    )
    return ReadResult([*clips, *background.clips], [*problems, *background.problems])


def _drop_unsafe_text(clips: list[Clip], problems: list[Problem]) -> ReadResult:
    """Leave out clips whose label or group would break a table later, each reported once."""
    kept, problems = [], list(problems)
    reported = {(p.path, p.reason) for p in problems}
    for clip in clips:
        reason = text_problem(clip.label, "label") or text_problem(clip.group, "group")
        if reason is None:
            kept.append(clip)
        elif (clip.path, reason) not in reported:
            reported.add((clip.path, reason))
            problems.append(Problem(clip.path, reason))
    return ReadResult(kept, problems)


def _read_one_source(
    *,
    clips_dir: str | Path | None,
    csv: str | Path | None,
    path_column: str,
    label_column: str,
    group_column: str | None,
    raven_dir: str | Path | None,
    audio_dir: str | Path | None,
    annotation_column: str | None,
    window_s: float,
    noise_per_selection: float,
    margin_s: float,
    crops_per_selection: int,
    seed: int,
) -> ReadResult:
    given = [
        name
        for name, value in (("--clips_dir", clips_dir), ("--csv", csv), ("--raven_dir", raven_dir))
        if value is not None
    ]
    if len(given) != 1:
        raise BadConfig(
            f"give exactly one source, not {len(given)} ({', '.join(given) or 'none'})",
            fix="use --clips_dir DIR, --csv FILE, or --raven_dir DIR --audio_dir DIR",
        )
    if crops_per_selection != 1 and raven_dir is None:
        raise BadConfig(
            f"--crops_per_selection {crops_per_selection} needs Raven tables",
            fix="use it with --raven_dir DIR --audio_dir DIR",
        )
    if clips_dir is not None:
        return read_clips_dir(clips_dir)
    if csv is not None:
        return read_csv(csv, path_column, label_column, group_column)
    if audio_dir is None:
        raise BadConfig("--raven_dir needs --audio_dir, the folder of the recordings")
    return read_raven(
        raven_dir,  # type: ignore[arg-type]
        audio_dir,
        annotation_column=annotation_column,
        window_s=window_s,
        noise_per_selection=noise_per_selection,
        margin_s=margin_s,
        noise_label=NOISE_LABEL,
        crops_per_selection=crops_per_selection,
        seed=seed,
    )


def split_and_audit(
    clips: Sequence[Clip],
    *,
    fractions: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    merge_shared_content: bool = True,
    drop_silent: bool = False,
    workers: int = 1,
) -> tuple[dict[str, list[Clip]], AuditReport, list[Problem], list[tuple[str, str]]]:
    """Fingerprint, drop broken clips, merge groups sharing audio, split by group, audit."""
    prints = fingerprint_clips(clips, workers=workers)
    problems: list[Problem] = []
    kept = []
    for clip in clips:
        fingerprint = prints[clip_key(clip)]
        if fingerprint.is_broken:
            problems.append(Problem(clip.path, str(fingerprint.error)))
        elif fingerprint.n_samples == 0:
            problems.append(Problem(clip.path, "holds no samples"))
        elif drop_silent and fingerprint.peak < 1e-3:
            problems.append(Problem(clip.path, f"silent (peak {fingerprint.peak:.2g} < 1e-3)"))
        else:
            kept.append(clip)
    if clips and not kept:
        raise BadData(
            f"none of the {len(clips)} clips can be used; first: {problems[0]}",
            fix="fix or replace the files named in the message",
        )
    shared = find_shared_content({clip_key(c): prints[clip_key(c)] for c in kept})
    merges = groups_to_merge(shared, kept) if merge_shared_content else []
    kept = merge_groups(kept, merges)
    splits = split_by_group(kept, fractions, seed)
    report = audit(splits, prints, shared=shared)
    return splits, report, problems, merges


def write_prepared(result: PrepareResult) -> PrepareResult:
    """``train.csv``, ``val.csv``, ``test.csv`` and ``audit.json`` into ``result.out_dir``."""
    for name in SPLITS:
        write_manifest(result.splits.get(name, []), result.out_dir / f"{name}.csv")
    with atomic_open(result.out_dir / "audit.json", "w", encoding="utf-8") as handle:
        json.dump(result.to_dict(), handle, indent=2)
    return result


def prepare(config: PrepareConfig | str | Path, **options: Any) -> PrepareResult:
    """Read one source (see ``read_source``), split it without leaks, audit it, write it.

    Besides the manifests and ``audit.json``, ``suggested.toml`` holds a front end fitted to
    the data (see `suggest`), and ``prepare.log`` what the run said.

    Args:
        config: a `PrepareConfig`, or the output folder with the config's fields as keyword
            arguments (``prepare("prepared", clips_dir="clips", seed=1)``).
    """
    if not isinstance(config, PrepareConfig):
        config = from_dict(PrepareConfig, {**options, "out_dir": config}, "prepare")
    elif options:
        raise TypeError("prepare(PrepareConfig) takes no other arguments")
    with run_log(config.out_dir / PREPARE_LOG):
        return _prepare(config)


def _prepare(config: PrepareConfig) -> PrepareResult:
    clips, problems = read_source(**config.source())  # type: ignore[arg-type]
    splits, report, dropped, merges = split_and_audit(
        clips,
        fractions=config.split,
        seed=config.seed,
        merge_shared_content=config.merge_shared_content,
        drop_silent=config.drop_silent,
        workers=config.workers,
    )
    suggested = write_suggestion(
        [c for part in splits.values() for c in part],
        config.out_dir / SUGGESTION_FILE,
        raven_dir=config.raven_dir,
        annotation_column=config.annotation_column,
        window_s=config.window_s,
    )
    result = PrepareResult(config.out_dir, splits, report, [*problems, *dropped], merges, suggested)
    return write_prepared(result)


def audit_folder(folder: str | Path, *, workers: int = 1) -> AuditReport:
    """Audit the manifests of a prepared folder again and rewrite its ``audit.json``."""
    folder = Path(folder)
    if not is_prepared(folder):
        raise BadConfig("no train.csv manifest here", path=folder, fix="run animal-spot prepare")
    splits = {
        name: read_manifest(folder / f"{name}.csv")
        for name in SPLITS
        if (folder / f"{name}.csv").is_file()
    }
    report = audit(splits, workers=workers)
    target = folder / "audit.json"
    # Keep what prepare recorded (skipped files, merged groups); replace the checks.
    previous = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else {}
    with atomic_open(target, "w", encoding="utf-8") as handle:
        json.dump({**previous, **report.to_dict()}, handle, indent=2)
    return report


def is_prepared(folder: Path) -> bool:
    """A folder holding our manifests (header ``path,label,...``), not ANIMAL-SPOT's lists."""
    manifest = folder / "train.csv"
    if not manifest.is_file():
        return False
    with manifest.open(encoding="utf-8") as handle:
        return handle.readline().strip().startswith("path,label")


def load_splits(data: DataConfig, fallback_dir: Path | None = None) -> dict[str, list[Clip]]:
    """The splits of ``data.data_dir``: its manifests, or a new split of its clips.

    A folder of clips is split on the fly and the manifests are written into it (as ANIMAL-SPOT
    writes its split files), or into ``fallback_dir`` when it is read-only, so the next run
    reuses the same split.
    """
    if data.data_dir is None:
        raise BadConfig("no data folder given", fix="pass --data_dir DIR")
    folder = Path(data.data_dir)
    if is_prepared(folder):
        return {
            name: read_manifest(folder / f"{name}.csv")
            if (folder / f"{name}.csv").is_file()
            else []
            for name in SPLITS
        }
    for name in SPLIT_READERS:  # another program's split files (ANIMAL-SPOT's): reuse them
        found = SPLIT_READERS.get(name)(folder)
        if found is not None:
            return found
    if fallback_dir is not None and is_prepared(fallback_dir):
        return load_splits(dataclasses.replace(data, data_dir=fallback_dir))
    clips, problems = read_clips_dir(folder)
    splits, report, dropped, merges = split_and_audit(
        clips, fractions=data.split, seed=data.split_seed, drop_silent=data.filter_broken_audio
    )
    out_dir = folder if os.access(folder, os.W_OK) else (fallback_dir or folder)
    result = write_prepared(PrepareResult(out_dir, splits, report, [*problems, *dropped], merges))
    for problem in result.problems:
        log.warning("skipped %s", problem)
    log.info("split %s into %s\n%s", folder, out_dir, result.format_text())
    return splits
