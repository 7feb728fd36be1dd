"""ClipDataset turns clips into fixed-size model inputs, reproducibly."""

from __future__ import annotations

import pytest
import torch

from animal_spot.config import AudioConfig, AugmentConfig, SpectrogramConfig
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import Clip
from animal_spot.errors import BadData
from tests.conftest import write_wav


@pytest.fixture
def clips(tmp_path):
    short = write_wav(tmp_path / "short.wav", 0.4, calls=[(0.1, 0.2, 2000.0)])
    long = write_wav(tmp_path / "long.wav", 2.5, calls=[(1.0, 0.5, 5000.0)])
    span = Clip(long, "b", "g2", start_s=0.9, end_s=1.6)
    return [Clip(short, "a", "g1"), Clip(long, "b", "g2"), span]


def test_every_clip_becomes_one_window_of_the_configured_size(clips):
    dataset = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig())
    for i in range(len(dataset)):
        spec, label = dataset[i]
        assert spec.shape == (1, 256, 256)
        assert label == (0 if i == 0 else 1)


def test_a_span_reads_only_its_part_of_the_recording(clips):
    dataset = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig(sequence_len_ms=500))
    spec = dataset.spectrogram(2)[0]
    # The 5 kHz call fills the span: its row dominates the centre of the window.
    rows_hz = torch.arange(256) * (10000 - 500) / 256 + 500
    assert abs(rows_hz[spec[:, 40:90].mean(-1).argmax()] - 5000) < 100


def test_augmented_training_items_are_reproducible_per_seed_and_change_per_epoch(clips):
    config = AugmentConfig(enabled=True)
    dataset = ClipDataset(
        clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config, is_train=True, seed=3
    )
    first = dataset[1][0]
    assert torch.equal(first, dataset[1][0])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[1][0])
    plain = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config)
    assert plain.augmenter is None  # validation and test sets are never augmented


def test_noise_folder_is_mixed_into_training_clips(tmp_path, clips):
    write_wav(tmp_path / "noise" / "n1.wav", 3.0, noise_level=0.3, seed=5)
    config = AugmentConfig(enabled=True, noise_dir=tmp_path / "noise")
    dataset = ClipDataset(
        clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config, is_train=True
    )
    spec = dataset[0][0]
    assert spec.shape == (1, 256, 256) and (spec > 0).float().mean() > 0.9


def test_unknown_label_is_a_clear_error(clips):
    with pytest.raises(BadData, match="not among the classes"):
        ClipDataset(clips, ["a"], AudioConfig(), SpectrogramConfig())
