"""Augmentations move energy by their factors and reproduce from a seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animal_spot.config import AugmentConfig, SpectrogramConfig
from animal_spot.frontend.augment import (
    Augmenter,
    NoiseBank,
    apply_gain,
    fit_noise,
    mix_noise,
    pitch_shift,
    seeded_rng,
    spec_augment,
    time_stretch,
)
from animal_spot.frontend.spectrogram import compress


def line_at(row: int, n_freq: int = 200, n_frames: int = 50) -> torch.Tensor:
    spec = torch.full((n_freq, n_frames), 1e-6)
    spec[row] = 1.0
    return spec


@pytest.mark.parametrize(("row", "factor"), [(40, 1.5), (60, 1.25), (90, 0.5), (100, 0.8)])
def test_pitch_shift_by_factor_moves_a_line_by_that_factor(row, factor):
    shifted = pitch_shift(line_at(row), factor)
    assert shifted.shape == (200, 50)
    assert abs(int(shifted.mean(-1).argmax()) - row * factor) <= 1


def test_pitch_shift_down_fills_the_top_with_the_median():
    spec = line_at(50)
    shifted = pitch_shift(spec, 0.5)
    assert torch.all(shifted[100:] == spec.median())


@pytest.mark.parametrize(("n_frames", "factor"), [(100, 1.5), (100, 0.5), (256, 2.0), (64, 0.75)])
def test_time_stretch_changes_the_frame_count_by_the_factor(n_frames, factor):
    stretched = time_stretch(torch.rand(10, n_frames), factor)
    assert stretched.shape == (10, round(n_frames * factor))


def test_gain_scales_power_by_decibels():
    assert apply_gain(torch.ones(2, 2), 10.0).tolist() == [[10.0, 10.0], [10.0, 10.0]]


def test_noise_mix_reaches_the_requested_snr():
    signal = torch.rand(20, 30) + 0.5
    noise = torch.rand(20, 30) * 3
    mixed = mix_noise(signal, noise, snr_db=6)
    added = mixed - signal
    snr = 10 * torch.log10(signal.sum() / added.sum())
    assert snr.item() == pytest.approx(6.0, abs=1e-4)


def test_fit_noise_tiles_short_and_crops_long_noise():
    rng = np.random.default_rng(0)
    short = torch.arange(3.0)[None]
    assert fit_noise(short, 7, rng).tolist() == [[0, 1, 2, 0, 1, 2, 0]]
    long = torch.arange(100.0)[None]
    cropped = fit_noise(long, 10, rng)
    assert cropped.shape == (1, 10) and torch.all(cropped.diff() == 1)


def make_augmenter(noise: NoiseBank | None = None) -> Augmenter:
    config = SpectrogramConfig()
    return Augmenter(AugmentConfig(enabled=True), lambda p: compress(p, config, 44100), noise)


def test_same_seed_gives_the_same_augmentation_and_another_seed_differs():
    power = torch.rand(513, 200)
    noise = NoiseBank(3, lambda i: torch.rand(513, 300, generator=torch.Generator().manual_seed(i)))
    augmenter = make_augmenter(noise)
    first = augmenter(power, 256, seeded_rng(7, 0, 5))
    again = augmenter(power, 256, seeded_rng(7, 0, 5))
    other = augmenter(power, 256, seeded_rng(7, 1, 5))
    assert torch.equal(first, again)
    assert first.shape != other.shape or not torch.equal(first, other)


def test_every_noise_file_can_be_drawn():
    drawn: list[int] = []

    def load(index: int) -> torch.Tensor:
        drawn.append(index)
        return torch.rand(513, 300)

    augmenter = make_augmenter(NoiseBank(3, load))
    for i in range(60):
        augmenter(torch.rand(513, 100), 256, seeded_rng(0, 0, i))
    assert set(drawn) == {0, 1, 2}


def test_short_clip_is_padded_to_the_window_before_noise_is_mixed():
    augmenter = make_augmenter(NoiseBank(1, lambda i: torch.rand(513, 400)))
    config = AugmentConfig(enabled=True, time_stretch_probability=0.0)
    augmenter.config = config
    out = augmenter(torch.rand(513, 50), 256, seeded_rng(0))
    assert out.shape == (256, 256)
    assert (out > 0).all()  # noise covers the padding too


def test_spec_augment_masks_stripes_no_wider_than_their_fraction():
    spec = torch.rand(64, 100) + 1.0
    masked = spec_augment(
        spec, np.random.default_rng(4), time_masks=2, time_mask_fraction=0.1, freq_masks=3,
        freq_mask_fraction=0.05,
    )  # fmt: skip
    fill = spec.mean()
    changed = masked != spec
    assert torch.all(masked[changed] == fill)
    masked_columns = int(changed.all(0).sum())
    masked_rows = int(changed.all(1).sum())
    assert 0 < masked_columns <= 2 * 10
    assert 0 < masked_rows <= 3 * 3
    assert torch.equal(spec, spec.clone())  # the input is left as it was


def test_spec_augment_reproduces_from_its_seed_and_can_be_turned_off():
    spec = torch.rand(32, 50)
    first = spec_augment(spec, np.random.default_rng(1))
    assert torch.equal(first, spec_augment(spec, np.random.default_rng(1)))
    assert not torch.equal(first, spec_augment(spec, np.random.default_rng(2)))
    off = spec_augment(spec, np.random.default_rng(1), time_masks=0, freq_masks=0)
    assert torch.equal(off, spec)
