"""Window scores → events: per-class thresholds, merging, gaps, minimum duration (pure).

A window counts for class ``c`` when ``c`` is not the noise class and its score reaches
``c``'s threshold; where several classes do, the highest score wins.
A window no class claims is noise. Each class's windows are merged on their own (another class
in between does not split them): consecutive windows become one event, and events of one class
whose gap is at most ``max_gap_s`` become one. Events shorter than ``min_duration_s`` are
dropped. An event's score is the highest score of its class among its windows.

How much time a window speaks for (``span``):

- ``centre`` (default): the stretch around its centre up to the midpoints towards its
  neighbours, so consecutive windows tile the recording; the first window also covers the file's
  head and the last its tail. Boundaries land within about half a hop of where the calls are.
- ``window``: the whole window, as ANIMAL-SPOT's evaluation merged them; events then reach
  about one window beyond a call on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..annotations.event import Event
from ..conventions import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from ..conventions import NOISE_CLASS as NOISE_LABEL
from ..conventions import EventSpan
from .scores import ScoreTrack

Span = EventSpan


def noise_class_of(classes: tuple[str, ...]) -> str | None:
    """The class meaning "nothing here" (``noise``, any case), if there is one."""
    return next((c for c in classes if c.lower() == NOISE_LABEL), None)


def window_labels(
    track: ScoreTrack, thresholds: Mapping[str, float], default: float = DEFAULT_THRESHOLD
) -> np.ndarray:
    """Index of the class each window counts for, or -1 for noise: ``(n_windows,)``."""
    noise = noise_class_of(track.classes)
    limits = np.array([thresholds.get(c, default) for c in track.classes])
    passing = track.probs >= limits  # (n_windows, n_classes)
    if noise is not None:
        passing[:, track.classes.index(noise)] = False
    masked = np.where(passing, track.probs, -np.inf)
    labels = masked.argmax(axis=1) if len(track) else np.zeros(0, dtype=np.int64)
    return np.where(passing.any(axis=1), labels, -1)


def owned_spans(track: ScoreTrack, span: Span = "centre") -> tuple[np.ndarray, np.ndarray]:
    """The stretch of time each window speaks for: starts and ends ``(n_windows,)``."""
    if span == "window" or len(track) < 2:
        return track.start_s.astype(float), track.end_s.astype(float)
    if span != "centre":
        raise ValueError(f"span = {span!r}; choose 'centre' or 'window'")
    centres = (track.start_s + track.end_s) / 2
    middles = (centres[:-1] + centres[1:]) / 2
    starts = np.concatenate([[track.start_s[0]], middles])
    ends = np.concatenate([middles, [track.end_s[-1]]])
    return starts, ends


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[first, last]`` index pairs of the runs of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def merge_intervals(
    intervals: list[tuple[float, float, float]], max_gap_s: float
) -> list[tuple[float, float, float]]:
    """Merge ``(start_s, end_s, score)`` intervals that overlap or lie ≤ ``max_gap_s`` apart.

    The merged score is the maximum. Input in any order; output sorted by start.
    """
    merged: list[tuple[float, float, float]] = []
    for start, end, score in sorted(intervals):
        if merged and start - merged[-1][1] <= max_gap_s:
            first, last, best = merged[-1]
            merged[-1] = (first, max(last, end), max(best, score))
        else:
            merged.append((start, end, score))
    return merged


def from_scores(
    track: ScoreTrack,
    thresholds: Mapping[str, float] | None = None,
    *,
    max_gap_s: float = 0.0,
    min_duration_s: float = 0.0,
    noise_in_anno: bool = False,
    span: Span = "centre",
    low_hz: float | None = None,
    high_hz: float | None = None,
    default_threshold: float = DEFAULT_THRESHOLD,
) -> list[Event]:
    """Events of one recording's window scores, sorted by start time.

    Args:
        track: the window scores.
        thresholds: per-class thresholds; classes missing from it use ``default_threshold``.
        max_gap_s: events of one class at most this far apart are merged.
        min_duration_s: shorter events (after merging) are dropped.
        noise_in_anno: also return the noise stretches, labelled with the noise class
            (or ``noise`` when the model has none), scored by the noise class's probability
            where there is one.
        span: how much time a window speaks for (see the module docstring).
        low_hz: Low Freq of every event (the model's fmin).
        high_hz: High Freq of every event (the model's fmax).
    """
    labels = window_labels(track, thresholds or {}, default_threshold)
    starts, ends = owned_spans(track, span)
    noise = noise_class_of(track.classes)
    wanted: list[tuple[str, np.ndarray, np.ndarray]] = []  # (label, window mask, scores)
    for index, label in enumerate(track.classes):
        if label != noise:
            wanted.append((label, labels == index, track.probs[:, index]))
    if noise_in_anno:
        noise_scores = track.column(noise) if noise else 1 - track.probs.max(axis=1, initial=0)
        wanted.append((noise or NOISE_LABEL, labels == -1, noise_scores))
    events = []
    for label, mask, scores in wanted:
        intervals = [
            (float(starts[a]), float(ends[b]), float(scores[a : b + 1].max()))
            for a, b in _runs(mask)
        ]
        for start, end, score in merge_intervals(intervals, max_gap_s):
            if end - start >= min_duration_s:
                events.append(Event(start, end, label, score, low_hz, high_hz))
    return sorted(events, key=lambda e: (e.start_s, e.end_s, e.label))
