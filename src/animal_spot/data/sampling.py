"""Class weights for imbalanced data and the weighted sampler that draws by them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler

from ..registry import Registry

Weighting = Callable[[np.ndarray, float], np.ndarray]
CLASS_WEIGHTINGS: Registry[Weighting] = Registry("sampling strategy")


@CLASS_WEIGHTINGS.register("inverse_freq")
def inverse_freq(counts: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """N / (K · n_c): every class drawn equally often."""
    return counts.sum() / (len(counts) * counts)


@CLASS_WEIGHTINGS.register("sqrt_inverse_freq")
def sqrt_inverse_freq(counts: np.ndarray, beta: float = 0.0) -> np.ndarray:
    """√(N / n_c): halfway (in log space) between natural and balanced frequencies."""
    return np.sqrt(counts.sum() / counts)


@CLASS_WEIGHTINGS.register("effective_num")
def effective_num(counts: np.ndarray, beta: float = 0.999) -> np.ndarray:
    """(1 − β) / (1 − β^n_c): the effective number of samples (Cui et al., 2019)."""
    return (1 - beta) / (1 - beta**counts)


def class_weights(
    counts: Sequence[int] | np.ndarray,
    strategy: str,
    *,
    beta: float = 0.999,
    rare_class_boost: float = 1.0,
) -> np.ndarray:
    """Per-class sampling weights, largest 1; absent classes get 0.

    Classes holding under 5 % of the clips are multiplied by ``rare_class_boost`` (the fork's
    option; 1 = off) before the weights are divided by their maximum.
    """
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = CLASS_WEIGHTINGS.get(strategy)(counts[present], beta)
    weights[present & (counts < 0.05 * counts.sum())] *= rare_class_boost
    return weights / weights.max()


def make_sampler(
    labels: Sequence[int],
    n_classes: int,
    strategy: str,
    *,
    seed: int = 0,
    beta: float = 0.999,
    rare_class_boost: float = 1.0,
) -> WeightedRandomSampler:
    """Draws ``len(labels)`` clips per epoch with replacement, each by its class weight."""
    labels_array = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels_array, minlength=n_classes)
    weights = class_weights(counts, strategy, beta=beta, rare_class_boost=rare_class_boost)
    per_clip = torch.as_tensor(weights[labels_array], dtype=torch.double)
    generator = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(per_clip, num_samples=len(labels_array), generator=generator)
