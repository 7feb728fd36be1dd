"""Front-end checks before training: a band the STFT cannot give, and rates that misfit the data."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from animal_spot.config import AudioConfig, ExperimentConfig, SpectrogramConfig, TrainConfig
from animal_spot.data.manifest import Clip
from animal_spot.errors import BadConfig
from animal_spot.training.fit import train
from animal_spot.training.suitability import (
    check_band,
    data_warnings,
    native_rates,
    warn_about_frontend,
)
from tests.conftest import write_wav


def test_fmax_above_nyquist_is_a_one_line_bad_config_naming_the_fix():
    with pytest.raises(BadConfig, match=r"fmax_hz 1500 lies above the Nyquist.*--fmax") as err:
        check_band(AudioConfig(sample_rate_hz=2000), SpectrogramConfig(fmax_hz=1500))
    assert "\n" not in str(err.value)


def test_train_refuses_fmax_above_nyquist_before_making_a_run_folder(tmp_path):
    config = ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=2000),
        spectrogram=SpectrogramConfig(fmax_hz=900, sequence_len_ms=20),
        train=TrainConfig(model_dir=tmp_path / "runs", run_name="x"),
    )
    with pytest.raises(BadConfig, match="a window would have no frames"):
        train(config, {"train": [], "val": []})
    with pytest.raises(BadConfig, match="Nyquist"):  # refused where the config is made
        dataclasses.replace(config, spectrogram=SpectrogramConfig(fmax_hz=1500))
    assert not (tmp_path / "runs").exists()


def test_a_thin_band_and_fmax_at_nyquist_give_one_warning_each():
    spec = SpectrogramConfig(n_fft=256, fmin_hz=500, fmax_hz=1000, n_freq_bins=256)
    lines = check_band(AudioConfig(sample_rate_hz=2000), spec)
    assert len(lines) == 2
    assert "reaches the Nyquist frequency" in lines[0]
    assert "holds 64 STFT bins" in lines[1] and "--n_freq_bins 64" in lines[1]
    assert check_band(AudioConfig(sample_rate_hz=16000), SpectrogramConfig(fmax_hz=7000)) == []
    assert check_band(AudioConfig(), SpectrogramConfig()) == []  # 222 bins → 256: no warning


def test_most_files_below_the_band_or_far_below_the_rate_give_one_warning_each():
    audio, spec = AudioConfig(sample_rate_hz=44100), SpectrogramConfig(fmax_hz=10000)
    lines = data_warnings(audio, spec, [2000, 2000, 2000, 48000])
    assert len(lines) == 2
    assert "above the Nyquist frequency of 3 of 4" in lines[0] and "--fmax 900" in lines[0]
    assert "more than twice the native rate of 3 of 4" in lines[1] and "--sr 2000" in lines[1]
    assert data_warnings(audio, spec, [2000, 48000, 48000]) == []  # a minority only
    assert data_warnings(audio, spec, []) == []


def test_native_rates_read_a_bounded_spread_of_headers_and_skip_unreadable_files(tmp_path):
    clips = []
    for i in range(6):
        path = write_wav(tmp_path / f"c{i}.wav", 0.1, sample_rate_hz=8000 if i % 2 else 16000)
        clips += [Clip(path, "a", "g", 0.0, 0.05), Clip(path, "a", "g", 0.05, 0.1)]
    clips.append(Clip(tmp_path / "gone.wav", "a", "g"))
    assert sorted(native_rates(clips)) == [8000] * 3 + [16000] * 3
    assert len(native_rates(clips, limit=3)) == 3


def test_the_warnings_are_logged_once_each(tmp_path, caplog):
    clips = [
        Clip(write_wav(tmp_path / f"{i}.wav", 0.1, sample_rate_hz=2000), "a", "g") for i in "ab"
    ]
    with caplog.at_level(logging.WARNING, logger="animal_spot.training.suitability"):
        lines = warn_about_frontend(AudioConfig(sample_rate_hz=44100), SpectrogramConfig(), clips)
    assert [r.getMessage() for r in caplog.records] == lines
    # The fork's defaults (222 bins for 256 rows) are fine; the files at 2 kHz are not.
    assert [line.split(" ")[0] for line in lines] == [
        "spectrogram.fmax_hz",
        "audio.sample_rate_hz",
    ]
