"""The legacy network variants: ANIMAL-SPOT's layout ``(batch, 1, time, freq)`` on our networks.

Old models read ``(batch, 1, time, freq)``; these take our ``(batch, 1, freq, time)`` and
transpose, so a legacy bundle predicts like any other. A bundle holding one records
``provenance["legacy_layout"] = "animal-spot"``, and ``bundle_from_dict`` rebuilds it with
:func:`build_legacy_model` when the bundle is saved and loaded again as ``model.pt``.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..config import ModelConfig
from ..errors import BadModel
from ..models import AudioClassifier, ConvNeXtClassifier, ResNetClassifier

LEGACY_LAYOUT = "animal-spot"


class LegacyResNet(ResNetClassifier):
    """ANIMAL-SPOT's ResNet: our ResNet's weights and names, fed ``(batch, 1, time, freq)``.

    Its strides and shortcuts (max_pool 0/1/2, a 1×1 conv + BN shortcut where stride or width
    changes, bottleneck stride on the 3×3 conv) are those of :class:`ResNetClassifier`.
    """

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1, F, T)`` → features of the transposed ``(batch, 1, T, F)`` input."""
        return super().forward_features(x.transpose(-1, -2))


class LegacyConvNeXt(ConvNeXtClassifier):
    """The fork's ConvNeXt: torchvision ``features``, then mean pool and Linear (no LayerNorm)."""

    def __init__(self, size: str, num_classes: int) -> None:
        super().__init__(size, num_classes)
        self.classifier[0] = nn.Identity()  # the fork pools the features without a LayerNorm

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1, F, T)`` → features of the transposed ``(batch, 1, T, F)`` input."""
        return super().forward_features(x.transpose(-1, -2))


def build_legacy_model(
    config: ModelConfig, num_classes: int, layout: str = LEGACY_LAYOUT
) -> AudioClassifier:
    """The network a legacy bundle holds, without weights (``bundle_from_dict`` loads them)."""
    if layout != LEGACY_LAYOUT:
        raise BadModel(f"unknown legacy layout {layout!r}", fix="upgrade animal-spot")
    if config.backbone == "convnext":
        return LegacyConvNeXt(config.convnext, num_classes)
    return LegacyResNet(
        config.resnet,
        num_classes,
        conv_kernel_size=config.conv_kernel_size,
        max_pool=config.max_pool,
    )
