"""ConvNeXt tiny–large (torchvision's layout) with a one-channel stem: the fork's network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BadConfig
from ..registry import Lazy
from . import Backbone, TrainingDefaults, register

if TYPE_CHECKING:
    from ..config import ModelConfig

SIZES = ("tiny", "small", "base", "large")


def check(config: ModelConfig) -> None:
    if config.convnext not in SIZES:
        raise BadConfig(f"model.convnext = {config.convnext!r}; choose one of {SIZES}")


register(
    Backbone(
        name="convnext",
        summary="ConvNeXt (--convnext size)",
        build=Lazy("animal_spot.models.convnext:build"),
        defaults=TrainingDefaults(lr=1e-6, beta1=0.9, lr_patience_epochs=10),
        network_names=tuple(f"convnext_{size}" for size in SIZES),
        network_name=lambda config: f"convnext_{config.convnext}",
        check=check,
    )
)
