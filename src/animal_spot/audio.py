"""Reading recordings: any libsndfile format, mono, resampled with soxr, windows and streams."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import BadAudio

_FIX = "re-export it as WAV or FLAC, or remove it from the folder"


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the file header says, without reading samples."""

    path: Path
    sample_rate_hz: int
    n_samples: int
    n_channels: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz


def _open(path: Path) -> sf.SoundFile:
    if not path.is_file():
        raise BadAudio("no such file", path=path)
    if path.stat().st_size == 0:
        raise BadAudio("the file is empty (0 bytes)", path=path, fix=_FIX)
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        reason = str(err).split(":")[-1].strip() or type(err).__name__
        raise BadAudio(f"cannot be read as audio ({reason})", path=path, fix=_FIX) from None


def info(path: str | Path) -> AudioInfo:
    """Sample rate, length and channel count from the header."""
    path = Path(path)
    with _open(path) as handle:
        return AudioInfo(path, int(handle.samplerate), int(handle.frames), int(handle.channels))


def _mono(samples: np.ndarray) -> np.ndarray:
    # (n, channels) → (n,): the channel mean, as ANIMAL-SPOT mixes down.
    return samples.mean(axis=1, dtype=np.float32) if samples.ndim == 2 else samples


def _checked(samples: np.ndarray, path: Path) -> np.ndarray:
    if samples.size and not np.isfinite(samples).all():
        raise BadAudio(
            "holds NaN or infinite samples", path=path, fix="re-export it from the source recording"
        )
    return samples


def resample(samples: np.ndarray, from_hz: int, to_hz: int, quality: str = "HQ") -> np.ndarray:
    """(n,) float32 at ``from_hz`` → (m,) float32 at ``to_hz`` (soxr; unchanged if equal)."""
    if from_hz == to_hz or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples, from_hz, to_hz, quality=quality).astype(np.float32, copy=False)


def read(
    path: str | Path,
    sample_rate_hz: int | None = None,
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
    quality: str = "HQ",
) -> np.ndarray:
    """Mono float32 samples of ``[start_s, end_s)``, resampled to ``sample_rate_hz`` if given.

    Only the requested window is read from disk, so a clip of a long recording costs its own
    length. A window past the end is cut at the end of the file.
    """
    path = Path(path)
    with _open(path) as handle:
        rate = int(handle.samplerate)
        first = max(0, round(start_s * rate))
        last = handle.frames if end_s is None else min(handle.frames, round(end_s * rate))
        if first >= handle.frames or last <= first:
            samples = np.zeros(0, dtype=np.float32)
        else:
            try:
                handle.seek(first)
                samples = handle.read(last - first, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise BadAudio(f"reading failed ({err})", path=path, fix=_FIX) from None
            samples = _mono(samples)
    samples = _checked(samples, path)
    if sample_rate_hz is not None:
        samples = resample(samples, rate, sample_rate_hz, quality)
    return samples


def stream(
    path: str | Path,
    sample_rate_hz: int | None = None,
    *,
    block_s: float = 60.0,
    quality: str = "HQ",
) -> Iterator[np.ndarray]:
    """Mono float32 blocks of about ``block_s`` seconds at ``sample_rate_hz``, in bounded memory.

    Resampling runs through one soxr stream, so the concatenated blocks equal the whole file
    resampled at once (to soxr's streaming precision) however long the recording is.
    """
    path = Path(path)
    with _open(path) as handle:
        rate = int(handle.samplerate)
        target = rate if sample_rate_hz is None else sample_rate_hz
        resampler = None
        if target != rate:
            resampler = soxr.ResampleStream(rate, target, 1, dtype="float32", quality=quality)
        block = max(1, math.ceil(block_s * rate))
        while True:
            try:
                samples = handle.read(block, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise BadAudio(f"reading failed ({err})", path=path, fix=_FIX) from None
            is_last = len(samples) < block
            samples = _checked(_mono(samples), path)
            if resampler is not None:
                samples = resampler.resample_chunk(samples, last=is_last)
            if samples.size:
                yield samples.astype(np.float32, copy=False)
            if is_last:
                return


def peak(samples: np.ndarray) -> float:
    """Largest absolute sample (0 for an empty array): ANIMAL-SPOT's loudness test, unsigned."""
    return float(np.abs(samples).max()) if samples.size else 0.0
