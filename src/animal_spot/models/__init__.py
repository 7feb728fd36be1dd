"""Build any network by its registry name: ``build_model(ModelConfig, num_classes)``."""

from __future__ import annotations

from ..config import ModelConfig
from ..errors import BadConfig
from . import convnext as convnext  # registers convnext_*
from . import embedding_head as embedding_head  # registers birdnet (a head on embeddings)
from . import resnet as resnet  # registers resnet*
from .base import MODELS as MODELS
from .base import AudioClassifier as AudioClassifier
from .convnext import ConvNeXtClassifier as ConvNeXtClassifier
from .embedding_head import EmbeddingHead as EmbeddingHead
from .pretrained import hub_weights_path as hub_weights_path
from .pretrained import load_pretrained as load_pretrained
from .pretrained import read_state_dict as read_state_dict
from .resnet import ResNetClassifier as ResNetClassifier
from .stem import adapt_stem_weight as adapt_stem_weight

__all__ = [
    "MODELS",
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
    model = MODELS.get(config.name)(config, num_classes)
    if config.pretrained:
        load_pretrained(model, config.pretrained, stem_adapt=config.stem_adapt)
    return model


def list_models() -> list[str]:
    """Every registered model name, sorted (``convnext_base`` … ``resnet50``)."""
    return MODELS.names()
