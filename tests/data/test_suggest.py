"""suggested.toml: the front end fitted to native rates, annotated boxes and call durations."""

from __future__ import annotations

import dataclasses
import math

import pytest

from animal_spot.annotations.event import Event
from animal_spot.config import load_toml
from animal_spot.data.manifest import Clip
from animal_spot.data.suggest import DataSummary, format_toml, suggest, summarize
from animal_spot.frontend.spectrogram import linear_bin_range
from tests.conftest import write_wav

# NARW-like: 2 kHz recordings, up-calls of 0.9–1.6 s between 40 and 300 Hz.
UPCALLS = DataSummary(
    sample_rates_hz=(2000,) * 6,
    durations_s=tuple(0.9 + 0.7 * i / 19 for i in range(20)),
    low_hz=(40.0,) * 20,
    high_hz=(300.0,) * 20,
    window_s=2.0,
)


def frames(values: dict) -> int:
    audio, spec = values["audio"], values["spectrogram"]
    samples = int(spec["sequence_len_ms"] / 1000 * audio["sample_rate_hz"])
    return 1 + (samples - spec["n_fft"]) // spec["hop_length"]


def check_front_end(values: dict, lowest_native_hz: int) -> None:
    """The invariants every suggestion keeps."""
    rate = values["audio"]["sample_rate_hz"]
    spec = values["spectrogram"]
    assert rate <= lowest_native_hz
    assert 0 <= spec["fmin_hz"] < spec["fmax_hz"] <= 0.45 * rate
    for name in ("n_fft", "hop_length"):
        assert math.log2(spec[name]).is_integer(), name
    assert frames(values) >= 32
    bins = len(linear_bin_range(spec["n_fft"], rate, spec["fmin_hz"], spec["fmax_hz"]))
    assert 2 <= spec["n_freq_bins"] <= min(bins, 256)


def test_upcall_boxes_give_a_band_with_margin_a_low_rate_and_long_frames():
    values = suggest(UPCALLS).values
    assert values["audio"]["sample_rate_hz"] == 1000  # ≥ 2.5 × fmax, below the native 2 kHz
    spec = values["spectrogram"]
    assert 0 <= spec["fmin_hz"] < 40 and 300 < spec["fmax_hz"] <= 360
    assert spec["sequence_len_ms"] == 2000  # 1.25 × 1.53 s → 2000 ms, at most the 2 s clips
    # A 300 Hz band needs frames of ≥ 100 ms to hold 32 bins: 128 samples at 1 kHz.
    assert spec["n_fft"] == 128
    check_front_end(values, 2000)


def test_without_boxes_the_rate_is_the_lowest_native_one_and_the_band_fits_every_file():
    summary = DataSummary(sample_rates_hz=(48000, 48000, 48000, 16000), durations_s=(0.2,) * 9)
    values = suggest(summary).values
    assert values["audio"]["sample_rate_hz"] == 16000  # never upsample the 16 kHz file
    spec = values["spectrogram"]
    assert spec["fmin_hz"] == 320 and spec["fmax_hz"] == 7200
    assert spec["sequence_len_ms"] == 250
    check_front_end(values, 16000)


@pytest.mark.parametrize(
    "summary",
    [
        DataSummary(sample_rates_hz=(44100,), durations_s=(0.05, 0.08, 0.1)),
        DataSummary(sample_rates_hz=(32000,) * 3, durations_s=(0.06,) * 5),
        DataSummary(sample_rates_hz=(8000, 96000), durations_s=(3.0, 6.8)),
        DataSummary(
            sample_rates_hz=(4000,), durations_s=(1.0,), low_hz=(500.0,), high_hz=(3500.0,)
        ),
        DataSummary(sample_rates_hz=(), durations_s=()),
    ],
)
def test_every_suggestion_keeps_the_rules_and_builds_a_valid_config(summary, tmp_path):
    suggestion = suggest(summary)
    lowest = min(summary.sample_rates_hz, default=44100)
    check_front_end(suggestion.values, lowest)
    path = tmp_path / "suggested.toml"
    path.write_text(format_toml(suggestion, path))
    config = load_toml(path)
    assert config.audio.sample_rate_hz == suggestion.values["audio"]["sample_rate_hz"]
    assert config.spectrogram.n_fft == suggestion.values["spectrogram"]["n_fft"]


def test_the_file_says_where_each_value_came_from_and_reads_back(tmp_path):
    path = tmp_path / "suggested.toml"
    text = format_toml(suggest(UPCALLS), path, data_dir=tmp_path)
    path.write_text(text)
    config = load_toml(path)
    assert config.data.data_dir == tmp_path
    lines = text.splitlines()
    assert lines[0].startswith("#") and f"train --config {path}" in lines[1]
    for index, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            assert lines[index - 1].startswith("# "), line  # its source sits above it
    assert "5th/95th percentiles" in text and "lowest native rate" in text


def test_pcen_is_suggested_for_one_annotated_call_type_and_db_for_several_classes():
    one_type = dataclasses.replace(UPCALLS, n_call_types=1)
    assert suggest(one_type).values["spectrogram"]["normalization"] == "pcen"
    several = dataclasses.replace(UPCALLS, n_call_types=3)
    assert suggest(several).values["spectrogram"]["normalization"] == "db"
    clips_only = dataclasses.replace(UPCALLS, low_hz=(), high_hz=(), n_call_types=1)
    assert suggest(clips_only).values["spectrogram"]["normalization"] == "db"


def test_summarize_reads_native_rates_and_takes_durations_from_boxes_or_clips(tmp_path):
    a = write_wav(tmp_path / "a.wav", 3.0, sample_rate_hz=8000)
    b = write_wav(tmp_path / "b.wav", 0.4, sample_rate_hz=22050)
    clips = [
        Clip(a, "call", "a", 0.5, 1.5),
        Clip(a, "noise", "a", 2.0, 3.0),
        Clip(b, "call", "b"),
        Clip(tmp_path / "gone.wav", "call", "gone"),
    ]
    from_clips = summarize(clips)
    assert sorted(from_clips.sample_rates_hz) == [8000, 22050]
    assert sorted(from_clips.durations_s) == pytest.approx([0.4, 1.0])
    boxes = [Event(0.6, 0.9, "call", low_hz=900.0, high_hz=1200.0), Event(1, 2, "noise")]
    from_boxes = summarize(clips, boxes, window_s=1.0)
    assert from_boxes.durations_s == pytest.approx((0.3,))
    assert (from_boxes.low_hz, from_boxes.high_hz, from_boxes.window_s) == (
        (900.0,),
        (1200.0,),
        1.0,
    )
