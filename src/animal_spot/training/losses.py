"""Classification losses: cross-entropy and focal, both with label smoothing (`kinds.LOSSES`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import TrainConfig
from ..kinds import LOSSES


class FocalLoss(nn.Module):
    """Focal loss −Σ_c w_c·q_c·(1 − p_c)^γ·log p_c over smoothed targets q (Lin et al., 2017).

    With γ = 0 it equals cross-entropy with the same label smoothing and class weights.
    """

    weight: Tensor | None

    def __init__(
        self, gamma: float = 2.0, weight: Tensor | None = None, label_smoothing: float = 0.0
    ) -> None:
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", weight)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        n_classes = logits.shape[-1]
        log_p = F.log_softmax(logits, dim=-1)
        q = F.one_hot(target, n_classes).to(log_p.dtype)
        q = q * (1 - self.label_smoothing) + self.label_smoothing / n_classes
        modulation = (1 - log_p.exp()).pow(self.gamma) if self.gamma else 1.0
        weight = self.weight if self.weight is not None else torch.ones_like(log_p[0])
        per_clip = -(weight * q * modulation * log_p).sum(-1)
        return per_clip.sum() / weight[target].sum()


def cross_entropy(config: TrainConfig, weight: Tensor | None = None) -> nn.Module:
    return nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)


def focal(config: TrainConfig, weight: Tensor | None = None) -> nn.Module:
    return FocalLoss(config.focal_gamma, weight, config.label_smoothing)


def build_loss(config: TrainConfig, weight: Tensor | None = None) -> nn.Module:
    """The loss ``config.loss`` names."""
    return LOSSES.get(config.loss)(config, weight)  # type: ignore[no-any-return]
