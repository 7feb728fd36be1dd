"""Models for the robustness tests: a random-weight one, and a tiny one trained on tones."""

from __future__ import annotations

from pathlib import Path

import pytest

from animal_spot.data.manifest import write_manifest
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips
from tests.prediction.conftest import save_random_model, train_tone_model


@pytest.fixture(scope="module")
def random_model(tmp_path_factory) -> Path:
    """A ResNet-18 with seeded random weights: scores any recording, finds nothing in particular."""
    return save_random_model(tmp_path_factory.mktemp("random") / "model.pt")


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory) -> Path:
    """ResNet-18 trained on tone vs noise clips: 6 epochs of 32 × 31 inputs (~15 s)."""
    return train_tone_model(tmp_path_factory.mktemp("trained"))


def prepared_clips(root: Path, clips_per_class: int, n_tapes: int) -> Path:
    """Tone and click clips, prepared into ``root/data``/train, val, test.csv."""
    made = synthesize_clips(
        root / "clips", classes=("tone", "click"), clips_per_class=clips_per_class,
        n_tapes=n_tapes, seed=0,
    )  # fmt: skip
    splits = prepare(root / "prepared", clips_dir=made.folder, seed=0).splits
    for name, clips in splits.items():
        write_manifest(clips, root / "data" / f"{name}.csv")
    return root / "data"
