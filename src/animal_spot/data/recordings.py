"""Clips cut from long recordings: Raven selections, noise between them, call-free background.

Calls come from the selections of Raven tables (one centred clip, or several shifted crops),
noise from the stretches at least a margin away from every selection, and from recordings
known to hold no target. Every draw is seeded per recording; the group is the recording.
"""

from __future__ import annotations

import itertools
import logging
import math
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .. import audio
from ..annotations import raven
from ..annotations.event import Event
from ..errors import AnimalSpotError, BadConfig, BadData
from .clips import AUDIO_SUFFIXES, Problem, ReadResult, _finish, _reason, _walk
from .manifest import Clip

logger = logging.getLogger(__name__)


def _widen(begin_s: float, end_s: float, window_s: float, duration_s: float) -> tuple[float, float]:
    """At least ``window_s`` around the selection's centre, shifted (not shrunk) to fit."""
    length_s = max(end_s - begin_s, window_s)
    if length_s >= duration_s:
        return 0.0, duration_s
    start_s = min(max((begin_s + end_s - length_s) / 2, 0.0), duration_s - length_s)
    return start_s, start_s + length_s


def _noise_starts(
    duration_s: float,
    selections: list[tuple[float, float]],
    count: int,
    window_s: float,
    margin_s: float,
    rng: np.random.Generator,
) -> list[float]:
    """Starts of ``count`` windows at least ``margin_s`` from every selection, apart if they fit."""
    gaps, cursor = [], 0.0
    for begin, end in [*sorted(selections), (duration_s + margin_s, math.inf)]:
        if begin - margin_s - cursor >= window_s:
            gaps.append((cursor, begin - margin_s))
        cursor = max(cursor, end + margin_s)
    if not gaps or count == 0:
        return []
    # Non-overlapping first: pick free slots, then place each gap's windows at random offsets.
    capacity = np.array([math.floor((b - a) / window_s + 1e-9) for a, b in gaps])
    picked = rng.choice(capacity.sum(), size=min(count, capacity.sum()), replace=False)
    which_gap = np.searchsorted(np.cumsum(capacity), picked, side="right")
    per_gap = np.bincount(which_gap, minlength=len(gaps))
    starts: list[float] = []
    for (first, last), n in zip(gaps, per_gap, strict=True):
        offsets = np.sort(rng.uniform(0.0, max(last - first - n * window_s, 0.0), n))
        starts += (first + offsets + np.arange(n) * window_s).tolist()
    # More than fit apart: let the rest overlap, drawn uniformly over every allowed start.
    room = np.array([b - a - window_s for a, b in gaps])
    weights = (room + 1e-12) / (room + 1e-12).sum()
    for index in rng.choice(len(gaps), size=count - len(starts), p=weights):
        starts.append(gaps[index][0] + rng.uniform(0.0, room[index]))
    return sorted(starts)


def _crop_starts(
    begin_s: float,
    end_s: float,
    count: int,
    window_s: float,
    duration_s: float,
    rng: np.random.Generator,
) -> list[float]:
    """Starts of ``count`` windows at random shifts that keep the selection inside the window.

    A selection longer than the window gets windows that lie wholly inside it. Identical starts
    (a recording no longer than the window) are given once.
    """
    if duration_s <= window_s:
        return [0.0]
    end_s = min(end_s, duration_s)
    if end_s - begin_s <= window_s:
        low_s, high_s = end_s - window_s, begin_s  # the whole selection stays inside
    else:
        low_s, high_s = begin_s, end_s - window_s  # as much of it as fits
    low_s = min(max(low_s, 0.0), duration_s - window_s)
    high_s = min(max(high_s, low_s), duration_s - window_s)
    return sorted({round(float(s), 6) for s in rng.uniform(low_s, high_s, count)})


def read_raven(
    raven_dir: str | Path,
    audio_dir: str | Path,
    *,
    annotation_column: str | None = None,
    window_s: float,
    noise_per_selection: float = 0,
    margin_s: float = 1.0,
    noise_label: str = "noise",
    crops_per_selection: int = 1,
    seed: int = 0,
) -> ReadResult:
    """Clips of the selections in Raven tables, plus noise clips drawn between them.

    Each recording under ``audio_dir`` is matched to its table by name (`raven.match_table`).
    With ``crops_per_selection`` 1, a call clip spans its selection, widened about its centre
    to at least ``window_s`` and shifted inside the recording. With K > 1, each selection gives
    K clips of exactly ``window_s`` at seeded random shifts that keep the whole selection inside
    (a selection longer than the window: windows inside the selection), so calls appear at
    different places in the window. ``noise_per_selection`` × (selections) noise clips of
    ``window_s`` per recording come from the stretches at least ``margin_s`` from every
    selection of that recording (labelled or not), apart where they fit, seeded per recording.
    The group is the recording's stem. A multi-file table gives each recording it names the
    selections of that recording (`raven.read_paired`). Recordings without a table, tables
    without a recording and unreadable files are reported, not used; a table whose selections
    were not all used gives one problem that counts them by reason (without a label, past the
    end of the recording, of sound files not among the recordings), with details at INFO.
    """
    if not (window_s > 0 and noise_per_selection >= 0 and margin_s >= 0):
        raise BadConfig(
            f"window_s {window_s}, noise_per_selection {noise_per_selection}, margin_s {margin_s}",
            fix="window_s must be > 0, noise_per_selection and margin_s ≥ 0",
        )
    if crops_per_selection < 1:
        raise BadConfig(
            f"crops_per_selection {crops_per_selection}", fix="give 1 (centred) or more"
        )
    raven_dir, audio_dir = Path(raven_dir), Path(audio_dir)
    recordings, walked = _walk(audio_dir, AUDIO_SUFFIXES, skip_backup=False)
    paired = raven.read_paired(recordings, raven.table_files(raven_dir), annotation_column)
    problems = [*walked, *(Problem(p, f"{why}; not used") for p, why in paired.unpaired)]
    clips: list[Clip] = []
    for recording, table in paired.tables.items():
        events, report = paired.events[recording], paired.reports[table]
        try:
            duration_s = audio.info(recording).duration_s
        except AnimalSpotError as err:
            problems.append(Problem(Path(err.path or recording), _reason(err)))
            for _ in events:
                report.skip("of an unreadable recording")
            continue
        n_calls, group = 0, recording.stem
        crop_rng = np.random.default_rng([seed, zlib.crc32(group.encode()), 1])
        for event in sorted(events, key=lambda e: (e.start_s, e.end_s)):
            if not _is_usable(event, duration_s, recording, report):
                continue
            if crops_per_selection == 1:
                start_s, end_s = _widen(event.start_s, event.end_s, window_s, duration_s)
                spans = [(start_s, end_s)]
            else:
                starts = _crop_starts(
                    event.start_s, event.end_s, crops_per_selection, window_s, duration_s, crop_rng
                )
                spans = [(s, min(s + window_s, duration_s)) for s in starts]
            for start_s, end_s in spans:
                clips.append(
                    Clip(recording, event.label, group, round(start_s, 6), round(end_s, 6))
                )
            n_calls += 1
        count = round(noise_per_selection * n_calls)
        boxes = [(event.start_s, event.end_s) for event in events]  # noise keeps off them all
        rng = np.random.default_rng([seed, zlib.crc32(group.encode())])
        starts = _noise_starts(duration_s, boxes, count, window_s, margin_s, rng)
        if len(starts) < count:
            problems.append(Problem(recording, f"room for {len(starts)} of {count} noise clips"))
        elif any(b - a < window_s - 1e-6 for a, b in itertools.pairwise(starts)):
            logger.warning(
                "%s: some noise clips overlap, too little room between selections", recording
            )
        for start_s in starts:
            end_s = start_s + window_s
            clips.append(Clip(recording, noise_label, group, round(start_s, 6), round(end_s, 6)))
    if not clips and problems:  # nothing usable: say why rather than "no clips to split"
        first = next((p for p in problems if p.path.suffix.casefold() == ".txt"), problems[0])
        raise BadData(
            f"no clips from the selection tables; first problem: {first}",
            path=raven_dir,
            fix="name each table after its recording and export it tab-separated",
        )
    return _finish_tables(clips, problems, paired.reports.values(), raven_dir)


def _is_usable(event: Event, duration_s: float, recording: Path, report: raven.TableReport) -> bool:
    """Whether a selection gives a call clip; if not, it is counted as skipped in ``report``."""
    where = f"at {event.start_s} s of {recording.name}"
    if not event.label:
        report.skip("without a label", f"{where}: no label")
    elif event.start_s >= duration_s:
        report.skip("past the end of the recording", f"{where}: past the end {duration_s} s")
    else:
        return True
    return False


def _finish_tables(
    clips: list[Clip],
    problems: list[Problem],
    reports: Iterable[raven.TableReport],
    source: Path,
) -> ReadResult:
    """One line per table with skipped selections joins the problems; every table is logged."""
    n_selections = 0
    for report in reports:
        logger.info("%s: %s", report.table, report.summary())
        if report.n_skipped:
            problems.append(Problem(report.table, report.summary()))
            n_selections += report.n_skipped
    logger.info("%s: %d clips, %d selections skipped", source, len(clips), n_selections)
    for problem in problems:
        logger.info("skipped %s", problem)
    return ReadResult(clips, problems)


def read_background(
    background_dir: str | Path,
    *,
    window_s: float,
    clips_per_recording: int | None = None,
    total_clips: int = 0,
    noise_label: str = "noise",
    seed: int = 0,
) -> ReadResult:
    """Noise clips of recordings known to hold no target: ``clips_per_recording`` each.

    Every audio file under ``background_dir`` (recursively) gives clips of ``window_s`` at
    seeded random places, apart where they fit; the group is the recording's stem, so one
    recording stays in one split. ``clips_per_recording`` None spreads ``total_clips`` evenly
    over the recordings (rounded up). Unreadable files and files shorter than the window are
    reported once and skipped.
    """
    root = Path(background_dir)
    recordings, walked = _walk(
        root, AUDIO_SUFFIXES, skip_backup=False, fix="give the folder of call-free recordings"
    )
    if clips_per_recording is None:
        clips_per_recording = math.ceil(total_clips / len(recordings))
    if not (window_s > 0 and clips_per_recording >= 0):
        raise BadConfig(
            f"window_s {window_s}, background_clips {clips_per_recording}",
            fix="window_s must be > 0 and background_clips ≥ 0",
        )
    clips: list[Clip] = []
    problems: list[Problem] = list(walked)
    for recording in recordings:
        try:
            duration_s = audio.info(recording).duration_s
        except AnimalSpotError as err:
            problems.append(Problem(recording, _reason(err)))
            continue
        if duration_s < window_s:
            problems.append(Problem(recording, f"shorter ({duration_s:g} s) than the window"))
            continue
        group = recording.stem
        rng = np.random.default_rng([seed, zlib.crc32(group.encode()), 2])
        for start_s in _noise_starts(duration_s, [], clips_per_recording, window_s, 0.0, rng):
            end_s = min(start_s + window_s, duration_s)
            clips.append(Clip(recording, noise_label, group, round(start_s, 6), round(end_s, 6)))
    return _finish(clips, problems, root)
