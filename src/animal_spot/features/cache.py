"""A ``.npy`` embedding cache: the spectrogram cache's keys and atomic writes, another folder.

An entry's key is a sha256 of the feature hash (every value that decides an embedding, the
BirdNET model file's digest among them), the clip file's identity (resolved path, size, mtime)
and the span, so a changed setting, model file or recording misses instead of serving stale
embeddings. Entries live under ``cache_dir/birdnet-<feature hash>/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..frontend.cache import CacheLevel
from .frontend import EmbeddingFrontend


class EmbeddingCache(CacheLevel):
    """Maps (features, file, span) → embedding ``(1024,)``; safe for many writers at once."""

    def __init__(self, root: str | Path, frontend: EmbeddingFrontend) -> None:
        super().__init__(Path(root), "birdnet", frontend.feature_hash())
        self.width = frontend.num_features

    def get(self, key: str) -> np.ndarray | None:
        """The cached embedding, or ``None`` when absent, unreadable or of another width."""
        array = super().get(key)
        if array is not None and array.shape != (self.width,):
            self.hits -= 1
            self.misses += 1
            return None
        return array
