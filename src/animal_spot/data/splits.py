"""Seeded train/val/test splits that keep each group (recording, tape) whole, by class."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..errors import BadConfig, BadData
from .manifest import Clip

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def _shares(fractions: Sequence[float]) -> list[float]:
    values = [float(f) for f in fractions]
    if len(values) != 3 or not all(math.isfinite(f) and f >= 0 for f in values) or sum(values) <= 0:
        raise BadConfig(
            f"split fractions {tuple(fractions)} cannot be used",
            fix="give three fractions ≥ 0 for train, val and test, e.g. (0.7, 0.15, 0.15)",
        )
    return [f / sum(values) for f in values]


def _majority(labels: Iterable[str]) -> str:
    counts = Counter(labels)
    most = max(counts.values())
    return min(label for label, count in counts.items() if count == most)


def _assign_stratum(
    groups: list[str],
    size: Mapping[str, int],
    shares: Sequence[float],
    active: Sequence[int],
    rng: np.random.Generator,
) -> dict[str, int]:
    """Groups (largest first, ties shuffled) → the split furthest below its share of clips.

    While no more groups remain than splits still lack this class, a group goes to one of those
    splits, so a class with enough groups appears in every split.
    """
    order = [groups[i] for i in rng.permutation(len(groups))]
    order.sort(key=lambda group: -size[group])  # stable: equal sizes keep the shuffled order
    total = sum(size[group] for group in groups)
    deficit = [share * total for share in shares]
    n_groups = [0, 0, 0]
    assignment = {}
    for position, group in enumerate(order):
        empty = [s for s in active if n_groups[s] == 0]
        candidates = empty if len(order) - position <= len(empty) else list(active)
        best = max(deficit[s] for s in candidates)
        ties = [s for s in candidates if deficit[s] >= best - 1e-9]
        split = ties[int(rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
        assignment[group] = split
        deficit[split] -= size[group]
        n_groups[split] += 1
    return assignment


def _fill_empty_splits(
    assignment: dict[str, int],
    size: Mapping[str, int],
    stratum: Mapping[str, str],
    active: Sequence[int],
) -> None:
    """Move one small group into each active split left empty, from the split with most groups."""
    for split in active:
        members = defaultdict(list)
        for group, s in assignment.items():
            members[s].append(group)
        if members[split]:
            continue
        donor = max(active, key=lambda s: (len(members[s]), -s))
        if len(members[donor]) < 2:
            return
        in_donor = Counter(stratum[group] for group in members[donor])
        # Prefer a group whose class keeps another group in the donor split, then the smallest.
        group = min(members[donor], key=lambda g: (in_donor[stratum[g]] < 2, size[g], g))
        assignment[group] = split
        logger.warning(
            "split %s had no group; moved group %r (class %r, %d clips) there from %s",
            SPLITS[split],
            group,
            stratum[group],
            size[group],
            SPLITS[donor],
        )


def split_by_group(
    clips: Sequence[Clip], fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, list[Clip]]:
    """Split clips into train, val and test so that no group lies in two splits.

    Each group joins the stratum of its majority class; within a stratum groups are handed out,
    largest first, to the split furthest below its share of that class's clips, with ties
    broken by a generator seeded with ``seed``. The same clips and seed give the same split.
    A class with fewer groups than splits cannot reach every split: that is logged, not raised.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, clips in their input order.

    Raises:
        BadData: there are no clips.
        BadConfig: the fractions are not three non-negative numbers with a positive sum.
    """
    shares = _shares(fractions)
    if not clips:
        raise BadData("there are no clips to split", fix="check the data folder or manifest")
    active = [s for s, share in enumerate(shares) if share > 0]
    labels_of: dict[str, list[str]] = defaultdict(list)
    for clip in clips:
        labels_of[clip.group].append(clip.label)
    size = {group: len(labels) for group, labels in labels_of.items()}
    stratum = {group: _majority(labels) for group, labels in labels_of.items()}
    strata: dict[str, list[str]] = defaultdict(list)
    for group in sorted(labels_of):
        strata[stratum[group]].append(group)
    rng = np.random.default_rng(seed)
    assignment: dict[str, int] = {}
    for label in sorted(strata):
        if len(strata[label]) < len(active):
            logger.warning(
                "class %r has %d group(s), too few to appear in all %d splits",
                label,
                len(strata[label]),
                len(active),
            )
        assignment.update(_assign_stratum(strata[label], size, shares, active, rng))
    if len(size) >= len(active):
        _fill_empty_splits(assignment, size, stratum, active)
    splits: dict[str, list[Clip]] = {name: [] for name in SPLITS}
    for clip in clips:
        splits[SPLITS[assignment[clip.group]]].append(clip)
    return splits


def split_counts(splits: Mapping[str, Sequence[Clip]]) -> dict[str, dict[str, int]]:
    """Clips per split and class, every class listed in every split (zeros included)."""
    labels = sorted({clip.label for clips in splits.values() for clip in clips})
    counts = {}
    for name, clips in splits.items():
        per_class = Counter(clip.label for clip in clips)
        counts[name] = {label: per_class[label] for label in labels}
    return counts


def merge_groups(clips: Iterable[Clip], pairs: Iterable[tuple[str, str]]) -> list[Clip]:
    """Clips whose groups are joined, directly or through a chain of pairs, under one group.

    The merged name is the sorted member names joined with ``+``, so a later split keeps groups
    that share content (e.g. overlapping tape cuts) together.
    """
    clips = list(clips)
    parent: dict[str, str] = {}

    def root(group: str) -> str:
        parent.setdefault(group, group)
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    for first, second in pairs:
        a, b = root(first), root(second)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[str, set[str]] = defaultdict(set)
    for clip in clips:
        members[root(clip.group)].add(clip.group)
    name = {
        group: "+".join(sorted(group_set)) for group_set in members.values() for group in group_set
    }
    return [
        clip
        if name[clip.group] == clip.group
        else dataclasses.replace(clip, group=name[clip.group])
        for clip in clips
    ]
