"""Class weights follow their formulas and the sampler draws by them."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.data.sampling import CLASS_WEIGHTINGS, class_weights, make_sampler

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
