"""One shard of a prediction run, and the merge of all shards' work (see `shards`)."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

from .. import audio, console
from ..atomic import folder_lock
from ..cells import printable
from ..config import PredictConfig, from_dict, to_dict
from ..errors import BadAudio, BadConfig
from .outputs import (
    COMBINED_TABLE,
    PREDICT_LOG,
    SUMMARY_JSON,
    output_bases,
    read_done_tables,
    write_errors,
)
from .pipeline import Scorer, thresholds_for
from .shards import SHARDS_DIR, Shard, assign
from .steps import (
    PredictResult,
    durations_of,
    plan,
    report_errors,
    scan_recordings,
    score_all,
    write_folder_files,
)
from .summary import PREDICTED, RunTiming, read_summary, write_summary

log = logging.getLogger(__name__)

_SHARD_FOLDER = re.compile(r"(\d+)-of-(\d+)")
_FIX_MISSING = (
    "run the missing shards (the same predict command with --shard I/N; a killed one resumes), "
    "then animal-spot merge OUTPUT_DIR"
)


def _duration_or_zero(recording: Path) -> float:
    try:
        return audio.info(recording).duration_s
    except BadAudio:
        return 0.0  # unreadable: one shard reports it


def share(recordings: list[tuple[Path, str]], shard: Shard) -> tuple[list[tuple[Path, str]], float]:
    """This shard's recordings (in input order) and the hours of audio in all of them."""
    durations = [(name, _duration_or_zero(path)) for path, name in recordings]
    shards = assign(durations, shard.count)
    mine = [pair for pair, owner in zip(recordings, shards, strict=True) if owner == shard.index]
    return mine, sum(d for _, d in durations) / 3600


def predict_shard(
    shard: Shard,
    recordings: list[tuple[Path, str]],
    scan_errors: list[tuple[Path, str]],
    scorer: Scorer,
    cfg: PredictConfig,
    progress: bool,
    report: bool | None,
) -> PredictResult:
    """Score this shard's share into the common folder, record it, merge when it is the last."""
    output_dir = Path(cfg.output_dir)
    folder = shard.folder(output_dir)
    with (
        folder_lock(folder, f"predicting shard {shard} into"),
        console.run_log(folder / PREDICT_LOG),
    ):
        mine, total_h = share(recordings, shard)
        errors = list(scan_errors) if shard.index == 0 else []  # the scan's finds, once
        n_inputs = len(mine) + len(errors)
        bases = output_bases([name for _, name in recordings])
        done, pending = plan(mine, output_dir, cfg, errors, bases)
        log.info(
            "shard %s: %d of %d recordings, %.2f h to score of %.2f h in all",
            shard,
            len(mine),
            len(recordings),
            sum(p[3] for p in pending) / 3600,
            total_h,
        )
        predicted, timing = score_all(pending, scorer, cfg, progress, errors, done)
        counts = read_done_tables(done, errors)[2]
        write_errors(folder, errors)
        write_summary(
            output_dir,
            cfg,
            classes=scorer.classes,
            thresholds=thresholds_for(scorer, cfg.threshold),
            done=done,
            durations_s=durations_of(pending, predicted),
            counts=counts,
            errors=errors,
            timing=timing,
            to=folder / SUMMARY_JSON,
            extra={"shard": str(shard), "config": to_dict(cfg)},
        )
    merged = merge_if_complete(output_dir, report)
    report_errors(errors, n_inputs, folder, any_done=bool(done))
    combined = merged.combined_table if merged else None
    return PredictResult.of_run(output_dir, predicted, done, errors, counts, timing.hours, combined)


class ShardsUnfinished(BadConfig):
    """Some recordings of a sharded run are not done yet."""


def _shard_runs(output_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    """The shard count of the newest shard summary, and every summary of that count.

    Raises:
        BadConfig: no shard has finished in this folder.
        ShardsUnfinished: a shard of that count has written no summary yet.
    """
    found: dict[tuple[int, int], Path] = {}
    for path in (output_dir / SHARDS_DIR).glob(f"*/{SUMMARY_JSON}"):
        match = _SHARD_FOLDER.fullmatch(path.parent.name)
        if match:
            found[(int(match[1]), int(match[2]))] = path
    if not found:
        raise BadConfig(
            "no shard has finished here",
            path=output_dir,
            fix="give the output folder of predict --shard I/N runs",
        )
    newest = max(found, key=lambda key: found[key].stat().st_mtime_ns)
    count = newest[1]
    missing = [str(i) for i in range(1, count + 1) if (i, count) not in found]
    if missing:
        raise ShardsUnfinished(
            f"shard(s) {', '.join(missing)} of {count} have not finished",
            path=output_dir,
            fix=_FIX_MISSING,
        )
    runs = [read_summary(found[(i, count)].parent) for i in range(1, count + 1)]
    if any(run is None or not isinstance(run.get("config"), dict) for run in runs):
        raise BadConfig(
            "a shard's prediction.json cannot be read",
            path=output_dir / SHARDS_DIR,
            fix="rerun that shard (the same command)",
        )
    return count, [run for run in runs if run is not None]


def merge(output_dir: str | Path, *, report: bool | None = None) -> PredictResult:
    """The folder's combined table, ``errors.csv``, ``prediction.json`` and report from its shards.

    Raises:
        BadConfig: no shard finished in ``output_dir``, or another process writes into it.
        ShardsUnfinished: a shard has not finished or some recordings are not done yet.
    """
    output_dir = Path(output_dir).absolute()
    count, runs = _shard_runs(output_dir)
    cfg = from_dict(PredictConfig, runs[0]["config"], "shard config")
    cfg = dataclasses.replace(cfg, overwrite=False, shard=None, output_dir=output_dir)
    with folder_lock(output_dir, "merging shards into"):
        recordings, errors = scan_recordings(Path(cfg.input_file or ""))
        done, pending = plan(recordings, output_dir, cfg, errors)
        failed = {
            str(entry.get("file")): str(entry.get("reason"))
            for run in runs
            for entry in run.get("errors") or []
            if isinstance(entry, dict)
        }
        missing = []
        for recording, name, _, _ in pending:
            reason = failed.get(printable(str(recording)))
            if reason is None:
                missing.append(name)
            else:
                errors.append((recording, reason))
        if missing:
            raise ShardsUnfinished(
                f"{len(missing)} recording(s) not predicted yet, e.g. {printable(missing[0])}",
                path=output_dir,
                fix=_FIX_MISSING,
            )
        scored = {
            str(entry["path"]): float(entry["duration_s"])
            for run in runs
            for entry in run.get("recordings") or []
            if entry.get("status") == PREDICTED and entry.get("duration_s") is not None
        }
        durations = {
            recording: scored[key]
            for recording, _, _ in done
            if (key := printable(str(recording.absolute()))) in scored
        }
        timing = RunTiming(
            sum(float(run.get("hours") or 0.0) for run in runs),
            max(float(run.get("wall_s") or 0.0) for run in runs),  # the shards ran side by side
        )
        counts = write_folder_files(
            output_dir,
            cfg,
            classes=list(runs[0].get("classes") or []),
            thresholds=runs[0].get("thresholds"),
            done=done,
            durations_s=durations,
            errors=errors,
            timing=timing,
            report=report,
        )
    log.info("merged %d shards: %d recordings, %d events", count, len(counts), sum(counts.values()))
    return PredictResult(
        output_dir=output_dir,
        predicted=[],
        skipped=[recording for recording, _, _ in done],
        errors=errors,
        n_events=sum(counts.values()),
        hours=timing.hours,
        combined_table=output_dir / COMBINED_TABLE,
    )


def merge_if_complete(output_dir: Path, report: bool | None) -> PredictResult | None:
    """`merge` when every shard is done (this one was the last); else None, said in a log line."""
    try:
        return merge(output_dir, report=report)
    except ShardsUnfinished as err:
        log.info("not merging yet: %s; the last shard to finish merges", err)
    except BadConfig as err:  # another shard is merging right now
        log.info("not merging: %s", err)
    return None


__all__ = ["ShardsUnfinished", "merge", "merge_if_complete", "predict_shard", "share"]
