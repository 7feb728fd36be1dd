"""Synthetic animal-like sounds for the demo and for trying the tools without recordings.

Three call types in background noise — steady tones, up-sweeps and click trains — written as
clips named by the ANIMAL-SPOT convention, and long recordings with calls at known times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .atomic import atomic_path

CALL_TYPES = ("tone", "upsweep", "click")


def call(kind: str, duration_s: float, sample_rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """One call of ``kind`` with random pitch, Hann-enveloped, peak about 1."""
    n = max(1, int(duration_s * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    if kind == "tone":
        freq = rng.uniform(1500, 3500)
        wave = np.sin(2 * np.pi * freq * t)
    elif kind == "upsweep":
        start, stop = rng.uniform(1000, 2000), rng.uniform(4000, 6000)
        wave = np.sin(2 * np.pi * (start * t + 0.5 * (stop - start) / duration_s * t**2))
    elif kind == "click":
        wave = np.zeros(n)
        period = int(sample_rate_hz / rng.uniform(20, 40))
        width_samples = int(0.004 * sample_rate_hz)  # 4 ms broadband pulses
        for first in range(int(rng.integers(0, period)), n, period):
            width = min(width_samples, n - first)
            wave[first : first + width] = rng.standard_normal(width) * np.hanning(width)
        wave *= 2 / max(np.abs(wave).max(), 1e-9)
    else:
        raise ValueError(f"unknown call type {kind!r}; choose one of {CALL_TYPES}")
    return wave * np.hanning(n)


def _write(path: Path, samples: np.ndarray, sample_rate_hz: int) -> Path:
    with atomic_path(path) as tmp:
        sf.write(
            str(tmp), samples.astype(np.float32), sample_rate_hz, format="WAV", subtype="PCM_16"
        )
    return path


@dataclass(frozen=True)
class SyntheticSet:
    """Where the clips went and how many per class."""

    folder: Path
    counts: dict[str, int]


def synthesize_clips(
    folder: str | Path,
    *,
    classes: Sequence[str] = (*CALL_TYPES, "noise"),
    clips_per_class: int = 40,
    n_tapes: int = 8,
    duration_s: float = 0.5,
    sample_rate_hz: int = 16000,
    seed: int = 0,
) -> SyntheticSet:
    """Write convention-named clips (``CLASS-demo_ID_YEAR_TAPE_START_END.wav``) into ``folder``.

    Each clip holds noise and, unless its class is ``noise``, one call at a random SNR; clips are
    spread over ``n_tapes`` tapes so that a split can keep tapes apart.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    counts = {}
    n = int(duration_s * sample_rate_hz)
    for label in classes:
        for i in range(clips_per_class):
            tape = f"T{i % n_tapes:02d}"
            noise = rng.standard_normal(n) * 0.02
            if label != "noise":
                length_s = rng.uniform(0.5, 0.9) * duration_s
                sound = call(label, length_s, sample_rate_hz, rng) * rng.uniform(0.1, 0.5)
                start = int(rng.integers(0, n - sound.size + 1))
                noise[start : start + sound.size] += sound
            start_ms = 1000 * i
            end_ms = start_ms + int(duration_s * 1000)
            name = f"{label}-demo_{i:04d}_2024_{tape}_{start_ms}_{end_ms}.wav"
            _write(folder / label / name, noise, sample_rate_hz)
        counts[label] = clips_per_class
    return SyntheticSet(folder, counts)


def synthesize_recording(
    path: str | Path,
    duration_s: float,
    calls: Sequence[tuple[float, float, str]],
    *,
    sample_rate_hz: int = 16000,
    noise_level: float = 0.02,
    call_level: float = 0.3,
    seed: int = 0,
) -> Path:
    """A long recording with each ``(start_s, duration_s, kind)`` call placed in noise."""
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal(int(duration_s * sample_rate_hz)) * noise_level
    for start_s, length_s, kind in calls:
        sound = call(kind, length_s, sample_rate_hz, rng) * call_level
        first = int(start_s * sample_rate_hz)
        stop = min(samples.size, first + sound.size)
        samples[first:stop] += sound[: stop - first]
    return _write(Path(path), samples, sample_rate_hz)
