"""Models for the prediction tests: small random-weight bundles saved as model.pt files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

from animal_spot.bundle import ModelBundle
from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.prepare import prepare
from animal_spot.models import build_model
from animal_spot.synthetic import synthesize_clips
from animal_spot.training.fit import train

# 8 kHz, 32 bins, 0.5 s windows of 31 frames: small enough for thousands of windows per test.
SMALL_AUDIO = AudioConfig(sample_rate_hz=8000)
SMALL_SPECTROGRAM = SpectrogramConfig(
    n_fft=256,
    hop_length=128,
    n_freq_bins=32,
    fmin_hz=300,
    fmax_hz=3900,
    sequence_len_ms=500,
    freq_compression="mel",
)

MakeModel = Callable[..., Path]


def save_random_model(
    path: Path,
    classes: Sequence[str] = ("noise", "tone"),
    *,
    seed: int = 0,
    thresholds: dict[str, float] | None = None,
    spectrogram: SpectrogramConfig = SMALL_SPECTROGRAM,
    audio: AudioConfig = SMALL_AUDIO,
) -> Path:
    """A ResNet-18 with seeded random weights and the small front end, saved as ``path``."""
    torch.manual_seed(seed)
    config = ExperimentConfig(audio=audio, spectrogram=spectrogram, model=ModelConfig())
    model = build_model(config.model, len(classes)).eval()
    return ModelBundle(config, list(classes), model, thresholds=dict(thresholds or {})).save(path)


def train_tone_model(root: Path) -> Path:
    """ResNet-18 trained on tone vs noise clips: ~110 optimisation steps on 32 × 31 inputs."""
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


@pytest.fixture
def make_model(tmp_path: Path) -> MakeModel:
    """``make_model(name, classes=..., seed=..., ...)`` → path of a saved random model."""

    def make(name: str = "model.pt", **kwargs) -> Path:
        return save_random_model(tmp_path / "models" / name, **kwargs)

    return make
