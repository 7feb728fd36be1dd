"""Class weights for imbalanced data and the weighted sampler that draws by them."""

from __future__ import annotations

import math
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
    augmentation draws depend on the epoch. In a run of ``world_size`` processes every rank draws
    the same order and takes every ``world_size``-th item from its ``rank`` on; the order is
    first extended by its own beginning so that every rank gets as many items (and batches).
    """

    def __init__(
        self,
        n_items: int,
        *,
        seed: int = 0,
        weights: torch.Tensor | None = None,
        dataset: HasEpoch | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside a world of {world_size}")
        self.n_items = n_items
        self.seed = seed
        self.weights = weights
        self.dataset = dataset
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if self.dataset is not None:
            self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return math.ceil(self.n_items / self.world_size)

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.weights is None:
            order = torch.randperm(self.n_items, generator=generator)
        else:
            order = torch.multinomial(self.weights, self.n_items, True, generator=generator)
        if self.world_size > 1:
            total = len(self) * self.world_size
            order = order.repeat(math.ceil(total / max(1, self.n_items)))[:total]
            order = order[self.rank :: self.world_size]
        return iter(order.tolist())


class ShardSampler(Sampler[int]):
    """Rank ``rank``'s share of ``n_items`` in order, for evaluation in a multi-process run.

    Every rank gets ``⌈n / world_size⌉`` indices; those ≥ ``n_items`` are padding, which
    ``PaddedDataset`` serves with an ignored label so that no clip is counted twice.
    """

    def __init__(self, n_items: int, *, rank: int, world_size: int) -> None:
        self.n_items = n_items
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return math.ceil(self.n_items / self.world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, len(self) * self.world_size, self.world_size))


def make_sampler(
    labels: Sequence[int],
    n_classes: int,
    strategy: str | None,
    *,
    seed: int = 0,
    beta: float = 0.9999,
    rare_class_boost: float = 1.0,
    dataset: HasEpoch | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> EpochSampler:
    """A sampler over ``len(labels)`` clips: plain shuffling, or weighted by class (``strategy``).

    Weighted, it draws ``len(labels)`` clips per epoch with replacement, each by its class weight.
    """
    labels_array = np.asarray(labels, dtype=np.int64)
    if strategy is None:
        return EpochSampler(
            len(labels_array), seed=seed, dataset=dataset, rank=rank, world_size=world_size
        )
    counts = np.bincount(labels_array, minlength=n_classes)
    weights = class_weights(counts, strategy, beta=beta, rare_class_boost=rare_class_boost)
    per_clip = torch.as_tensor(weights[labels_array], dtype=torch.double)
    return EpochSampler(
        len(labels_array),
        seed=seed,
        weights=per_clip,
        dataset=dataset,
        rank=rank,
        world_size=world_size,
    )
