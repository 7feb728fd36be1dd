"""Models for the robustness tests: a random-weight one, and a tiny one trained on tones."""

from __future__ import annotations

from pathlib import Path

import pytest

from animal_spot.config import ExperimentConfig, ModelConfig, TrainConfig
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips
from animal_spot.training.fit import train
from tests.prediction.conftest import SMALL_AUDIO, SMALL_SPECTROGRAM, save_random_model


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    """A ResNet-18 with seeded random weights: scores any recording, finds nothing in particular."""
    return save_random_model(tmp_path_factory.mktemp("random") / "model.pt")


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    """ResNet-18 trained on tone vs noise clips: 6 epochs of 32 × 31 inputs (~15 s)."""
    root = tmp_path_factory.mktemp("trained")
    clips = synthesize_clips(root / "clips", classes=("tone", "noise"), clips_per_class=96)
    prepared = prepare(root / "prepared", clips_dir=clips.folder, split=(0.8, 0.1, 0.1), seed=0)
    config = ExperimentConfig(
        audio=SMALL_AUDIO,
        spectrogram=SMALL_SPECTROGRAM,
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(
            model_dir=root / "runs",
            run_name="tone",
            max_train_epochs=6,
            epochs_per_eval=1,
            batch_size=8,
            lr=6e-5,
            early_stopping_patience_epochs=6,
            seed=0,
        ),
    )
    return train(config, prepared.splits).model_path
