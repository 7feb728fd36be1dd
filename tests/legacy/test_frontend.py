"""A .pk's dataOpts give our Frontend, and it reproduces ANIMAL-SPOT's front-end numbers (§2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from animal_spot.frontend.spectrogram import Frontend, linear_indices
from animal_spot.legacy.models import config_from_data_opts

from . import FORK_DATA_OPTS

SR = FORK_DATA_OPTS["sr"]


def data_opts(n_fft: int, hop_length: int) -> dict:
    return {**FORK_DATA_OPTS, "n_fft": n_fft, "hop_length": hop_length}


def frontend(n_fft: int, hop_length: int, min_max_norm: bool = False) -> Frontend:
    audio, spectrogram = config_from_data_opts(
        data_opts(n_fft, hop_length), sequence_len_ms=1000, min_max_norm=min_max_norm
    )
    return Frontend(audio, spectrogram)


def reference(samples: np.ndarray, n_fft: int, hop: int, min_max_norm: bool = False) -> np.ndarray:
    """The notes' front end in float64 numpy: (n,) → (256, frames)."""
    y = np.concatenate([samples[:1], samples[1:] - 0.98 * samples[:-1]])
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    n_frames = 1 + (len(y) - n_fft) // hop
    frames = np.stack([y[i * hop : i * hop + n_fft] * window for i in range(n_frames)], axis=1)
    power = np.abs(np.fft.rfft(frames, axis=0) / np.sqrt((window**2).sum())) ** 2
    n = 2 * (power.shape[0] - 1)
    low, high = math.floor(n * 500 / SR), min(n - 1, math.ceil(n * 10000 / SR))
    kept = power[low:high]
    compressed = kept[np.arange(256) * len(kept) // 256]  # nearest, src = ⌊k·in/out⌋
    db = 10 * np.log10(np.maximum(compressed, 1e-10))
    if min_max_norm:
        db = db - db.min()
        return db / db.max()
    return np.clip((db - 20 + 100) / 100, 0, 1)


def tone(freq_hz: float, n: int, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(n) / SR)


@pytest.mark.parametrize(
    ("n_fft", "hop", "first", "last"), [(4096, 441, 46, 928), (1024, 172, 11, 232)]
)
def test_kept_bins_and_nearest_resize_match_the_notes(n_fft, hop, first, last):
    indices = linear_indices(n_fft, SR, 500.0, 10000.0, 256)
    count = last - first + 1  # 883 bins → 256 rows, or 222 → 256 (some repeat)
    assert indices.tolist() == [first + k * count // 256 for k in range(256)]
    assert indices[0] == first and indices[-1] <= last


@pytest.mark.parametrize(("n_fft", "hop"), [(4096, 441), (1024, 172)])
def test_frontend_from_data_opts_equals_the_notes_pipeline_on_tone_and_noise(n_fft, hop):
    n = n_fft + 7 * hop + 100
    rng = np.random.default_rng(0)
    samples = tone(3000.0, n) + 0.01 * rng.standard_normal(n)
    got = frontend(n_fft, hop)(torch.from_numpy(samples).float(), fit=False)
    assert got.shape == (256, 1 + (n - n_fft) // hop)  # frames = 1 + ⌊(N − n_fft)/hop⌋
    np.testing.assert_allclose(got.numpy(), reference(samples, n_fft, hop), atol=2e-4)
    got = frontend(n_fft, hop, min_max_norm=True)(torch.from_numpy(samples).float(), fit=False)
    np.testing.assert_allclose(got.numpy(), reference(samples, n_fft, hop, True), atol=2e-4)


def test_tone_on_a_known_bin_lands_on_its_row_at_the_level_the_formula_gives():
    n_fft, hop, k, amplitude = 1024, 172, 100, 0.5
    freq_hz = k * SR / n_fft  # exactly on STFT bin 100
    samples = torch.from_numpy(tone(freq_hz, 4 * n_fft, amplitude)).float()
    spec = frontend(n_fft, hop)(samples, fit=False)
    rows = [r for r in range(256) if 11 + r * 222 // 256 == k]  # rows that copy bin 100
    assert rows == [103]
    assert int(spec.mean(-1).argmax()) == 103
    # |X_k| = A·Σw/2 = A·N/4; power ÷ Σw² (= 3N/8); pre-emphasis gain |1 − 0.98·e^(−iω)|².
    omega = 2 * math.pi * k / n_fft
    gain = 1 + 0.98**2 - 2 * 0.98 * math.cos(omega)
    power = (amplitude * n_fft / 4) ** 2 / (3 * n_fft / 8) * gain
    expected = (10 * math.log10(power) + 80) / 100
    assert spec[103].mean().item() == pytest.approx(expected, abs=1e-3)


def test_zero_one_db_normalisation_is_db_plus_80_over_100_clamped():
    fe = frontend(1024, 172)
    silence = fe(torch.zeros(4096), fit=False)
    assert torch.all(silence == 0)  # 1e-10 floor: −100 dB → −0.2 → clamped to 0
    loud = fe(torch.from_numpy(tone(100 * SR / 1024, 4096, amplitude=20.0)).float(), fit=False)
    assert loud.max() == 1  # far above 20 dB → clamped to 1
