"""Clips whose files can still be read: checked once per file before training starts.

A prepared folder can outlive its audio (a file deleted, re-exported badly or cut short after
`prepare`); training hours on it must not end at the first such clip. Each file's header is
read once; clips of unreadable or empty files, and spans starting past a file's end, are left
out and reported (20 lines, then a count).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import audio
from ..errors import AnimalSpotError, BadData
from .manifest import Clip

log = logging.getLogger(__name__)
_SHOWN = 20


def _file_problem(path: Path) -> tuple[str | None, float]:
    """Why ``path`` cannot give clips (or None), and its duration in seconds."""
    try:
        info = audio.info(path)
    except AnimalSpotError as err:
        text = str(err)
        return (text.removeprefix(f"{err.path}: ") if err.path else text), 0.0
    if info.n_samples == 0:
        return "holds no samples", 0.0
    return None, info.duration_s


def usable_splits(splits: Mapping[str, Sequence[Clip]]) -> dict[str, list[Clip]]:
    """``splits`` without the clips whose audio cannot be read; each left out clip reported.

    Raises:
        BadData: no clip of a split is left.
    """
    files: dict[Path, tuple[str | None, float]] = {}
    kept: dict[str, list[Clip]] = {}
    dropped: list[tuple[str, Clip, str]] = []
    for phase, clips in splits.items():
        kept[phase] = []
        for clip in clips:
            if clip.path not in files:
                files[clip.path] = _file_problem(clip.path)
            problem, duration_s = files[clip.path]
            if problem is None and clip.start_s is not None and clip.start_s >= duration_s:
                problem = f"the clip starts at {clip.start_s:g} s, past the end ({duration_s:g} s)"
            if problem is None:
                kept[phase].append(clip)
            else:
                dropped.append((phase, clip, problem))
    for phase, clip, problem in dropped[:_SHOWN]:
        log.warning("%s: %s; left out of %s", clip.path, problem, phase)
    if dropped:
        more = f" ({len(dropped) - _SHOWN} not listed)" if len(dropped) > _SHOWN else ""
        log.warning("%d clips left out: their audio cannot be used%s", len(dropped), more)
    for phase, clips in kept.items():
        if splits[phase] and not clips:
            first = next(d for d in dropped if d[0] == phase)
            raise BadData(
                f"no clip of the {phase} split can be read (e.g. {first[1].path}: {first[2]})",
                fix="restore the audio files, or run `animal-spot prepare` again",
            )
    return kept
