"""Synthetic clip sets (tones, up-sweeps, clicks in noise) and a small, fast training config."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips

CALLS = ("tone", "upsweep", "click")
# 16 kHz, 32 linear bins, 0.5 s windows of 62 frames: a ResNet-18 step takes ~0.2 s on a core.
SMALL_AUDIO = AudioConfig(sample_rate_hz=16000)
SMALL_SPECTROGRAM = SpectrogramConfig(
    n_fft=256, hop_length=128, n_freq_bins=32, fmin_hz=200, fmax_hz=7000, sequence_len_ms=500
)
Splits = dict[str, list[Clip]]


@pytest.fixture(scope="module", autouse=True)
def _one_thread_per_module(one_thread: None) -> None:
    """Every test here on one intra-op thread (tests/conftest.py)."""


def small_config(model_dir: Path, run_name: str, **train: Any) -> ExperimentConfig:
    """The small front end with ResNet-18; ``train`` overrides TrainConfig fields."""
    settings: dict[str, Any] = {
        "model_dir": model_dir,
        "run_name": run_name,
        "max_train_epochs": 2,
        "epochs_per_eval": 1,
        "batch_size": 8,
        "seed": 0,
        **train,
    }
    return ExperimentConfig(
        audio=SMALL_AUDIO,
        spectrogram=SMALL_SPECTROGRAM,
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(**settings),
    )


def with_train(config: ExperimentConfig, **train: Any) -> ExperimentConfig:
    """``config`` with some TrainConfig fields replaced."""
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **train))


def make_splits(folder: Path, classes: tuple[str, ...], clips_per_class: int) -> Splits:
    """Synthesise convention-named clips over 20 tapes and split them by tape."""
    made = synthesize_clips(
        folder / "clips", classes=classes, clips_per_class=clips_per_class, n_tapes=20, seed=0
    )
    return prepare(folder / "prepared", clips_dir=made.folder, seed=0).splits


@pytest.fixture(scope="session")
def three_class_splits(tmp_path_factory: pytest.TempPathFactory) -> Splits:
    """100 clips per call type (train 210, val 45, test 45)."""
    return make_splits(tmp_path_factory.mktemp("three_class"), CALLS, 100)


@pytest.fixture(scope="session")
def tiny_splits(tmp_path_factory: pytest.TempPathFactory) -> Splits:
    """12 clips per call type: enough for a few batches, for tests of mechanics."""
    return make_splits(tmp_path_factory.mktemp("tiny"), CALLS, 12)


@pytest.fixture(scope="session")
def tiny_with_noise_splits(tmp_path_factory: pytest.TempPathFactory) -> Splits:
    """10 clips per call type plus 10 of noise only: for the detector."""
    return make_splits(tmp_path_factory.mktemp("tiny_noise"), (*CALLS, "noise"), 10)
