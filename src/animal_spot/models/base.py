"""The interface every network shares."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn


class AudioClassifier(nn.Module):
    """A spectrogram classifier split timm's way: features, then pooling and a linear head.

    Input is a spectrogram batch ``(batch, 1, n_freq, n_frames)`` of at least 32×32.
    Subclasses keep torchvision's parameter names, so ImageNet state dicts map onto them, and
    declare where their stem and head live for :func:`animal_spot.models.load_pretrained`.

    Attributes:
        name: the network name, e.g. ``resnet18``; also picks the torchvision ImageNet file.
        num_classes: outputs of the classifier.
        num_features: channels of the last feature map, i.e. the embedding size.
        fresh_keys: state-dict key prefixes ImageNet weights lack (layers this model adds).
    """

    stem_key: ClassVar[str]  # state-dict key of the first conv's weight
    head_prefix: ClassVar[str]  # state-dict prefix of the final Linear

    def __init__(self, name: str, num_classes: int) -> None:
        super().__init__()
        self.name = name
        self.num_classes = num_classes
        self.num_features = 0
        self.fresh_keys: tuple[str, ...] = ()
        self.time_major = False  # ANIMAL-SPOT's networks read (time, freq): see ModelConfig

    def oriented(self, x: Tensor) -> Tensor:
        """``(batch, 1, F, T)`` as the first layer reads it: ``(…, T, F)`` when time-major."""
        return x.transpose(-1, -2) if self.time_major else x

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1, n_freq, n_frames)`` → last-stage feature map ``(batch, C, h, w)``."""
        raise NotImplementedError

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """Mean-pool ``(batch, C, h, w)`` and classify → ``(batch, num_classes)``.

        With ``pre_logits`` the pooled embedding ``(batch, num_features)`` comes back instead.
        """
        raise NotImplementedError

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final Linear by a freshly initialised one with ``num_classes`` outputs."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """``(batch, 1, n_freq, n_frames)`` → logits ``(batch, num_classes)``."""
        return self.forward_head(self.forward_features(x))

    def embed(self, x: Tensor) -> Tensor:
        """``(batch, 1, n_freq, n_frames)`` → pooled embedding ``(batch, num_features)``."""
        return self.forward_head(self.forward_features(x), pre_logits=True)
