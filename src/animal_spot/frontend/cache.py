"""A ``.npy`` spectrogram cache that any number of workers and processes can fill at once.

One file per clip (and span), named by a sha256 of the front-end hash, the file's identity (its
resolved path, size and modification time) and the span. Writes go to a temp file that is
renamed into place, so a reader sees a whole file or none; a changed parameter or a changed
recording gives another key, so the cache misses instead of serving stale data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..atomic import atomic_open
from ..config import AudioConfig, SpectrogramConfig, frontend_hash

log = logging.getLogger(__name__)


def file_identity(path: Path) -> str:
    """Resolved path, size and mtime: a file edited in place gets a new identity."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


class SpectrogramCache:
    """Maps (front end, file, span) → array, stored under ``root/<front-end hash>/``."""

    def __init__(self, root: str | Path, audio: AudioConfig, spectrogram: SpectrogramConfig):
        self.frontend_hash = frontend_hash(audio, spectrogram)
        self.root = Path(root) / self.frontend_hash
        self.hits = 0
        self.misses = 0

    def key(
        self, path: str | Path, start_s: float | None = None, end_s: float | None = None
    ) -> str:
        text = f"{self.frontend_hash}|{file_identity(Path(path))}|{start_s}|{end_s}"
        return hashlib.sha256(text.encode()).hexdigest()

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached array, or ``None`` when absent or unreadable (then it is recomputed)."""
        target = self.path_for(key)
        try:
            return np.load(target, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (ValueError, OSError, EOFError) as err:
            log.warning("%s: unreadable cache entry (%s); recomputing", target, err)
            return None

    def put(self, key: str, array: np.ndarray) -> Path:
        """Store ``array`` atomically; concurrent writers of one key all leave a whole file."""
        target = self.path_for(key)
        with atomic_open(target, "wb") as handle:
            np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        return target

    def get_or_compute(
        self,
        path: str | Path,
        compute: Callable[[], np.ndarray],
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> np.ndarray:
        """The cached array for this clip, computing and storing it on a miss."""
        key = self.key(path, start_s, end_s)
        cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        array = compute()
        try:
            self.put(key, array)
        except OSError as err:  # a full or read-only disk must not stop training
            log.warning("%s: cannot write the cache (%s)", self.root, err)
        return array

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.root.rglob("*.npy")) if self.root.exists() else 0
