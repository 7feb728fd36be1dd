"""torchvision ConvNeXt tiny/small/base/large on one-channel spectrograms."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import ModelConfig
from .base import AudioClassifier
from .stem import one_channel_conv


class ConvNeXtClassifier(AudioClassifier):
    """A torchvision ConvNeXt whose 4×4/s4 patchify stem reads one channel.

    The parameter names are torchvision's (``features.*``, ``classifier.0`` LayerNorm2d,
    ``classifier.2`` Linear), so ImageNet state dicts map onto it. Stochastic depth keeps
    torchvision's default for each size. Unlike the fork, torchvision's head LayerNorm stays.

    Args:
        size: ``tiny``, ``small``, ``base`` or ``large``.
        num_classes: outputs of the final Linear.
    """

    stem_key = "features.0.0.weight"
    head_prefix = "classifier.2."

    def __init__(self, size: str, num_classes: int, *, head_norm: bool = True) -> None:
        super().__init__(f"convnext_{size}", num_classes)
        import torchvision  # here, not above: importing it takes seconds a prepare never needs

        net = getattr(torchvision.models, self.name)(weights=None, num_classes=num_classes)
        # features[0] = Sequential(Conv2d(3 → C, 4, stride 4), LayerNorm2d): the patchify stem
        stem = one_channel_conv(net.features[0][0])
        _init_like_torchvision(stem)
        net.features[0][0] = stem
        self.features = net.features
        self.classifier = net.classifier  # LayerNorm2d(C), Flatten, Linear(C → K)
        if not head_norm:  # the fork's ConvNeXt pools the features straight into the Linear
            self.classifier[0] = nn.Identity()
        self.num_features = net.classifier[-1].in_features

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1, F, T)`` → ``(batch, num_features, F/32, T/32)``."""
        return self.features(self.oriented(x))  # type: ignore[no-any-return]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Mean over every position (torchvision's pooling) → LayerNorm → Linear."""
        pooled = features.mean(dim=(-2, -1), keepdim=True)  # (batch, C, 1, 1): LayerNorm2d is 4-D
        pooled = self.classifier[0](pooled).flatten(1)  # (batch, C)
        return pooled if pre_logits else self.classifier[-1](pooled)  # type: ignore[no-any-return]

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final Linear by a fresh ``Linear(num_features → num_classes)``."""
        head = nn.Linear(self.num_features, num_classes)
        _init_like_torchvision(head)
        self.classifier[-1] = head
        self.num_classes = num_classes


def _init_like_torchvision(layer: nn.Conv2d | nn.Linear) -> None:
    """torchvision ConvNeXt's init of every conv and Linear: truncated normal, zero bias."""
    nn.init.trunc_normal_(layer.weight, std=0.02)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def build_convnext(size: str, config: ModelConfig, num_classes: int) -> ConvNeXtClassifier:
    """A ConvNeXt of ``size``; ``config``'s ResNet stem options do not apply to it."""
    model = ConvNeXtClassifier(size, num_classes, head_norm=config.head_norm)
    model.time_major = config.time_major
    return model


def build(config: ModelConfig, num_classes: int) -> ConvNeXtClassifier:
    """The ConvNeXt ``config.convnext`` names (the ``convnext`` backbone's builder)."""
    return build_convnext(config.convnext, config, num_classes)
