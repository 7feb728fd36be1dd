"""Clips relabelled for a binary detector: every class but noise becomes ``target``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..conventions import NOISE_CLASS, TARGET_CLASS, is_noise
from ..errors import BadData
from .manifest import Clip


def to_detector(splits: Mapping[str, Sequence[Clip]]) -> dict[str, list[Clip]]:
    """Every class but ``noise`` becomes ``target``: the first stage of a two-stage pipeline."""
    labels = {c.label for clips in splits.values() for c in clips}
    if not any(is_noise(label) for label in labels):
        raise BadData(
            f"a detector needs a 'noise' class; the classes are {sorted(labels)}",
            fix="add clips labelled noise",
        )
    return {
        phase: [
            dataclasses.replace(c, label=NOISE_CLASS if is_noise(c.label) else TARGET_CLASS)
            for c in clips
        ]
        for phase, clips in splits.items()
    }
