"""EmbeddingFrontend: a model's configs bound to BirdNET: window waveforms → embeddings (n, 1024).

The counterpart of ``frontend.spectrogram.Frontend`` for ``--backbone birdnet``: training clips
and prediction windows go through the same steps, so a head sees at prediction what it saw in
training. Per window (mono float32 at ``audio.sample_rate_hz``): centred crop/zero-pad to the
model's window → level normalisation (``waveform_normalization``) → time expansion and
resampling to 48 kHz (soxr) → 3 s chunks (``features.waveform``) → BirdNET → the chunks'
mean embedding.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence

import numpy as np

from ..config import AudioConfig, ModelConfig, SpectrogramConfig
from ..frontend.spectrogram import Frontend
from . import birdnet
from .birdnet import EMBEDDING_SIZE, BirdNETExtractor
from .waveform import (
    chunk_fill,
    expand,
    fit_samples,
    normalize_level,
    resolve_time_expansion,
    to_chunks,
)

log = logging.getLogger(__name__)
FEATURE_VERSION = 1  # bump when the steps above change: old cache entries then miss
THIN_FILL = 0.25  # an expanded window filling less of its chunk than this is mostly padding
MAX_PENDING_CHUNKS = 64  # chunks held before they are embedded (each 0.55 MB)


class EmbeddingFrontend:
    """BirdNET embeddings of fixed-length windows, as a model's config asks for them.

    The extractor (a LiteRT interpreter) starts only when the first embedding is needed, so
    a run served wholly from the cache never starts it.

    Args:
        audio: sample rate and resampling quality of the windows.
        spectrogram: the window length (``sequence_len_ms`` and the STFT framing, so that
            windows match the spectrogram models' window grid) and the band used by
            ``time_expansion = "auto"``.
        model: ``birdnet_model``, ``time_expansion``, ``waveform_normalization``.
        extractor: a ready extractor (default: the process's shared one for the model file).

    Raises:
        BadConfig: the ``birdnet`` extra is not installed.
        BadModel: ``birdnet_model`` does not exist.
    """

    def __init__(
        self,
        audio: AudioConfig,
        spectrogram: SpectrogramConfig,
        model: ModelConfig,
        extractor: BirdNETExtractor | None = None,
    ) -> None:
        birdnet.require_runtime()
        self.model_path = birdnet.model_path(model.birdnet_model)
        self.sample_rate_hz = audio.sample_rate_hz
        self.quality = audio.resample_quality
        self.window_samples = Frontend(audio, spectrogram).window_samples()
        self.window_s = self.window_samples / self.sample_rate_hz
        self.time_expansion = resolve_time_expansion(model, spectrogram)
        self.normalization = model.waveform_normalization
        self._extractor = extractor
        self.num_features = EMBEDDING_SIZE

    @property
    def extractor(self) -> BirdNETExtractor:
        """The LiteRT interpreter, started on first use."""
        if self._extractor is None:
            self._extractor = birdnet.shared_extractor(self.model_path)
        return self._extractor

    def identity(self) -> dict[str, object]:
        """Every value that decides an embedding (with the model file's digest)."""
        return {
            "extractor": "birdnet-v2.4",
            "version": FEATURE_VERSION,
            "model_sha256": birdnet.model_digest(self.model_path),
            "sample_rate_hz": self.sample_rate_hz,
            "resample_quality": self.quality,
            "window_samples": self.window_samples,
            "time_expansion": self.time_expansion,
            "waveform_normalization": self.normalization,
        }

    def feature_hash(self) -> str:
        """Stable hex digest of `identity` (sorted JSON): the embedding cache's folder."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def chunks(self, samples: np.ndarray) -> np.ndarray:
        """One window's waveform ``(n,)`` → BirdNET chunks ``(k, 144000)``."""
        window = fit_samples(np.asarray(samples, dtype=np.float32), self.window_samples)
        window = normalize_level(window, self.normalization)
        return to_chunks(expand(window, self.sample_rate_hz, self.time_expansion, self.quality))

    def embed(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Windows ``[(n_i,), ...]`` → embeddings ``(len(windows), 1024)``, chunks batched."""
        out = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float32)
        pending: list[tuple[int, np.ndarray]] = []  # (window index, its chunks)

        def flush() -> None:
            embedded = self.extractor.embed(np.concatenate([c for _, c in pending]))
            first = 0
            for index, chunks in pending:
                out[index] = embedded[first : first + len(chunks)].mean(0)
                first += len(chunks)
            pending.clear()

        for index, samples in enumerate(windows):
            pending.append((index, self.chunks(samples)))
            if sum(len(c) for _, c in pending) >= MAX_PENDING_CHUNKS:  # bounded memory
                flush()
        if pending:
            flush()
        return out

    def warn_if_thin(self) -> None:
        """Log once when the expanded window leaves most of BirdNET's 3 s chunk as padding."""
        fill = chunk_fill(self.window_s, self.time_expansion)
        if fill < THIN_FILL:
            log.warning(
                "a %.3g s window at time_expansion %g fills %.0f%% of BirdNET's 3 s chunk: "
                "a window of about %.3g s (--sequence_len) or a smaller factor uses it fully",
                self.window_s,
                self.time_expansion,
                100 * fill,
                3.0 * self.time_expansion,
            )
