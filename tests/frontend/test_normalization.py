"""PCEN and per-window normalisation: right by their formulas, and blind to a recorder's gain."""

from __future__ import annotations

import math

import pytest
import torch

from animal_spot.config import AudioConfig, SpectrogramConfig
from animal_spot.errors import BadConfig
from animal_spot.frontend.spectrogram import (
    PCEN_CHUNK_FRAMES,
    Frontend,
    normalize_per_window,
    pcen,
    pcen_smoothing,
)
from tests.conftest import synth

AUDIO = AudioConfig(sample_rate_hz=2000)


def small_frontend(normalization: str, **changes) -> Frontend:
    spectrogram = SpectrogramConfig(
        n_fft=256,
        hop_length=64,
        n_freq_bins=64,
        fmin_hz=50,
        fmax_hz=400,
        sequence_len_ms=2000,
        normalization=normalization,
        **changes,
    )
    return Frontend(AUDIO, spectrogram)


def reference_pcen(energy, s, gain, bias, power, eps):
    """Wang et al. (2017) frame by frame, the smoother started at each row's median."""
    smoothed = torch.empty_like(energy)
    state = energy.median(-1).values
    for t in range(energy.shape[-1]):
        state = (1 - s) * state + s * energy[..., t]
        smoothed[..., t] = state
    return (energy / (eps + smoothed) ** gain + bias) ** power - bias**power


@pytest.mark.parametrize("n_frames", [7, 62, PCEN_CHUNK_FRAMES + 45])
def test_pcen_equals_the_frame_by_frame_formula(n_frames):
    generator = torch.Generator().manual_seed(0)
    energy = torch.rand(3, 16, n_frames, generator=generator, dtype=torch.float64) ** 4 * 1e-3
    s = pcen_smoothing(0.4, 2000 / 64)
    got = pcen(energy.float(), s, gain=0.98, bias=2.0, power=0.5, eps=1e-10)
    want = reference_pcen(energy, s, 0.98, 2.0, 0.5, 1e-10)
    assert torch.allclose(got.double(), want, rtol=1e-4, atol=1e-5)


def test_pcen_smoother_decays_by_one_over_e_in_its_time_constant():
    frames_per_s = 2000 / 64
    s = pcen_smoothing(0.4, frames_per_s)
    frames_to_decay = -1 / math.log(1 - s)
    assert frames_to_decay / frames_per_s == pytest.approx(0.4, rel=0.05)


@pytest.mark.parametrize("gain_db", [-12.0, -6.0, 6.0, 12.0])
def test_pcen_output_barely_moves_with_a_constant_gain(gain_db):
    frontend = small_frontend("pcen")
    samples = torch.from_numpy(synth(2.0, sample_rate_hz=2000, calls=[(0.5, 1.0, 150.0)]))
    scale = 10 ** (gain_db / 20)
    base, scaled = frontend(samples), frontend(samples * scale)
    # Only the AGC's leftover factor g^(1 − alpha) can change the output (g = power gain).
    leftover = abs(10 ** (gain_db / 10 * (1 - 0.98)) - 1)
    assert (scaled - base).abs().max() <= leftover * base.abs().max() + 1e-4
    assert (scaled - base).abs().mean() < 0.02


@pytest.mark.parametrize("gain_db", [-12.0, 12.0])
def test_per_window_output_does_not_change_with_a_constant_gain(gain_db):
    frontend = small_frontend("per_window")
    samples = torch.from_numpy(synth(2.0, sample_rate_hz=2000, calls=[(0.5, 1.0, 150.0)]))
    base = frontend(samples)
    scaled = frontend(samples * 10 ** (gain_db / 20))
    assert torch.allclose(base, scaled, atol=1e-3)  # 0.02 dB: float32 rounding


def test_absolute_db_normalisation_moves_with_gain_unlike_the_others():
    samples = torch.from_numpy(synth(2.0, sample_rate_hz=2000, calls=[(0.5, 1.0, 150.0)]))
    frontend = small_frontend("db")
    moved = (frontend(samples * 4) - frontend(samples)).mean()
    assert moved == pytest.approx(20 * math.log10(4) / 100, abs=0.01)  # +12 dB = +0.12


def test_per_window_rows_sit_at_zero_median_over_a_coloured_background():
    db = torch.randn(8, 40) * 3 + torch.linspace(-80, -20, 8)[:, None]
    normalised = normalize_per_window(db, scale_db=20.0)
    assert normalised.median(-1).values.abs().max() < 1e-6
    assert torch.allclose(normalised * 20, db - db.median(-1, keepdim=True).values)


def test_a_call_stands_out_of_the_per_window_background():
    frontend = small_frontend("per_window")
    samples = torch.from_numpy(
        synth(2.0, sample_rate_hz=2000, calls=[(0.5, 1.0, 200.0)], call_level=0.1)
    )
    spec = frontend(samples)
    row = round((200 - 50) / (400 - 50) * 64)
    assert spec[row - 2 : row + 3, 20:40].mean() > 0.5  # > 10 dB above the row's median
    assert spec[:, :5].abs().median() < 0.2


def test_pcen_rejects_mfccs_and_min_max_flag_conflicts():
    with pytest.raises(BadConfig, match="pcen"):
        SpectrogramConfig(normalization="pcen", freq_compression="mfcc")
    with pytest.raises(BadConfig, match="disagree"):
        SpectrogramConfig(normalization="per_window", min_max_norm=True)
    assert SpectrogramConfig(min_max_norm=True).norm == "min_max"
    assert SpectrogramConfig(normalization="min_max").norm == "min_max"
