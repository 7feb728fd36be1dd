"""ResNet 18–152 (torchvision's layout) with a one-channel stem: ANIMAL-SPOT's network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BadConfig
from ..registry import Lazy
from . import Backbone, TrainingDefaults, register

if TYPE_CHECKING:
    from ..config import ModelConfig

DEPTHS = (18, 34, 50, 101, 152)


def check(config: ModelConfig) -> None:
    if config.resnet not in DEPTHS:
        raise BadConfig(f"model.resnet = {config.resnet!r}; choose one of {DEPTHS}")
    if config.max_pool not in (0, 1, 2):
        raise BadConfig(f"model.max_pool = {config.max_pool!r}; choose one of (0, 1, 2)")
    if not 1 <= config.conv_kernel_size <= 31 or config.conv_kernel_size % 2 == 0:
        raise BadConfig(
            f"model.conv_kernel_size = {config.conv_kernel_size} must be odd, from 1 to 31"
        )


register(
    Backbone(
        name="resnet",
        summary="ResNet (--resnet depth, --max_pool and --conv_kernel_size stem)",
        build=Lazy("animal_spot.models.resnet:build"),
        # The fork's training scripts: base lr per clip, Adam beta1, plateau patience.
        defaults=TrainingDefaults(lr=5e-6, beta1=0.5, lr_patience_epochs=8),
        network_names=tuple(f"resnet{depth}" for depth in DEPTHS),
        network_name=lambda config: f"resnet{config.resnet}",
        check=check,
    )
)
