"""The front end puts energy where the physics says, with ANIMAL-SPOT's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animal_spot.config import AudioConfig, SpectrogramConfig
from animal_spot.frontend.spectrogram import (
    Frontend,
    fit_frames,
    hz_to_mel,
    linear_bin_range,
    linear_indices,
    mel_filterbank,
    mel_to_hz,
    normalize_db,
    normalize_min_max,
    power_stft,
    preemphasis,
    to_db,
)

SR = 44100


def tone(freq_hz: float, duration_s: float = 1.0, sr: int = SR) -> torch.Tensor:
    t = torch.arange(int(duration_s * sr), dtype=torch.float64) / sr
    return torch.sin(2 * torch.pi * freq_hz * t).float()


def test_kept_linear_bins_match_animal_spot_for_4096_and_1024():
    assert linear_bin_range(4096, SR, 500, 10000) == range(46, 929)
    assert linear_bin_range(1024, SR, 500, 10000) == range(11, 233)


def test_frame_count_is_one_plus_floor_of_samples_minus_nfft_over_hop():
    samples = torch.randn(2, 10_000)
    assert power_stft(samples, 1024, 172).shape == (2, 513, 1 + (10_000 - 1024) // 172)


def test_clip_shorter_than_nfft_gives_one_frame_instead_of_failing():
    assert power_stft(torch.randn(300), 1024, 172).shape == (513, 1)


def test_power_of_a_unit_sine_sums_to_its_mean_square_after_window_scaling():
    # |X|²/Σw² summed over bins of one frame = Σ(w·x)²/Σw² ≈ mean(x²) = 0.5 (Parseval, one side ×2).
    power = power_stft(tone(3000.0), 1024, 172)
    one_sided = power[1:-1].sum(0) * 2 + power[0] + power[-1]
    assert one_sided.mean().item() == pytest.approx(0.5 * 1024, rel=0.02)


def test_preemphasis_keeps_first_sample_and_subtracts_098_of_previous():
    x = torch.tensor([1.0, 2.0, 4.0])
    assert preemphasis(x, 0.98).tolist() == pytest.approx([1.0, 2.0 - 0.98, 4.0 - 1.96])


@pytest.mark.parametrize("freq_hz", [1000.0, 3000.0, 7500.0])
def test_tone_lands_in_its_linear_bin(freq_hz):
    frontend = Frontend(AudioConfig(), SpectrogramConfig())
    spec = frontend(tone(freq_hz))
    row = int(spec.mean(-1).argmax())
    row_hz = int(linear_indices(1024, SR, 500.0, 10000.0, 256)[row]) * SR / 1024
    assert abs(row_hz - freq_hz) <= SR / 1024


@pytest.mark.parametrize("freq_hz", [1000.0, 3000.0, 7500.0])
def test_tone_lands_in_its_mel_band(freq_hz):
    config = SpectrogramConfig(freq_compression="mel", n_freq_bins=64)
    spec = Frontend(AudioConfig(), config)(tone(freq_hz))
    band = int(spec.mean(-1).argmax())
    centres = mel_to_hz(np.linspace(hz_to_mel(500.0), hz_to_mel(10000.0), 66))[1:-1]
    spacing = centres[band + 1] - centres[band] if band < 63 else centres[band] - centres[band - 1]
    assert abs(centres[band] - freq_hz) <= spacing


def test_mel_filters_peak_at_one_and_cover_the_range():
    bank = mel_filterbank(1024, SR, 500.0, 10000.0, 64)
    assert bank.shape == (64, 513)
    assert torch.allclose(bank.max(1).values, torch.ones(64))
    covered = (bank.sum(0) > 0).nonzero().flatten()
    assert covered.min() * SR / 1024 <= 520 and covered.max() * SR / 1024 >= 9900


def test_db_floor_and_zero_one_normalisation_follow_the_formula():
    power = torch.tensor([0.0, 1e-12, 1e-4, 1.0, 100.0, 1e4])
    db = to_db(power, -100.0)
    assert db.tolist() == pytest.approx([-100, -100, -40, 0, 20, 40])
    assert normalize_db(db, 20.0, -100.0).tolist() == pytest.approx([0, 0, 0.4, 0.8, 1.0, 1.0])


def test_min_max_normalisation_spans_zero_to_one_per_spectrogram_and_skips_flat_ones():
    x = torch.stack([torch.arange(12.0).reshape(3, 4) - 5, torch.full((3, 4), 2.0)])
    out = normalize_min_max(x)
    assert out[0].min() == 0 and out[0].max() == 1
    assert torch.equal(out[1], torch.zeros(3, 4))


def test_fit_frames_centres_pads_and_crops():
    x = torch.arange(5.0)[None]
    assert fit_frames(x, 9).tolist() == [[0, 0, 0, 1, 2, 3, 4, 0, 0]]
    assert fit_frames(x, 3).tolist() == [[1, 2, 3]]
    assert fit_frames(x, 3, offset=0).tolist() == [[0, 1, 2]]
    assert fit_frames(x, 8, offset=3).tolist() == [[0, 0, 0, 0, 1, 2, 3, 4]]


def test_window_frames_follow_the_fork_and_old_defaults():
    assert Frontend(AudioConfig(), SpectrogramConfig()).n_frames == 256
    old = SpectrogramConfig(n_fft=4096, hop_length=441, sequence_len_ms=1280)
    assert Frontend(AudioConfig(), old).n_frames == 128
    assert Frontend(AudioConfig(), SpectrogramConfig(sequence_len_ms=500)).n_frames == 128


def test_frontend_output_shape_and_range_for_a_batch():
    frontend = Frontend(AudioConfig(), SpectrogramConfig())
    out = frontend(torch.randn(3, frontend.window_samples()) * 0.1)
    assert out.shape == (3, 256, 256)
    assert out.min() >= 0 and out.max() <= 1


def test_mfcc_gives_32_coefficients_per_frame():
    config = SpectrogramConfig(freq_compression="mfcc", n_freq_bins=64)
    out = Frontend(AudioConfig(), config)(tone(2000.0))
    assert out.shape[0] == 32 and torch.isfinite(out).all()


def test_streamed_blocks_give_the_same_power_as_the_whole_signal():
    # Two hours at 2 kHz fit in memory, so the streamed frames can be checked against one STFT.
    sr = 2000
    audio_config = AudioConfig(sample_rate_hz=sr)
    config = SpectrogramConfig(n_fft=256, hop_length=100, fmin_hz=50, fmax_hz=900, n_freq_bins=64)
    frontend = Frontend(audio_config, config)
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(2 * 3600 * sr).astype(np.float32)
    block = 60 * sr + 37  # not a multiple of the hop
    blocks = (signal[i : i + block] for i in range(0, signal.size, block))
    streamed = torch.cat(list(frontend.stream_power(blocks)), dim=-1)
    whole = frontend.power(torch.from_numpy(signal))
    assert streamed.shape == whole.shape
    assert torch.allclose(streamed, whole, rtol=1e-4, atol=1e-7)
