"""torchvision ResNet 18–152 on one-channel spectrograms, with ANIMAL-SPOT's stem options."""

from __future__ import annotations

from typing import cast

from torch import Tensor, nn

from ..config import ModelConfig
from .base import AudioClassifier


class ResNetClassifier(AudioClassifier):
    """A torchvision ResNet whose stem reads one channel; the parameter names are torchvision's.

    The stem is a k×k conv, 64 channels, stride 2, padding k//2, no bias, then BN and ReLU
    (ANIMAL-SPOT §5). ``max_pool`` chooses how the stem reaches layer1:

    - 1: 3×3/s2 max pool, layer1 stride 1 (torchvision; total stride 32);
    - 0: no pool, layer1's first block strides by 2 (total stride 32);
    - 2: no pool, layer1 stride 1 (total stride 16).

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_classes: outputs of ``fc``.
        conv_kernel_size: stem kernel size (odd); ImageNet's stem is 7.
        max_pool: 0, 1 or 2 as above.
    """

    stem_key = "conv1.weight"
    head_prefix = "fc."

    def __init__(
        self, depth: int, num_classes: int, *, conv_kernel_size: int = 7, max_pool: int = 1
    ) -> None:
        super().__init__(f"resnet{depth}", num_classes)
        import torchvision  # here, not above: importing it takes seconds a prepare never needs

        net = getattr(torchvision.models, self.name)(weights=None, num_classes=num_classes)
        k = conv_kernel_size
        self.conv1 = nn.Conv2d(1, 64, k, stride=2, padding=k // 2, bias=False)
        # torchvision's init for every conv; for 7×7 the same distribution as its RGB stem
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.bn1 = net.bn1
        self.relu = net.relu
        self.maxpool = net.maxpool if max_pool == 1 else nn.Identity()
        self.layer1 = net.layer1
        self.layer2 = net.layer2
        self.layer3 = net.layer3
        self.layer4 = net.layer4
        self.fc = net.fc
        self.num_features = net.fc.in_features  # 512 · block expansion
        if max_pool == 0:
            self.fresh_keys = _stride_first_block(self.layer1[0])

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1, F, T)`` → ``(batch, num_features, F/32, T/32)`` (F/16 for max_pool 2)."""
        x = self.relu(self.bn1(self.conv1(self.oriented(x))))
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)  # type: ignore[no-any-return]

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Mean over every position (ANIMAL-SPOT's pooling) → ``fc``."""
        pooled = features.mean(dim=(-2, -1))  # (batch, num_features)
        return pooled if pre_logits else self.fc(pooled)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` by a fresh ``Linear(num_features → num_classes)``."""
        self.fc = nn.Linear(self.num_features, num_classes)
        self.num_classes = num_classes


def _stride_first_block(block: nn.Module) -> tuple[str, ...]:
    """Make layer1's first block stride by 2 (max_pool 0); return the keys ImageNet lacks."""
    from torchvision.models.resnet import BasicBlock, Bottleneck

    if isinstance(block, Bottleneck):
        # torchvision strides a bottleneck on its 3×3 conv; its 1×1 shortcut (64 → 256) exists
        # already, so the ImageNet weights still fit, only the stride changes
        block.conv2.stride = (2, 2)
        block.downsample[0].stride = (2, 2)
        block.stride = 2
        return ()
    # a 64 → 64 BasicBlock has no shortcut: add torchvision's 1×1/s2 conv + BN, freshly made
    shortcut = nn.Conv2d(64, 64, kernel_size=1, stride=2, bias=False)
    nn.init.kaiming_normal_(shortcut.weight, mode="fan_out", nonlinearity="relu")
    basic = cast(BasicBlock, block)
    basic.conv1.stride = (2, 2)
    basic.downsample = nn.Sequential(shortcut, nn.BatchNorm2d(64))
    basic.stride = 2
    return ("layer1.0.downsample.",)


def build_resnet(depth: int, config: ModelConfig, num_classes: int) -> ResNetClassifier:
    """A ResNet of ``depth`` with the stem options of ``config``."""
    model = ResNetClassifier(
        depth,
        num_classes,
        conv_kernel_size=config.conv_kernel_size,
        max_pool=config.max_pool,
    )
    model.time_major = config.time_major
    return model


def build(config: ModelConfig, num_classes: int) -> ResNetClassifier:
    """The ResNet ``config.resnet`` names (the ``resnet`` backbone's builder)."""
    return build_resnet(config.resnet, config, num_classes)
