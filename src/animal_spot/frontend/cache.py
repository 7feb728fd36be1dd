"""A ``.npy`` cache of the front end's shared stages that any number of workers can fill at once.

Two levels, each keyed only by the settings that decide it, so that runs which differ later in
the chain share the earlier work (a tuning study over the front end, above all):

- the **power STFT** of a clip (``root/power-<hash>/``): keyed by the sample rate, resampling,
  pre-emphasis, n_fft and hop. A run that changes only the bins, the band, the compression, the
  normalisation or the window length reuses it.
- with ``keep_audio``, the **decoded, resampled samples** (``root/audio-<hash>/``): keyed by the
  sample rate and resampling alone, so a run with another n_fft or hop skips decoding and
  resampling and computes only the STFT.

A file's entry is named by a sha256 of the level's hash, the file's identity (its resolved path,
size and modification time) and the span. Writes go to a temp file that is renamed into place,
so a reader sees a whole file or none; a changed setting or a changed recording gives another
key, so the cache misses instead of serving stale data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..atomic import atomic_open
from ..config import AudioConfig, SpectrogramConfig, to_dict

log = logging.getLogger(__name__)

# The spectrogram fields the power STFT depends on (`Frontend.power`); the rest come after it.
POWER_FIELDS = ("preemphasis", "n_fft", "hop_length")


def file_identity(path: Path) -> str:
    """Resolved path, size and mtime: a file edited in place gets a new identity."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _digest(values: dict[str, object]) -> str:
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def audio_hash(audio: AudioConfig) -> str:
    """What decoded, resampled samples depend on."""
    return _digest({"audio": to_dict(audio)})


def power_hash(audio: AudioConfig, spectrogram: SpectrogramConfig) -> str:
    """What the power STFT depends on: the audio settings and `POWER_FIELDS`."""
    spec = {name: getattr(spectrogram, name) for name in POWER_FIELDS}
    return _digest({"audio": to_dict(audio), "power": spec})


class CacheLevel:
    """One folder of arrays keyed by (level hash, file identity, span)."""

    def __init__(self, root: Path, name: str, digest: str) -> None:
        self.digest = digest
        self.root = root / f"{name}-{digest}"
        self.hits = 0
        self.misses = 0

    def key(self, path: str | Path, start_s: float | None, end_s: float | None) -> str:
        text = f"{self.digest}|{file_identity(Path(path))}|{start_s}|{end_s}"
        return hashlib.sha256(text.encode()).hexdigest()

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        target = self.path_for(key)
        try:
            array = np.load(target, allow_pickle=False)
        except FileNotFoundError:
            self.misses += 1
            return None
        except (ValueError, OSError, EOFError) as err:
            log.warning("%s: unreadable cache entry (%s); recomputing", target, err)
            self.misses += 1
            return None
        self.hits += 1
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        """Store atomically; a full or read-only disk is a warning, never a failed run."""
        try:
            with atomic_open(self.path_for(key), "wb") as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        except OSError as err:
            log.warning("%s: cannot write the cache (%s)", self.root, err)

    def n_entries(self) -> int:
        return sum(1 for _ in self.root.rglob("*.npy")) if self.root.exists() else 0


class SpectrogramCache:
    """Maps (front end, file, span) → power STFT, and with ``keep_audio`` → samples too."""

    def __init__(
        self,
        root: str | Path,
        audio: AudioConfig,
        spectrogram: SpectrogramConfig,
        *,
        keep_audio: bool = False,
    ):
        self.power_level = CacheLevel(Path(root), "power", power_hash(audio, spectrogram))
        self.audio_level = (
            CacheLevel(Path(root), "audio", audio_hash(audio)) if keep_audio else None
        )
        self.root = self.power_level.root

    @property
    def hits(self) -> int:
        """Power STFTs served from the cache."""
        return self.power_level.hits

    @property
    def misses(self) -> int:
        """Power STFTs computed (from cached samples or from the file)."""
        return self.power_level.misses

    @property
    def audio_hits(self) -> int:
        return 0 if self.audio_level is None else self.audio_level.hits

    def key(
        self, path: str | Path, start_s: float | None = None, end_s: float | None = None
    ) -> str:
        return self.power_level.key(path, start_s, end_s)

    def path_for(self, key: str) -> Path:
        return self.power_level.path_for(key)

    def get(self, key: str) -> np.ndarray | None:
        """The cached power STFT, or ``None`` when absent or unreadable (then it is recomputed)."""
        return self.power_level.get(key)

    def put(self, key: str, array: np.ndarray) -> Path:
        self.power_level.put(key, array)
        return self.path_for(key)

    def get_or_compute(
        self,
        path: str | Path,
        compute: Callable[[], np.ndarray],
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        read: Callable[[], np.ndarray] | None = None,
        power_of: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """The power STFT of this clip, computing and storing it on a miss.

        ``compute`` reads the file and makes the power STFT; with ``read`` (samples) and
        ``power_of`` (samples → power) given and ``keep_audio`` on, a miss goes through the
        samples level instead, so that only the STFT is recomputed when the samples are cached.
        """
        key = self.key(path, start_s, end_s)
        cached = self.get(key)
        if cached is not None:
            return cached
        if self.audio_level is not None and read is not None and power_of is not None:
            array = power_of(self._samples(path, read, start_s, end_s))
        else:
            array = compute()
        self.power_level.put(key, array)
        return array

    def _samples(
        self,
        path: str | Path,
        read: Callable[[], np.ndarray],
        start_s: float | None,
        end_s: float | None,
    ) -> np.ndarray:
        assert self.audio_level is not None
        key = self.audio_level.key(path, start_s, end_s)
        samples = self.audio_level.get(key)
        if samples is None:
            samples = read()
            self.audio_level.put(key, samples)
        return samples

    def size_bytes(self) -> int:
        levels = [self.power_level, self.audio_level]
        return sum(
            f.stat().st_size
            for level in levels
            if level is not None and level.root.exists()
            for f in level.root.rglob("*.npy")
        )
