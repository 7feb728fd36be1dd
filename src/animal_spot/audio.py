"""Reading recordings: any libsndfile format, mono, resampled with soxr, windows and streams.

Any channel count is mixed down to mono and any sample rate resampled. A file that cannot be
used raises ``BadAudio`` naming it: a missing or unreadable file (permission errors say so), a
folder, FIFO, socket or device (never opened, so a FIFO cannot block), an empty or corrupt file,
and a file holding NaN or infinite samples (refused, not zeroed: such a recording was damaged
on export, and zeros would hide that from its scores).
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import BadAudio

_FIX = "re-export it as WAV or FLAC, or remove it from the folder"
_PERMISSION_FIX = "check the file's permissions"
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


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


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (``a FIFO``), from its ``st_mode``."""
    return next((kind for is_kind, kind in _KINDS if is_kind(mode)), "not a regular file")


def os_reason(err: OSError) -> tuple[str, str | None]:
    """``(reason, fix)`` for an OSError met while reading a file: permissions get their own."""
    if isinstance(err, PermissionError):
        return "cannot read: permission denied", _PERMISSION_FIX
    if isinstance(err, FileNotFoundError):
        return "no such file", None
    return f"cannot read ({err.strerror or type(err).__name__})", None


def _checked_stat(path: Path) -> None:
    # stat never opens the file, so a FIFO is refused here instead of blocking a read.
    try:
        status = path.stat()
    except OSError as err:
        reason, fix = os_reason(err)
        raise BadAudio(reason, path=path, fix=fix) from None
    if not stat.S_ISREG(status.st_mode):
        raise BadAudio(f"is {file_kind(status.st_mode)}, not a recording", path=path)
    if status.st_size == 0:
        raise BadAudio("the file is empty (0 bytes)", path=path, fix=_FIX)


def _open(path: Path) -> sf.SoundFile:
    _checked_stat(path)
    # Bytes keep a name that is not valid UTF-8 as it is on disk (libsndfile wants bytes).
    name: str | bytes = os.fsencode(path) if os.name == "posix" else str(path)
    try:
        return sf.SoundFile(name)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        try:
            open(path, "rb").close()  # libsndfile says only "System error": find out which
        except OSError as os_err:
            reason, fix = os_reason(os_err)
            raise BadAudio(reason, path=path, fix=fix) from None
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
