"""Recommended training recipes: config values that hold on recordings a model has not seen.

A recipe is a function of the config it completes (some values scale with the window), giving
``"section.field" → value`` overrides. ``train --recipe NAME`` applies them under every value
given explicitly (flags, ``--set``, TOML keys), so a recipe never undoes a user's choice. The
figures behind each recipe are in ``benchmarks/RESULTS.md`` (``benchmarks/accuracy.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .config import ExperimentConfig, override
from .registry import Registry

Recipe = Callable[[ExperimentConfig], dict[str, Any]]
RECIPES: Registry[Recipe] = Registry("recipe")

# ANIMAL-SPOT's augmentation chain with only its gain step, over a recorder's range of levels.
GAIN_ONLY = {
    "augment.enabled": True,
    "augment.gain_db": (-12, 12),
    "augment.pitch_shift_probability": 0.0,
    "augment.time_stretch_probability": 0.0,
}


@RECIPES.register("detector")
def detector(config: ExperimentConfig) -> dict[str, Any]:
    """Target vs noise over long recordings at other gains and sites (NARW benchmark)."""
    window_s = config.spectrogram.sequence_len_ms / 1000
    return {
        "train.task": "detector",
        "train.weighted_sampling": True,
        "spectrogram.normalization": "pcen",
        **GAIN_ONLY,
        "augment.spec_augment": True,
        "augment.mix_noise_clips": True,
        "augment.snr_db": (0, 15),
        "augment.time_shift_s": round(window_s / 4, 6),
    }


@RECIPES.register("classifier")
def classifier(config: ExperimentConfig) -> dict[str, Any]:
    """Species or call types of labelled clips, at other gains (Watkins, finch benchmarks).

    The absolute dB scale stays: PCEN and per-window medians divide out sustained tones, which
    tell many species apart (Watkins: 0.36 and 0.34 balanced accuracy against 0.66), so
    level robustness comes from gain augmentation instead.
    """
    return {
        "spectrogram.normalization": "db",
        **GAIN_ONLY,
        "augment.spec_augment": True,
    }


def recipe_overrides(name: str, config: ExperimentConfig) -> dict[str, Any]:
    """The overrides recipe ``name`` gives for ``config``."""
    return RECIPES.get(name)(config)


def apply_recipe(
    config: ExperimentConfig, name: str, explicit: Iterable[str] = ()
) -> ExperimentConfig:
    """``config`` with recipe ``name``'s values, except for the ``explicit`` ``section.field``s."""
    kept = set(explicit)
    changes = {k: v for k, v in recipe_overrides(name, config).items() if k not in kept}
    return override(config, changes)
