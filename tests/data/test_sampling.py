"""Class weights follow their formulas and the sampler draws by them."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.data.sampling import (
    CLASS_WEIGHTINGS,
    ShardSampler,
    class_weights,
    make_sampler,
)

COUNTS = np.array([800, 150, 50])


def test_inverse_frequency_weights_match_the_formula():
    expected = COUNTS.sum() / (3 * COUNTS)
    assert class_weights(COUNTS, "inverse_freq") == pytest.approx(expected / expected.max())


def test_sqrt_inverse_frequency_weights_match_the_formula():
    expected = np.sqrt(COUNTS.sum() / COUNTS)
    assert class_weights(COUNTS, "sqrt_inverse_freq") == pytest.approx(expected / expected.max())


def test_effective_number_weights_match_the_formula():
    beta = 0.999
    expected = (1 - beta) / (1 - beta**COUNTS)
    got = class_weights(COUNTS, "effective_num", beta=beta)
    assert got == pytest.approx(expected / expected.max())


def test_rare_class_boost_applies_only_below_five_percent():
    counts = [800, 160, 40]  # 40 is 4 % of the clips
    plain = class_weights(counts, "sqrt_inverse_freq")
    boosted = class_weights(counts, "sqrt_inverse_freq", rare_class_boost=1.5)
    assert boosted[2] == 1.0
    assert boosted[:2] == pytest.approx(plain[:2] / 1.5)


def test_absent_class_gets_zero_weight():
    assert class_weights([10, 0, 5], "inverse_freq")[1] == 0


@pytest.mark.parametrize("strategy", CLASS_WEIGHTINGS.names())
def test_sampled_class_counts_follow_the_weights(strategy):
    labels = np.repeat(np.arange(3), COUNTS)
    weights = class_weights(COUNTS, strategy)
    expected_share = weights * COUNTS / (weights * COUNTS).sum()
    sampler = make_sampler(labels, 3, strategy, seed=0)
    epochs = []
    for epoch in range(10):  # ten independent epochs of N draws each
        sampler.set_epoch(epoch)
        epochs.append(labels[list(sampler)])
    for drawn in (epochs[0], np.concatenate(epochs)):  # one epoch, then all ten
        observed = np.bincount(drawn, minlength=3)
        expected = expected_share * drawn.size
        chi2 = float(((observed - expected) ** 2 / expected).sum())
        assert chi2 < 13.82  # χ² with 2 degrees of freedom, p = 0.001


def test_sampler_is_reproducible_for_a_seed():
    labels = np.repeat(np.arange(3), COUNTS)
    assert list(make_sampler(labels, 3, "inverse_freq", seed=4)) == list(
        make_sampler(labels, 3, "inverse_freq", seed=4)
    )


@pytest.mark.parametrize("strategy", [None, "inverse_freq"])
def test_an_epochs_order_depends_on_seed_and_epoch_only(strategy):
    labels = np.repeat(np.arange(3), COUNTS)
    running = make_sampler(labels, 3, strategy, seed=4)
    orders = []
    for epoch in range(4):
        running.set_epoch(epoch)
        orders.append(list(running))
    fresh = make_sampler(labels, 3, strategy, seed=4)  # a resumed run: straight to epoch 3
    fresh.set_epoch(3)
    assert list(fresh) == orders[3]
    assert orders[2] != orders[3]


@pytest.mark.parametrize("strategy", [None, "inverse_freq"])
@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_share_one_epoch_order_in_equal_parts(strategy, world_size):
    labels = np.repeat(np.arange(3), [6, 3, 2])  # 11 clips: no world size divides them
    whole = make_sampler(labels, 3, strategy, seed=4)
    whole.set_epoch(2)
    order = list(whole)
    shares = []
    for rank in range(world_size):
        sampler = make_sampler(labels, 3, strategy, seed=4, rank=rank, world_size=world_size)
        sampler.set_epoch(2)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler) == -(-len(labels) // world_size)
    interleaved = [share[i] for i in range(len(shares[0])) for share in shares]
    # the single-process order, extended by its own beginning to a multiple of the world size
    assert interleaved == (order + order)[: len(interleaved)]


def test_evaluation_shards_cover_every_clip_once_and_pad_past_the_end():
    shards = [list(ShardSampler(11, rank=r, world_size=3)) for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    flat = sorted(i for s in shards for i in s)
    assert flat == list(range(12))  # 0..10 once each, 11 is padding


def test_a_rank_outside_the_world_is_refused():
    with pytest.raises(ValueError, match="rank 2"):
        make_sampler([0, 1], 2, None, rank=2, world_size=2)
