"""Pure: a window's waveform → BirdNET's input, 3 s chunks at 48 kHz (time expansion, level, fit).

Time expansion: audio at ``sample_rate_hz`` is treated as if it had been recorded at
``sample_rate_hz × factor`` and resampled from there to 48 kHz. A factor above 1 raises every
frequency by it and shortens every sound by it (a right-whale up-call at 50–400 Hz × 5 sits at
250 Hz–2 kHz); below 1 it lowers bat calls into BirdNET's 0–15 kHz. `auto_time_expansion`
expands no more than it must, because every step also squeezes the call in time.

A model window of ``window_s`` (original time) lasts ``window_s / factor`` after expansion:
up to 3 s it is zero-padded into one chunk, centred; a longer one is cut into the fewest 3 s
chunks that cover it, spread evenly from its start to its end (overlapping), whose embeddings
are averaged. Nothing of the window is dropped either way.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

from ..config import ModelConfig, SpectrogramConfig

BIRDNET_SAMPLE_RATE_HZ = 48000
CHUNK_SAMPLES = 144000  # 3 s at 48 kHz
CHUNK_S = CHUNK_SAMPLES / BIRDNET_SAMPLE_RATE_HZ
# The rule below lifts a band's top to at least this, and no further.
LIFT_TOP_HZ = 2000.0
# BirdNET's spectrograms reach 15 kHz: an expanded band must end below it.
TOP_HZ = 15000.0
RMS_TARGET = 0.05  # about -26 dBFS
PEAK_TARGET = 0.5
LEVEL_FLOOR = 1e-6  # digital silence is left alone, not amplified


def _simple_factors() -> list[float]:
    """1, 2, 5 × 10^k from 0.001 to 1000 (the config's range): factors a person can repeat."""
    return [round(m * 10.0**k, 6) for k in range(-3, 4) for m in (1, 2, 5) if m * 10.0**k <= 1e3]


def auto_time_expansion(fmin_hz: float, fmax_hz: float) -> float:
    """The simple factor (1, 2, 5 × 10^k) that moves the band ``[fmin_hz, fmax_hz]`` into BirdNET's.

    The rule, minimal expansion: a band whose top lies between 2 and 15 kHz keeps factor 1; a
    lower band gets the smallest simple factor that lifts its top to 2 kHz or more; a band
    above 15 kHz gets the largest that brings its top down to 15 kHz or less. Expanding more
    than needed shortens calls and leaves the window a sliver of BirdNET's 3 s chunk, which
    measured worse: right-whale up-calls (50–400 Hz, 2 s windows, 3 seeds) scored a balanced
    accuracy of 0.71 at × 5, 0.56 at × 1 and 0.50 at × 20; ten Watkins species (0–2.5 kHz)
    0.82 at × 1, 0.76 at × 2 and 0.72 at × 5. Examples: 500–10000 Hz (birds) → 1;
    50–400 Hz → 5; 10–100 Hz (blue whales) → 20; 20–120 kHz (bats) → 0.1.

    Raises:
        ValueError: the band is empty or negative.
    """
    if not 0 <= fmin_hz < fmax_hz:
        raise ValueError(f"the band {fmin_hz}–{fmax_hz} Hz is empty")
    factors = _simple_factors()
    if fmax_hz > TOP_HZ:
        return max((f for f in factors if fmax_hz * f <= TOP_HZ), default=factors[0])
    if fmax_hz < LIFT_TOP_HZ:
        lifting = (f for f in factors if fmax_hz * f >= LIFT_TOP_HZ * (1 - 1e-9))
        return min(lifting, default=factors[-1])
    return 1.0


def resolve_time_expansion(model: ModelConfig, spectrogram: SpectrogramConfig) -> float:
    """The factor a model uses: its ``time_expansion``, or the rule above for ``"auto"``."""
    if model.time_expansion == "auto":
        return auto_time_expansion(spectrogram.fmin_hz, spectrogram.fmax_hz)
    return float(model.time_expansion)


def fit_samples(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """Centred crop or zero-pad to ``n_samples``: ``(n,) → (n_samples,)`` (as ``fit_frames``)."""
    gap = abs(n_samples - samples.shape[-1])
    start = gap // 2
    if samples.shape[-1] > n_samples:
        return samples[start : start + n_samples]
    if samples.shape[-1] < n_samples:
        return np.pad(samples, (start, gap - start))
    return samples


def normalize_level(samples: np.ndarray, mode: str) -> np.ndarray:
    """Scale a window to a fixed RMS (``rms``) or peak (``peak``); ``none`` leaves it.

    BirdNET V2.4 is itself nearly level-invariant (its embedding moves < 0.5 % between −60 and
    +20 dB), so this matters little; it is offered for other copies and quiet recordings.
    """
    if mode == "none" or samples.size == 0:
        return samples
    if mode == "rms":
        level, target = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))), RMS_TARGET
    elif mode == "peak":
        level, target = float(np.abs(samples).max()), PEAK_TARGET
    else:
        raise ValueError(f"unknown waveform normalisation {mode!r}")
    if level < LEVEL_FLOOR:
        return samples
    return (samples * (target / level)).astype(np.float32)


def expand(
    samples: np.ndarray, sample_rate_hz: int, time_expansion: float, quality: str = "HQ"
) -> np.ndarray:
    """``(n,)`` at ``sample_rate_hz`` → ``(m,)`` at 48 kHz, frequencies × ``time_expansion``."""
    samples = np.asarray(samples, dtype=np.float32)
    source_hz = sample_rate_hz * time_expansion
    if samples.size == 0 or math.isclose(source_hz, BIRDNET_SAMPLE_RATE_HZ):
        return samples
    resampled = soxr.resample(samples, source_hz, BIRDNET_SAMPLE_RATE_HZ, quality=quality)
    return np.asarray(resampled, dtype=np.float32)


def to_chunks(samples_48k: np.ndarray) -> np.ndarray:
    """``(m,)`` at 48 kHz → ``(k, 144000)``: one centred, zero-padded chunk, or k ≥ 2 covering it.

    The k = ⌈m / 144000⌉ chunks start evenly between 0 and m − 144000 (rounded to a sample).
    """
    n = samples_48k.shape[-1]
    if n <= CHUNK_SAMPLES:
        return fit_samples(samples_48k, CHUNK_SAMPLES)[None]
    count = math.ceil(n / CHUNK_SAMPLES)
    starts = np.round(np.linspace(0, n - CHUNK_SAMPLES, count)).astype(np.int64)
    return np.stack([samples_48k[s : s + CHUNK_SAMPLES] for s in starts])


def chunks_per_window(window_s: float, time_expansion: float) -> int:
    """BirdNET chunks one window of ``window_s`` (original time) becomes."""
    return max(1, math.ceil(window_s / time_expansion / CHUNK_S - 1e-9))


def chunk_fill(window_s: float, time_expansion: float) -> float:
    """Share of its 3 s chunk an expanded window fills (1 when it needs several chunks)."""
    return min(1.0, window_s / time_expansion / CHUNK_S)
