"""suggested.toml: a front end fitted to what prepare read (native rates, annotated band, lengths).

The rules, each value's comment in the file says which one gave it:

- ``audio.sample_rate_hz``: never above the lowest native rate (no file is upsampled, so no
  spectrogram shows an empty band above its own Nyquist). With annotated boxes, the smallest
  common rate ≥ 2.5 × fmax below that; without, the lowest native rate.
- ``spectrogram.fmin_hz`` / ``fmax_hz``: the 5th percentile of the boxes' Low Freq and the 95th
  of their High Freq, widened by 10 % of that band; without boxes, min(500 Hz, 2 % of the rate)
  to 45 % of the rate, which every file's Nyquist covers. fmax never exceeds 45 % of the rate.
- ``spectrogram.sequence_len_ms``: 1.25 × the 90th percentile of the call durations, rounded up
  (10 ms steps below 0.1 s, 50 ms below 1 s, 100 ms above), at most the clips' ``--window_s``
  for Raven sources.
- ``n_fft``: the power of two nearest a 40 ms frame, lengthened (up to 250 ms) where the band
  would hold fewer than 32 STFT bins, and at most an eighth of the window (at least 20 ms).
  ``hop_length``: n_fft / 4, halved until the window holds at least 32 frames, or doubled (up
  to n_fft / 2) while it holds more than 512.
- ``n_freq_bins``: the STFT bins in the band, at most 256.
- ``spectrogram.normalization``: ``pcen`` for one call type in annotated recordings (a
  detector's data), else ``db`` (docs/training.md says why).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import audio
from ..annotations import raven
from ..annotations.event import Event
from ..atomic import atomic_write_bytes
from ..config import SpectrogramConfig
from ..errors import AnimalSpotError
from .manifest import Clip

FILE_NAME = "suggested.toml"
COMMON_RATES_HZ = (1000, 2000, 4000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000)
NYQUIST_SHARE = 0.45  # fmax ≤ 0.45 × rate: inside every resampler's and recorder's passband
MIN_BINS = 32
MIN_FRAMES = 32
MAX_FRAMES = 512
MAX_FREQ_BINS = 256


@dataclass(frozen=True, slots=True)
class DataSummary:
    """What the suggestion is drawn from: one native rate per file, one duration per call."""

    sample_rates_hz: tuple[int, ...]
    durations_s: tuple[float, ...]
    low_hz: tuple[float, ...] = ()
    high_hz: tuple[float, ...] = ()
    window_s: float | None = None  # the clip length of a Raven source: a cap on the window
    n_call_types: int = 0  # labels other than noise: 1 with boxes means a detector's data


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Config values by section and field, and where each came from (``"section.field"``)."""

    values: dict[str, dict[str, Any]]
    sources: dict[str, str]


def summarize(
    clips: Sequence[Clip],
    boxes: Sequence[Event] = (),
    *,
    window_s: float | None = None,
    noise_label: str = "noise",
) -> DataSummary:
    """Native rates of the clips' files (headers only) and the calls' durations and band.

    With ``boxes`` (Raven selections), durations and band come from them; otherwise the
    durations are those of the clips not labelled ``noise_label``.
    """
    headers: dict[Path, audio.AudioInfo] = {}
    for path in sorted({clip.path for clip in clips}):
        try:
            headers[path] = audio.info(path)
        except AnimalSpotError:
            continue  # reported by prepare already
    calls = [b for b in boxes if b.label and b.label.casefold() != noise_label.casefold()]
    if calls:
        durations = [b.duration_s for b in calls if b.duration_s > 0]
    else:
        durations = []
        for clip in clips:
            if clip.label.casefold() == noise_label.casefold() or clip.path not in headers:
                continue
            end_s = headers[clip.path].duration_s if clip.end_s is None else clip.end_s
            durations.append(end_s - (clip.start_s or 0.0))
    banded = [
        (b.low_hz, b.high_hz)
        for b in calls
        if b.low_hz is not None and b.high_hz is not None and b.high_hz > b.low_hz
    ]
    return DataSummary(
        sample_rates_hz=tuple(h.sample_rate_hz for h in headers.values()),
        durations_s=tuple(d for d in durations if d > 0),
        low_hz=tuple(low for low, _ in banded),
        high_hz=tuple(high for _, high in banded),
        window_s=window_s,
        n_call_types=len({c.label for c in clips if c.label.casefold() != noise_label.casefold()}),
    )


def selection_boxes(
    clips: Sequence[Clip], raven_dir: str | Path, annotation_column: str | None = None
) -> list[Event]:
    """The selections of the tables that belong to the clips' recordings (unreadable: none)."""
    recordings = sorted({clip.path for clip in clips})
    pairs, _ = raven.pair_tables(recordings, raven.table_files(raven_dir))
    boxes: list[Event] = []
    for recording, table in pairs.items():
        try:
            boxes += raven.read_table(table, annotation_column, recording=recording)
        except AnimalSpotError:
            continue  # reported by prepare already
    return boxes


def _round(value: float, up: bool) -> float:
    """To a step of 1/20 of the value's decade: 326 → 330 (up), 14 → 10 (down)."""
    if value <= 0:
        return 0.0
    step = 10 ** math.floor(math.log10(value)) / 20
    steps = math.ceil(value / step - 1e-9) if up else math.floor(value / step + 1e-9)
    rounded = steps * step
    return float(round(rounded, 6))


def _round_ms(value_ms: float) -> float:
    step = 10 if value_ms < 100 else 50 if value_ms < 1000 else 100
    return float(math.ceil(value_ms / step - 1e-9) * step)


def _stft_bins(n_fft: int, sample_rate_hz: int, fmin_hz: float, fmax_hz: float) -> int:
    from ..frontend.spectrogram import linear_bin_range  # torch only where a suggestion is made

    return len(linear_bin_range(n_fft, sample_rate_hz, fmin_hz, fmax_hz))


def _has_pcen() -> bool:
    if "normalization" not in {f.name for f in dataclasses.fields(SpectrogramConfig)}:
        return False
    try:
        SpectrogramConfig(normalization="pcen")
    except (AnimalSpotError, TypeError, ValueError):
        return False
    return True


def suggest(summary: DataSummary) -> Suggestion:
    """The front end the rules in this module's docstring give for ``summary``."""
    values: dict[str, dict[str, Any]] = {"audio": {}, "spectrogram": {}}
    sources: dict[str, str] = {}
    rates = Counter(summary.sample_rates_hz)
    lowest = min(rates) if rates else 44100
    listing = ", ".join(f"{n} at {rate} Hz" for rate, n in sorted(rates.items())) or "none read"
    if summary.low_hz:
        low, high = np.percentile(summary.low_hz, 5), np.percentile(summary.high_hz, 95)
        margin = max(0.1 * (high - low), 0.05 * high, 1.0)
        fmin, fmax = _round(max(low - margin, 0.0), up=False), _round(high + margin, up=True)
        needed = [r for r in (*COMMON_RATES_HZ, lowest) if 2.5 * fmax <= r <= lowest]
        rate = min(needed) if needed else lowest
        sources["audio.sample_rate_hz"] = (
            f"the smallest common rate >= 2.5 x fmax ({2.5 * fmax:g} Hz), never above the lowest"
            f" native rate (files: {listing})"
        )
        sources["spectrogram.fmin_hz"] = sources["spectrogram.fmax_hz"] = (
            f"5th/95th percentiles of the Low/High Freq of {len(summary.low_hz)} boxes "
            f"({low:.0f}-{high:.0f} Hz), widened by {margin:.0f} Hz"
        )
    else:
        rate = lowest
        fmin, fmax = _round(min(500.0, 0.02 * rate), up=False), _round(0.45 * rate, up=False)
        sources["audio.sample_rate_hz"] = f"the lowest native rate (files: {listing})"
        sources["spectrogram.fmin_hz"] = sources["spectrogram.fmax_hz"] = (
            "no annotated band: min(500 Hz, 2 % of the rate) to 45 % of the rate, inside every "
            "file's Nyquist frequency"
        )
    if fmax > NYQUIST_SHARE * rate:
        fmax = _round(NYQUIST_SHARE * rate, up=False)
        sources["spectrogram.fmax_hz"] += f"; capped at 45 % of {rate} Hz"
    if fmin >= fmax:  # only where a low rate caps fmax below the boxes
        fmin = _round(fmax / 2, up=False)
    if summary.durations_s:
        p90 = float(np.percentile(summary.durations_s, 90))
        sequence_ms = max(_round_ms(1250 * p90), 20.0)
        how = (
            f"1.25 x the 90th percentile ({p90:.3f} s) of {len(summary.durations_s)} call "
            "durations, rounded up"
        )
        if summary.window_s is not None and sequence_ms > 1000 * summary.window_s:
            sequence_ms = 1000 * summary.window_s
            how += f"; capped at the clips' --window_s {summary.window_s:g} s"
    else:
        sequence_ms, how = 1000.0, "no call durations: the default"
    sources["spectrogram.sequence_len_ms"] = how
    window_samples = int(sequence_ms / 1000 * rate)
    frame_s = max(0.04, MIN_BINS / (fmax - fmin))
    frame_s = min(frame_s, 0.25, max(0.02, sequence_ms / 1000 / 8))
    n_fft = max(16, 2 ** round(math.log2(frame_s * rate)))
    while n_fft > max(16, window_samples) and n_fft > 16:
        n_fft //= 2
    hop = max(1, n_fft // 4)
    while hop > 1 and 1 + (window_samples - n_fft) // hop < MIN_FRAMES:
        hop //= 2
    while hop < n_fft // 2 and 1 + (window_samples - n_fft) // hop > MAX_FRAMES:
        hop *= 2  # long windows: fewer frames, still overlapping by half
    n_frames = 1 + max(window_samples - n_fft, 0) // hop
    sources["spectrogram.n_fft"] = (
        f"{1000 * n_fft / rate:.0f} ms frames: the power of two nearest 40 ms, longer where the "
        f"band would hold < {MIN_BINS} bins, at most 1/8 of the window"
    )
    sources["spectrogram.hop_length"] = (
        f"n_fft / 4, halved to >= {MIN_FRAMES} frames or doubled (to n_fft / 2) to <= "
        f"{MAX_FRAMES}: {n_frames} frames"
    )
    bins = _stft_bins(n_fft, rate, fmin, fmax)
    sources["spectrogram.n_freq_bins"] = f"the {bins} STFT bins in the band, at most 256"
    values["audio"]["sample_rate_hz"] = int(rate)
    values["spectrogram"].update(
        fmin_hz=float(fmin),
        fmax_hz=float(fmax),
        sequence_len_ms=float(sequence_ms),
        n_fft=int(n_fft),
        hop_length=int(hop),
        n_freq_bins=int(min(max(bins, 2), MAX_FREQ_BINS)),
    )
    if _has_pcen():
        # As benchmarks/accuracy.py found: PCEN for one call type in long recordings (NARW),
        # the dB scale for telling types apart (PCEN erased the Watkins species' tones).
        is_detection = bool(summary.low_hz) and summary.n_call_types <= 1
        values["spectrogram"]["normalization"] = "pcen" if is_detection else "db"
        sources["spectrogram.normalization"] = (
            "one call type in annotated recordings: PCEN adapts to each recording's noise "
            "floor, so it holds across nights and gains"
            if is_detection
            else "several classes: the dB scale keeps the sustained tones that tell them apart "
            "(train with gain augmentation: --recipe classifier)"
        )
    return Suggestion(values, sources)


def format_toml(suggestion: Suggestion, path: Path, data_dir: Path | None = None) -> str:
    """The suggestion as TOML that ``config.load_toml`` reads, each value under its source."""
    import tomli_w

    values = {section: dict(fields) for section, fields in suggestion.values.items()}
    sources = dict(suggestion.sources)
    if data_dir is not None:
        values["data"] = {"data_dir": str(data_dir)}
        sources["data.data_dir"] = "the manifests written beside this file"
    lines = [
        "# A front end fitted to the data that `animal-spot prepare` read; check it, then train:",
        f"#   animal-spot train --config {path} (flags and --set override any value)",
        "# Each value is preceded by where it came from.",
    ]
    for section, fields in values.items():
        lines += ["", f"[{section}]"]
        for name, value in fields.items():
            if f"{section}.{name}" in sources:
                lines.append(f"# {sources[section + '.' + name]}")
            lines.append(tomli_w.dumps({name: value}).strip())
    return "\n".join(lines) + "\n"


def write_suggestion(
    clips: Sequence[Clip],
    path: str | Path,
    *,
    raven_dir: str | Path | None = None,
    annotation_column: str | None = None,
    window_s: float | None = None,
) -> Path:
    """Summarise ``clips`` (and their Raven boxes), suggest a front end, write it as TOML."""
    path = Path(path)
    boxes = selection_boxes(clips, raven_dir, annotation_column) if raven_dir is not None else []
    summary = summarize(clips, boxes, window_s=window_s if raven_dir is not None else None)
    text = format_toml(suggest(summary), path, data_dir=path.parent.resolve())
    return atomic_write_bytes(path, text.encode("utf-8"))
