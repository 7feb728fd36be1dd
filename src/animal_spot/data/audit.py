"""Audit train/val/test splits for leaks before training: shared audio, label conflicts, rates."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from .fingerprint import (
    ClipFingerprint,
    ClipKey,
    SharedContent,
    clip_key,
    find_shared_content,
    fingerprint_clips,
)
from .fingerprint import groups_to_merge as groups_to_merge  # merged before splitting
from .manifest import Clip

logger = logging.getLogger(__name__)

RATE_MARGIN = 0.1
"""A rate-only baseline this far above chance counts as sample-rate leakage."""
_EXAMPLES = 3  # examples per check in ``format_text``
_CHECKS = (  # (report field, headline, what its findings count)
    ("cross_split_duplicates", "cross-split duplicates", "pairs of identical clips"),
    ("cross_split_overlaps", "cross-split overlaps", "pairs of clips sharing audio"),
    ("label_conflicts", "label conflicts", "sounds under two labels"),
    ("group_overlaps", "group overlaps", "pairs of groups to merge before splitting"),
    ("split_leaks", "groups in several splits", "groups or recordings"),
    ("empty_splits", "empty splits", "splits without clips"),
    ("broken_clips", "broken clips", "clips"),
    ("small_classes", "small classes", "classes"),
)


@dataclass(frozen=True, slots=True)
class ClipRef:
    """A clip as a finding names it: where it lives, its split, label and group."""

    path: str
    split: str
    label: str
    group: str
    start_s: float | None = None
    end_s: float | None = None

    def __str__(self) -> str:
        return f"{self.split}:{Path(self.path).name}{_span(self.start_s, self.end_s)}" + (
            f" ({self.label}, group {self.group})"
        )


@dataclass(frozen=True, slots=True)
class SharedClips:
    """Two listed clips with the same audio.

    ``kind`` is byte-identical, sample-identical, contained (``b`` inside ``a``) or overlap.
    """

    kind: str
    a: ClipRef
    b: ClipRef
    shared_s: float

    def __str__(self) -> str:
        sign = "⊃" if self.kind == "contained" else "&"
        return f"{self.a} {sign} {self.b} ({self.kind}, {self.shared_s:.3f} s)"


@dataclass(frozen=True, slots=True)
class SampleRateLeakage:
    """How well the native sample rate alone predicts the label.

    The baseline predicts each rate's majority class (fit on ``fit_on``) and is scored on
    ``scored_on``, overall and per class (``class_accuracy``: the share of a class's clips it
    gets right). ``classes`` maps each class the rate gives away to its rates: a class whose
    rates no other class has, and, where the baseline beats chance by ``RATE_MARGIN``, a class
    it gets mostly right (accuracy ≥ 0.5) and is mostly right about (precision > 0.5).
    """

    classes: dict[str, tuple[int, ...]]
    rates_by_class: dict[str, tuple[int, ...]]
    class_accuracy: dict[str, float]
    baseline_accuracy: float
    chance: float
    fit_on: str
    scored_on: str
    n_scored: int

    @property
    def is_leaky(self) -> bool:
        return bool(self.classes) or self.baseline_accuracy >= self.chance + RATE_MARGIN

    def format_lines(self) -> list[str]:
        """The headline, and the classes the rate gives away with their rates."""
        own = _own_rates(self.rates_by_class)
        state = "OK"
        if own:
            state = f"{len(own)} classes with rates of their own"
        elif self.is_leaky:
            state = "the rate predicts the label"
        lines = [
            f"sample-rate leakage: {state} — rate-only baseline {self.baseline_accuracy:.2f}"
            f" on {self.scored_on} (n={self.n_scored}) vs chance {self.chance:.2f}"
        ]
        lines += [f"  {label} only at {_rates(hz)}" for label, hz in own.items()]
        given = sorted((-acc, label) for label, acc in self.class_accuracy.items() if acc >= 0.5)
        if self.is_leaky and given:
            named = [f"{lb} {-acc:.2f} ({_rates(self.rates_by_class[lb])})" for acc, lb in given]
            lines.append(f"  the rate alone recognises {', '.join(named[:_EXAMPLES])}")
            lines[-1] += _more(len(named))
        return lines


@dataclass(frozen=True, slots=True)
class BrokenClip:
    """A clip that cannot be trained on: unreadable, empty, NaN, or silent."""

    path: str
    reason: str
    splits: tuple[str, ...]
    start_s: float | None = None
    end_s: float | None = None

    def __str__(self) -> str:
        return f"{self.path}{_span(self.start_s, self.end_s)}: {self.reason}"


@dataclass(frozen=True, slots=True)
class SmallClass:
    """A class with too few clips overall, or absent from some splits."""

    label: str
    n_clips: int
    missing_from: tuple[str, ...]

    def __str__(self) -> str:
        missing = f", absent from {', '.join(self.missing_from)}" if self.missing_from else ""
        return f"{self.label}: {self.n_clips} clips{missing}"


@dataclass(frozen=True, slots=True)
class GroupOverlap:
    """Two groups (recordings, tapes) in different splits that hold the same audio."""

    a_group: str
    a_split: str
    b_group: str
    b_split: str
    n_clip_pairs: int
    kinds: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"group {self.a_group} ({self.a_split}) & {self.b_group} ({self.b_split}):"
            f" {self.n_clip_pairs} clip pairs, {'/'.join(self.kinds)}"
        )


@dataclass(frozen=True, slots=True)
class SplitLeak:
    """A group (``kind`` group) or a recording (``kind`` recording) with clips in two splits."""

    kind: str
    name: str
    splits: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} lies in {' and '.join(self.splits)}"


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every finding of :func:`audit`; a check without findings holds an empty tuple."""

    split_sizes: dict[str, int]
    cross_split_duplicates: tuple[SharedClips, ...]
    cross_split_overlaps: tuple[SharedClips, ...]
    label_conflicts: tuple[SharedClips, ...]
    sample_rate_leakage: SampleRateLeakage | None
    broken_clips: tuple[BrokenClip, ...]
    small_classes: tuple[SmallClass, ...]
    group_overlaps: tuple[GroupOverlap, ...]
    split_leaks: tuple[SplitLeak, ...]
    empty_splits: tuple[str, ...]
    n_shared_pairs: int
    n_unchecked: int
    min_shared_samples: int

    @property
    def is_clean(self) -> bool:
        rates = self.sample_rate_leakage
        if rates is not None and rates.is_leaky:
            return False
        return not any(getattr(self, name) for name, _, _ in _CHECKS)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able primitives (tuples become lists)."""
        return {**_primitive(dataclasses.asdict(self)), "is_clean": self.is_clean}

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON, atomically, and return the path."""
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)
            handle.write("\n")
        return Path(path)

    def format_text(self) -> str:
        """A compact summary: one headline per check, with a count and the first examples."""
        sizes = ", ".join(f"{name} {n}" for name, n in self.split_sizes.items())
        lines = [f"audit of {sum(self.split_sizes.values())} clips ({sizes})"]
        for name, title, unit in _CHECKS:
            items = getattr(self, name)
            lines.append(f"{title}: {len(items)} {unit}" if items else f"{title}: OK")
            lines.extend(f"  {item}" for item in items[:_EXAMPLES])
            if len(items) > _EXAMPLES:
                lines.append(f"  …{_more(len(items))}")
        rates = self.sample_rate_leakage
        if rates is None:
            lines.append("sample-rate leakage: not checked (no readable clips)")
        else:
            lines.extend(rates.format_lines())
        if self.n_unchecked:
            lines.append(
                f"note: {self.n_unchecked} clips shorter than {self.min_shared_samples} samples"
                " were not checked for shared audio"
            )
        return "\n".join(lines)


def _primitive(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _primitive(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_primitive(v) for v in value]
    return value


def _span(start_s: float | None, end_s: float | None) -> str:
    return "" if start_s is None and end_s is None else f"[{start_s or 0:g}, {end_s or 'end'}]"


def _more(n_items: int) -> str:
    return f" and {n_items - _EXAMPLES} more" if n_items > _EXAMPLES else ""


def _rates(rates_hz: Sequence[int]) -> str:
    return "/".join(f"{hz / 1000:g}" for hz in rates_hz) + " kHz"


def _majority(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    return min(counts, key=lambda label: (-counts[label], label))


def _own_rates(rates_by_class: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, ...]]:
    """The classes whose rates no other class has, with those rates."""
    own = {}
    for label, rates in sorted(rates_by_class.items()):
        others = {r for other, hz in rates_by_class.items() if other != label for r in hz}
        if len(rates_by_class) > 1 and not set(rates) & others:
            own[label] = tuple(sorted(rates))
    return own


def _given_away(
    predict: Mapping[int, str], scored: Sequence[tuple[str, int]], fallback: str
) -> dict[str, tuple[int, ...]]:
    """Classes the rate-only baseline gets mostly right and is mostly right about, by rate."""
    guesses = [(label, predict.get(rate, fallback)) for label, rate in scored]
    given = {}
    for label in sorted({label for label, _ in scored}):
        hits = sum(truth == guess == label for truth, guess in guesses)
        n_true = sum(truth == label for truth, _ in guesses)
        n_guessed = sum(guess == label for _, guess in guesses)
        if hits >= 0.5 * n_true and n_guessed and hits > 0.5 * n_guessed:
            given[label] = tuple(sorted(rate for rate, guess in predict.items() if guess == label))
    return given


def _rate_leakage(rated: Sequence[tuple[str, str, int]]) -> SampleRateLeakage | None:
    """``rated`` = (split, label, rate) of every readable clip."""
    if not rated:
        return None
    by_class: dict[str, set[int]] = defaultdict(set)
    for _, label, rate in rated:
        by_class[label].add(rate)
    rates_by_class = {label: tuple(sorted(r)) for label, r in sorted(by_class.items())}
    own = _own_rates(rates_by_class)
    fit_on = "train" if any(s == "train" for s, _, _ in rated) else "all"
    scored_on = "test" if any(s == "test" for s, _, _ in rated) else "all"
    fit = [(label, rate) for split, label, rate in rated if fit_on in ("all", split)]
    scored = [(label, rate) for split, label, rate in rated if scored_on in ("all", split)]
    by_rate: dict[int, list[str]] = defaultdict(list)
    for label, rate in fit:
        by_rate[rate].append(label)
    fallback = _majority([label for label, _ in fit])
    predict = {rate: _majority(labels) for rate, labels in by_rate.items()}
    hits = Counter(label for label, rate in scored if predict.get(rate, fallback) == label)
    counts = Counter(label for label, _ in scored)
    accuracy, chance = sum(hits.values()) / len(scored), max(counts.values()) / len(scored)
    classes = dict(own)
    if accuracy >= chance + RATE_MARGIN:  # listed, so audit.json names what the rate gives away
        given = _given_away(predict, scored, fallback)
        classes.update({label: rates for label, rates in given.items() if label not in own})
    return SampleRateLeakage(
        classes=dict(sorted(classes.items())),
        rates_by_class=rates_by_class,
        class_accuracy={label: hits[label] / counts[label] for label in sorted(counts)},
        baseline_accuracy=accuracy,
        chance=chance,
        fit_on=fit_on,
        scored_on=scored_on,
        n_scored=len(scored),
    )


def _kind(item: SharedContent) -> str:
    if item.kind == "identical":
        return "byte-identical" if item.is_byte_identical else "sample-identical"
    return item.kind


def _shared_pairs(
    by_key: Mapping[ClipKey, Sequence[ClipRef]],
    prints: Mapping[ClipKey, ClipFingerprint],
    shared: Sequence[SharedContent],
) -> list[SharedClips]:
    """Every pair of listed clips with the same audio, a clip listed twice included."""
    pairs: set[SharedClips] = set()
    for key, refs in by_key.items():
        kind = "byte-identical" if key[1] is None and key[2] is None else "sample-identical"
        duration_s = prints[key].duration_s
        pairs |= {
            SharedClips(kind, a, b, duration_s) for n, a in enumerate(refs) for b in refs[n + 1 :]
        }
    for item in shared:
        for a in by_key.get(item.a, ()):
            pairs |= {SharedClips(_kind(item), a, b, item.shared_s) for b in by_key.get(item.b, ())}
    return sorted(pairs, key=lambda p: (p.a.split, p.a.path, p.b.split, p.b.path))


def _group_overlaps(cross: Sequence[SharedClips]) -> tuple[GroupOverlap, ...]:
    kinds: dict[tuple[tuple[str, str], tuple[str, str]], list[str]] = defaultdict(list)
    for p in cross:
        first, second = sorted([(p.a.split, p.a.group), (p.b.split, p.b.group)])
        kinds[(first, second)].append(p.kind)
    return tuple(
        GroupOverlap(a[1], a[0], b[1], b[0], len(found), tuple(sorted(set(found))))
        for (a, b), found in sorted(kinds.items())
    )


def _broken_clips(
    by_key: Mapping[ClipKey, Sequence[ClipRef]],
    prints: Mapping[ClipKey, ClipFingerprint],
    silence_peak: float,
) -> tuple[BrokenClip, ...]:
    broken = []
    for key, refs in sorted(by_key.items(), key=lambda item: str(item[0])):
        fp = prints[key]
        reason = fp.error
        if reason is None and fp.peak < silence_peak:
            reason = f"silent (peak {fp.peak:.2g} < {silence_peak:g})"
        elif reason is None and fp.is_constant:
            reason = "constant (every sample equal)"
        if reason is not None:
            splits = tuple(sorted({ref.split for ref in refs}))
            broken.append(BrokenClip(key[0], reason, splits, key[1], key[2]))
    return tuple(broken)


def _split_leaks(splits: Mapping[str, Sequence[Clip]]) -> tuple[SplitLeak, ...]:
    """Groups, and recordings, with clips in more than one split (a manifest edited by hand)."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for split, clips in splits.items():
        for clip in clips:
            found[("group", clip.group)].add(split)
            found[("recording", str(clip.path))].add(split)
    order = {split: n for n, split in enumerate(splits)}
    return tuple(
        SplitLeak(kind, name, tuple(sorted(seen, key=order.__getitem__)))
        for (kind, name), seen in sorted(found.items())
        if len(seen) > 1
    )


def _small_classes(
    splits: Mapping[str, Sequence[Clip]], min_clips_per_class: int
) -> tuple[SmallClass, ...]:
    counts = Counter(clip.label for clips in splits.values() for clip in clips)
    present = {split: {clip.label for clip in clips} for split, clips in splits.items() if clips}
    small = []
    for label in sorted(counts):
        absent = tuple(split for split, seen in present.items() if label not in seen)
        if counts[label] < min_clips_per_class or absent:
            small.append(SmallClass(label, counts[label], absent))
    return tuple(small)


def audit(
    splits: Mapping[str, Sequence[Clip]],
    fingerprints: Mapping[ClipKey, ClipFingerprint] | None = None,
    *,
    shared: Sequence[SharedContent] | None = None,
    min_clips_per_class: int = 3,
    silence_peak: float = 1e-3,
    workers: int = 1,
) -> AuditReport:
    """Check splits for shared audio, label conflicts, rate leakage, bad clips and small classes.

    Args:
        splits: Clips per split name (``train``, ``val``, ``test``); the rate baseline is fit on
            ``train`` and scored on ``test`` where they exist, on all clips otherwise.
        fingerprints: From :func:`fingerprint_clips`; clips missing from it are fingerprinted.
        shared: From :func:`find_shared_content` on those fingerprints, if already computed.
        min_clips_per_class: Fewer clips than this (over all splits) makes a class small.
        silence_peak: A clip whose largest absolute sample is below this is silent.
        workers: Processes used to fingerprint clips.
    """
    entries = [(split, clip) for split, clips in splits.items() for clip in clips]
    prints = dict(fingerprints or {})
    missing = [clip for _, clip in entries if clip_key(clip) not in prints]
    if missing:
        prints.update(fingerprint_clips(missing, workers=workers))
    by_key: dict[ClipKey, list[ClipRef]] = defaultdict(list)
    for split, clip in entries:
        ref = ClipRef(str(clip.path), split, clip.label, clip.group, clip.start_s, clip.end_s)
        by_key[clip_key(clip)].append(ref)
    if shared is None:
        shared = find_shared_content({key: prints[key] for key in by_key})
    pairs = _shared_pairs(by_key, prints, shared)
    cross = [p for p in pairs if p.a.split != p.b.split]
    identical = ("byte-identical", "sample-identical")
    rated = [
        (ref.split, ref.label, prints[key].sample_rate_hz)
        for key, refs in by_key.items()
        for ref in refs
        if not prints[key].is_broken
    ]
    checked = [prints[key] for key in by_key]
    report = AuditReport(
        split_sizes={split: len(clips) for split, clips in splits.items()},
        cross_split_duplicates=tuple(p for p in cross if p.kind in identical),
        cross_split_overlaps=tuple(p for p in cross if p.kind not in identical),
        label_conflicts=tuple(p for p in pairs if p.a.label != p.b.label and p.kind != "overlap"),
        sample_rate_leakage=_rate_leakage(rated),
        broken_clips=_broken_clips(by_key, prints, silence_peak),
        small_classes=_small_classes(splits, min_clips_per_class),
        group_overlaps=_group_overlaps(cross),
        split_leaks=_split_leaks(splits),
        empty_splits=tuple(split for split, clips in splits.items() if not clips),
        n_shared_pairs=len(shared),
        n_unchecked=sum(
            1
            for fp in checked
            if not fp.is_broken and not fp.is_constant and fp.n_samples < fp.min_shared_samples
        ),
        min_shared_samples=min((fp.min_shared_samples for fp in checked), default=0),
    )
    logger.info("audit: %s", "clean" if report.is_clean else "findings")
    return report
