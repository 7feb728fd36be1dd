"""The networks: `build_model` builds the one a config's backbone names (see `backbones`)."""

from __future__ import annotations

from ..backbones import backbone_of, network_names
from ..config import ModelConfig
from ..errors import BadConfig
from .base import AudioClassifier as AudioClassifier
from .convnext import ConvNeXtClassifier as ConvNeXtClassifier
from .embedding_head import EmbeddingHead as EmbeddingHead
from .pretrained import hub_weights_path as hub_weights_path
from .pretrained import load_pretrained as load_pretrained
from .pretrained import read_state_dict as read_state_dict
from .resnet import ResNetClassifier as ResNetClassifier
from .stem import adapt_stem_weight as adapt_stem_weight

__all__ = [
    "AudioClassifier",
    "ConvNeXtClassifier",
    "EmbeddingHead",
    "ResNetClassifier",
    "adapt_stem_weight",
    "build_model",
    "hub_weights_path",
    "list_models",
    "load_pretrained",
    "read_state_dict",
]


def build_model(config: ModelConfig, num_classes: int) -> AudioClassifier:
    """The network ``config`` names, with ``num_classes`` outputs and any pretrained weights.

    Args:
        config: backbone, size, stem options and ``pretrained`` (``"hub"`` or a path).
        num_classes: outputs of the classifier (the data's class count).

    Raises:
        BadConfig: ``num_classes`` is below 1.
        BadModel: pretrained weights are missing, unreadable or do not fit.
    """
    if num_classes < 1:
        raise BadConfig(f"num_classes = {num_classes} must be at least 1")
    model = backbone_of(config).build(config, num_classes)
    if config.pretrained:
        load_pretrained(model, config.pretrained, stem_adapt=config.stem_adapt)
    return model


def list_models() -> list[str]:
    """Every network the registered backbones build, sorted (``birdnet`` … ``resnet50``)."""
    return network_names()
