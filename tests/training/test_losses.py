"""Cross-entropy and focal loss against their closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from animal_spot.config import TrainConfig
from animal_spot.training.losses import LOSSES, FocalLoss, build_loss

torch.manual_seed(0)
LOGITS = torch.randn(32, 4) * 3
TARGET = torch.randint(0, 4, (32,))
WEIGHT = torch.tensor([0.2, 1.0, 0.5, 3.0])


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
def test_focal_loss_with_gamma_zero_equals_cross_entropy(smoothing, weight):
    config = TrainConfig(loss="focal", focal_gamma=0.0, label_smoothing=smoothing)
    focal = build_loss(config, weight)(LOGITS, TARGET)
    expected = F.cross_entropy(LOGITS, TARGET, weight=weight, label_smoothing=smoothing)
    assert focal.item() == pytest.approx(expected.item(), rel=1e-6)


def test_cross_entropy_loss_is_torch_cross_entropy_with_the_config_settings():
    config = TrainConfig(loss="cross_entropy", label_smoothing=0.2)
    got = build_loss(config, WEIGHT)(LOGITS, TARGET)
    expected = F.cross_entropy(LOGITS, TARGET, weight=WEIGHT, label_smoothing=0.2)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("smoothing", [0.05, 0.1, 0.4])
def test_label_smoothing_mixes_cross_entropy_with_the_mean_negative_log_probability(smoothing):
    # closed form: (1 − ε)·(−log p_y) + ε·mean_c(−log p_c)
    log_p = LOGITS.log_softmax(-1)
    nll = -log_p.gather(1, TARGET[:, None]).squeeze(1)
    expected = ((1 - smoothing) * nll + smoothing * (-log_p).mean(-1)).mean()
    got = build_loss(TrainConfig(label_smoothing=smoothing))(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_label_smoothing_raises_the_loss_of_a_confident_right_answer_and_not_of_a_uniform_one():
    confident = torch.tensor([[10.0, 0.0, 0.0]])
    target = torch.tensor([0])
    plain = build_loss(TrainConfig())(confident, target).item()
    smoothed = build_loss(TrainConfig(label_smoothing=0.1))(confident, target).item()
    assert smoothed > plain
    uniform = torch.zeros(1, 3)
    assert build_loss(TrainConfig(label_smoothing=0.1))(uniform, target).item() == pytest.approx(
        math.log(3)
    )


def test_focal_loss_matches_its_closed_form_and_discounts_easy_clips():
    gamma = 2.0
    log_p = LOGITS.log_softmax(-1).gather(1, TARGET[:, None]).squeeze(1)
    expected = (-((1 - log_p.exp()) ** gamma) * log_p).mean()
    got = FocalLoss(gamma)(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    assert got.item() < F.cross_entropy(LOGITS, TARGET).item()


def test_losses_are_registered_by_name():
    assert set(LOSSES.names()) == {"cross_entropy", "focal"}
