"""Class weights for imbalanced data and the weighted sampler that draws by them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Sampler

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
def effective_num(counts: np.ndarray, beta: float = 0.9999) -> np.ndarray:
    """(1 − β) / (1 − β^n_c): the effective number of samples (Cui et al., 2019)."""
    return (1 - beta) / (1 - beta**counts)


def class_weights(
    counts: Sequence[int] | np.ndarray,
    strategy: str,
    *,
    beta: float = 0.9999,
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


class HasEpoch(Protocol):
    def set_epoch(self, epoch: int) -> None: ...


class EpochSampler(Sampler[int]):
    """Shuffles (or draws by per-clip weight, with replacement) anew each epoch.

    The order is a function of (seed, epoch) alone, so a run resumed from a checkpoint sees the
    same batches as one that never stopped. ``set_epoch`` also tells the dataset, whose
    augmentation draws depend on the epoch.
    """

    def __init__(
        self,
        n_items: int,
        *,
        seed: int = 0,
        weights: torch.Tensor | None = None,
        dataset: HasEpoch | None = None,
    ) -> None:
        self.n_items = n_items
        self.seed = seed
        self.weights = weights
        self.dataset = dataset
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.dataset is not None:
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return self.n_items

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.weights is None:
            order = torch.randperm(self.n_items, generator=generator)
        else:
            order = torch.multinomial(self.weights, self.n_items, True, generator=generator)
        return iter(order.tolist())


def make_sampler(
    labels: Sequence[int],
    n_classes: int,
    strategy: str | None,
    *,
    seed: int = 0,
    beta: float = 0.9999,
    rare_class_boost: float = 1.0,
    dataset: HasEpoch | None = None,
) -> EpochSampler:
    """A sampler over ``len(labels)`` clips: plain shuffling, or weighted by class (``strategy``).

    Weighted, it draws ``len(labels)`` clips per epoch with replacement, each by its class weight.
    """
    labels_array = np.asarray(labels, dtype=np.int64)
    if strategy is None:
        return EpochSampler(len(labels_array), seed=seed, dataset=dataset)
    counts = np.bincount(labels_array, minlength=n_classes)
    weights = class_weights(counts, strategy, beta=beta, rare_class_boost=rare_class_boost)
    per_clip = torch.as_tensor(weights[labels_array], dtype=torch.double)
    return EpochSampler(len(labels_array), seed=seed, weights=per_clip, dataset=dataset)
