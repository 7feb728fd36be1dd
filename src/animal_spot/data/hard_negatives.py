"""Where a model errs on target-free audio: free stretches, false positives, clip spans (pure).

A window is *free* when it lies wholly inside a target-free stretch: the whole recording, or,
with reference selections, the parts at least ``margin_s`` from every selection. Free windows
that a class claims (`events.window_labels`) are false positives, merged into events by the
model's own rules (`events.from_scores`). Each event offers noise clips of the model's window
length centred on its windows, best first; a clip overlapping a better one of the same
recording by more than half is dropped, so a long event gives several clips along it. The
recording's clips are ranked round by round — every event's best, then every event's second
best, … — each round by score, so one long event cannot crowd out the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..annotations.event import Event
from ..prediction import events as event_rules
from ..prediction.scores import ScoreTrack

Span = tuple[float, float]
_EPS_S = 1e-6


@dataclass(frozen=True, slots=True)
class Candidate:
    """A noise clip ``[start_s, end_s)`` cut around a false positive, and what the model said."""

    start_s: float
    end_s: float
    score: float  # the claimed class's probability in the window it is centred on
    label: str  # the class the model claimed
    event: int  # index of its false-positive event in the recording
    rank: int  # 0 for its event's best clip, 1 for the next, ...


def free_stretches(
    duration_s: float, selections: Iterable[Span] = (), margin_s: float = 0.0
) -> list[Span]:
    """The parts of ``[0, duration_s]`` at least ``margin_s`` from every selection, in order."""
    stretches, cursor = [], 0.0
    for begin_s, end_s in [*sorted(selections), (duration_s + margin_s, duration_s + margin_s)]:
        if begin_s - margin_s > cursor:
            stretches.append((cursor, min(begin_s - margin_s, duration_s)))
        cursor = max(cursor, end_s + margin_s)
    return [(a, b) for a, b in stretches if b > a]


def stretch_of(start_s: float, end_s: float, stretches: Sequence[Span]) -> Span | None:
    """The stretch holding all of ``[start_s, end_s]``, or None."""
    return next((s for s in stretches if s[0] - _EPS_S <= start_s and end_s <= s[1] + _EPS_S), None)


def overlap_fraction(a: Span, b: Span) -> float:
    """Shared time of two spans over the shorter one's length: 1 = one lies inside the other."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    shortest = min(a[1] - a[0], b[1] - b[0])
    return max(shared, 0.0) / shortest if shortest > 0 else float(shared >= 0)


def _free_mask(track: ScoreTrack, stretches: Sequence[Span], duration_s: float) -> np.ndarray:
    ends = np.minimum(track.end_s, duration_s)  # a recording shorter than n_fft: a padded window
    pairs = zip(track.start_s, ends, strict=True)
    return np.array([stretch_of(a, b, stretches) is not None for a, b in pairs], dtype=bool)


def _masked(track: ScoreTrack, free: np.ndarray) -> ScoreTrack:
    # Scores below every threshold (even 0): windows near a target never become false positives.
    probs = np.where(free[:, None], track.probs, -1.0)
    return ScoreTrack(track.file, track.start_s, track.end_s, probs, track.classes)


def false_positives(
    track: ScoreTrack,
    thresholds: Mapping[str, float],
    stretches: Sequence[Span],
    duration_s: float,
    *,
    max_gap_s: float = 0.0,
    min_duration_s: float = 0.0,
    span: event_rules.Span = "centre",
) -> tuple[ScoreTrack, list[Event]]:
    """The track with non-free windows masked, and the events the model finds in free windows."""
    masked = _masked(track, _free_mask(track, stretches, duration_s))
    found = event_rules.from_scores(
        masked, thresholds, max_gap_s=max_gap_s, min_duration_s=min_duration_s, span=span
    )
    return masked, found


def centred_clip(
    start_s: float, end_s: float, clip_s: float, stretch: Span, duration_s: float
) -> Span:
    """``clip_s`` around the window's centre, shifted (not shrunk) into the stretch and file."""
    low, high = max(stretch[0], 0.0), min(stretch[1], duration_s)
    if high - low <= clip_s:
        return low, high
    first = min(max((start_s + end_s - clip_s) / 2, low), high - clip_s)
    return first, first + clip_s


def candidates(
    masked: ScoreTrack,
    found: Sequence[Event],
    thresholds: Mapping[str, float],
    stretches: Sequence[Span],
    duration_s: float,
    clip_s: float,
    *,
    span: event_rules.Span = "centre",
) -> list[Candidate]:
    """Every event's clips, best first within the event, none overlapping a better by > half."""
    labels = event_rules.window_labels(masked, thresholds)
    owned_start, owned_end = event_rules.owned_spans(masked, span)
    result: list[Candidate] = []
    for number, event in enumerate(found):
        column = masked.classes.index(event.label)
        inside = (
            (labels == column)
            & (owned_start >= event.start_s - _EPS_S)
            & (owned_end <= event.end_s + _EPS_S)
        )
        windows = np.flatnonzero(inside)
        order = windows[np.argsort(-masked.probs[windows, column], kind="stable")]
        kept: list[Span] = []
        for index in order:
            start_s, end_s = float(masked.start_s[index]), float(masked.end_s[index])
            stretch = stretch_of(start_s, min(end_s, duration_s), stretches)
            if stretch is None:
                continue
            clip = centred_clip(start_s, end_s, clip_s, stretch, duration_s)
            if any(overlap_fraction(clip, other) > 0.5 for other in kept):
                continue
            score = float(masked.probs[index, column])
            result.append(Candidate(*clip, score, event.label, number, len(kept)))
            kept.append(clip)
    return result


def select(found: Sequence[Candidate], max_count: int) -> list[Candidate]:
    """At most ``max_count`` clips, round by round (module docstring), none overlapping > half."""
    chosen: list[Candidate] = []
    for candidate in sorted(found, key=lambda c: (c.rank, -c.score, c.start_s)):
        if len(chosen) == max_count:
            break
        span = (candidate.start_s, candidate.end_s)
        if all(overlap_fraction(span, (c.start_s, c.end_s)) <= 0.5 for c in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c.start_s)
