"""BirdNET's input from a window: the time-expansion rule, resampling, chunks, level (no extra)."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.config import ExperimentConfig, ModelConfig, SpectrogramConfig, override, to_dict
from animal_spot.errors import BadConfig
from animal_spot.features import auto_time_expansion, resolve_time_expansion
from animal_spot.features.waveform import (
    BIRDNET_SAMPLE_RATE_HZ,
    CHUNK_SAMPLES,
    chunks_per_window,
    expand,
    normalize_level,
    to_chunks,
)
from tests.conftest import synth


def peak_hz(samples: np.ndarray, sample_rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sample_rate_hz)[spectrum.argmax()])


@pytest.mark.parametrize(
    ("band_hz", "factor"),
    [
        ((500, 10000), 1.0),  # birds: BirdNET's own band
        ((0, 2500), 1.0),  # a top between 2 and 15 kHz is left where it is
        ((50, 400), 5.0),  # right-whale up-calls: the top lifted to 2 kHz
        ((10, 100), 20.0),  # blue-whale song
        ((10, 1000), 2.0),  # exactly 2 kHz after expansion is enough
        ((20000, 120000), 0.1),  # bats: the top brought down to 12 kHz
        ((0, 1.0), 1000.0),  # beyond the simple factors: the largest
    ],
)
def test_auto_time_expansion_expands_a_band_just_enough_to_reach_birdnets(band_hz, factor):
    assert auto_time_expansion(*band_hz) == factor


def test_auto_time_expansion_refuses_an_empty_band():
    with pytest.raises(ValueError, match="empty"):
        auto_time_expansion(400, 400)


def test_time_expansion_by_10_moves_a_200_hz_tone_to_2_khz_and_shortens_it_10_times():
    tone = synth(2.0, sample_rate_hz=2000, calls=[(0.0, 2.0, 200.0)], noise_level=0.0)
    expanded = expand(tone, 2000, 10.0)
    assert len(expanded) == pytest.approx(2.0 / 10 * BIRDNET_SAMPLE_RATE_HZ, abs=2)
    assert peak_hz(expanded, BIRDNET_SAMPLE_RATE_HZ) == pytest.approx(2000, abs=10)


def test_time_expansion_below_1_lowers_a_40_khz_bat_call_to_2_khz():
    call = synth(0.05, sample_rate_hz=192000, calls=[(0.0, 0.05, 40000.0)], noise_level=0.0)
    expanded = expand(call, 192000, 0.05)
    assert len(expanded) == pytest.approx(0.05 / 0.05 * BIRDNET_SAMPLE_RATE_HZ, abs=2)
    assert peak_hz(expanded, BIRDNET_SAMPLE_RATE_HZ) == pytest.approx(2000, abs=5)


def test_without_expansion_a_tone_keeps_its_frequency_through_resampling_to_48_khz():
    tone = synth(1.0, sample_rate_hz=16000, calls=[(0.0, 1.0, 3000.0)], noise_level=0.0)
    assert peak_hz(expand(tone, 16000, 1.0), BIRDNET_SAMPLE_RATE_HZ) == pytest.approx(3000, abs=3)


def test_a_short_window_is_zero_padded_into_one_centred_chunk():
    window = np.ones(48000, dtype=np.float32)
    (chunk,) = to_chunks(window)
    assert chunk.shape == (CHUNK_SAMPLES,)
    assert chunk[:48000].sum() == 0 and chunk[96000:].sum() == 0
    assert chunk[48000:96000].min() == 1


def test_a_long_window_becomes_the_fewest_chunks_that_cover_it_from_start_to_end():
    window = np.arange(7 * 48000, dtype=np.float32)  # 7 s at 48 kHz
    chunks = to_chunks(window)
    assert chunks.shape == (3, CHUNK_SAMPLES)
    assert chunks[0, 0] == 0 and chunks[-1, -1] == window[-1]
    covered = np.unique(chunks)
    np.testing.assert_array_equal(covered, window)  # nothing dropped
    assert chunks_per_window(7.0, 1.0) == 3
    assert chunks_per_window(60.0, 20.0) == 1


def test_rms_and_peak_normalisation_give_windows_at_any_gain_the_same_samples():
    window = synth(1.0, sample_rate_hz=16000, calls=[(0.2, 0.5, 3000.0)])
    for mode in ("rms", "peak"):
        reference = normalize_level(window, mode)
        for gain_db in (-12, 6):
            louder = normalize_level(window * 10 ** (gain_db / 20), mode)
            np.testing.assert_allclose(louder, reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(normalize_level(window, "none"), window)
    silence = np.zeros(100, dtype=np.float32)
    np.testing.assert_array_equal(normalize_level(silence, "rms"), silence)  # not amplified


def test_time_expansion_auto_follows_the_spectrogram_band():
    model = ModelConfig(backbone="birdnet", time_expansion="auto")
    narw = SpectrogramConfig(fmin_hz=50, fmax_hz=400)
    assert resolve_time_expansion(model, narw) == 5.0
    fixed = ModelConfig(backbone="birdnet", time_expansion=0.1)
    assert resolve_time_expansion(fixed, narw) == 0.1


def test_birdnet_config_fields_read_from_flags_and_survive_a_round_trip():
    config = override(
        ExperimentConfig(),
        {
            "model.backbone": "birdnet",
            "model.time_expansion": "auto",
            "model.head_hidden": "128",
            "model.waveform_normalization": "rms",
        },
    )
    assert config.model.name == "birdnet"
    assert config.model.time_expansion == "auto" and config.model.head_hidden == 128
    assert to_dict(config.model)["time_expansion"] == "auto"
    numeric = override(config, {"model.time_expansion": "12.5"})
    assert numeric.model.time_expansion == 12.5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"time_expansion": 0.0}, "time_expansion"),
        ({"head_dropout": 1.0}, "head_dropout"),
        ({"waveform_normalization": "loud"}, "waveform_normalization"),
        ({"pretrained": "hub"}, "pretrained"),
    ],
)
def test_bad_birdnet_settings_are_refused_naming_the_field(values, message):
    with pytest.raises(BadConfig, match=message):
        ModelConfig(backbone="birdnet", **values)
