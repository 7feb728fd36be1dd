"""A ``.npy`` embedding cache: the spectrogram cache's keys and atomic writes, another folder.

An entry's key is a sha256 of the feature hash (every value that decides an embedding, the
BirdNET model file's digest among them), the clip file's identity (resolved path, size, mtime)
and the span, so a changed setting, model file or recording misses instead of serving stale
embeddings. Entries live under ``cache_dir/birdnet-<feature hash>/``.
"""

from __future__ import annotations

from pathlib import Path

from ..frontend.cache import SpectrogramCache
from .frontend import EmbeddingFrontend, cache_root


class EmbeddingCache(SpectrogramCache):
    """Maps (features, file, span) → embedding ``(1024,)``; safe for many writers at once."""

    def __init__(self, root: str | Path, frontend: EmbeddingFrontend) -> None:
        # The parent's key scheme, with the feature hash standing for the front-end hash.
        self.frontend_hash = frontend.feature_hash()
        self.root = cache_root(root, frontend)
        self.hits = 0
        self.misses = 0
