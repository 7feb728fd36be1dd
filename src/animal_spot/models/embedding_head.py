"""A small head on frozen BirdNET V2.4 embeddings (``--backbone birdnet``), registered as birdnet.

The extractor itself (TFLite, in ``animal_spot.features``) is not part of the network: the
head's input is the 1024-d embedding, so ``model.pt`` holds only the head's weights and the
configs that remake the embedding.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..config import ModelConfig
from .base import AudioClassifier

EMBEDDING_SIZE = 1024  # BirdNET V2.4's global-average-pool width


class EmbeddingHead(AudioClassifier):
    """Dropout → Linear, or Dropout → Linear → ReLU → Dropout → Linear with ``hidden`` units.

    Input: embeddings ``(batch, 1024)`` or ``(batch, 1, 1024, 1)`` (the predictor's shape,
    which suits channels-last); ``forward_features`` flattens them, so ``embed`` (and
    ``--latent_extract``) give the BirdNET embedding itself.

    Args:
        num_classes: outputs.
        hidden: hidden units (0 = a linear head).
        dropout: dropout probability on the embedding and the hidden layer (training only).
    """

    stem_key = ""  # no stem: ImageNet weights never apply
    head_prefix = "fc."

    def __init__(
        self, num_classes: int, *, hidden: int = 0, dropout: float = 0.2, in_features: int = 1024
    ) -> None:
        super().__init__("birdnet", num_classes)
        self.num_features = in_features
        self.hidden_size = hidden
        self.dropout = dropout
        self.hidden: nn.Module = nn.Identity()
        width = in_features
        if hidden > 0:
            self.hidden = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(in_features, hidden), nn.ReLU(inplace=True)
            )
            width = hidden
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """``(batch, 1024)`` or ``(batch, 1, 1024, 1)`` → ``(batch, 1024)``."""
        return x.reshape(x.shape[0], -1)

    def forward_head(self, features: Tensor, pre_logits: bool = False) -> Tensor:
        """``(batch, 1024)`` → logits; with ``pre_logits`` the embedding itself."""
        features = features.reshape(features.shape[0], -1)
        if pre_logits:
            return features
        return self.fc(self.drop(self.hidden(features)))  # type: ignore[no-any-return]

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh final Linear with ``num_classes`` outputs (the hidden layer is kept)."""
        width = self.hidden_size if self.hidden_size > 0 else self.num_features
        self.fc = nn.Linear(width, num_classes)
        self.num_classes = num_classes


def build_embedding_head(config: ModelConfig, num_classes: int) -> AudioClassifier:
    return EmbeddingHead(num_classes, hidden=config.head_hidden, dropout=config.head_dropout)
