"""EmbeddingDataset: a manifest's clips → (BirdNET embedding ``(1024,)``, class index).

The extractor is frozen, so every clip is embedded once, when the dataset is made (from the
cache where one is set), and the head trains on the stored vectors: an epoch costs
milliseconds. Clips are read, cut to the model's window and embedded exactly as prediction
does with its windows (`EmbeddingFrontend`).

No augmentation: the spectrogram augmentations do not apply to a fixed embedding, and gain,
the one that would, changes nothing here — BirdNET V2.4's embedding moves by under 0.5 %
between −60 and +20 dB (its front end normalises each chunk), against ~100 % between two
different calls. The head's dropout (``head_dropout``) regularises it instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import audio
from ..config import ExperimentConfig
from ..data.manifest import Clip
from ..errors import BadData
from .cache import EmbeddingCache
from .frontend import EmbeddingFrontend

log = logging.getLogger(__name__)
BATCH_WINDOWS = 32  # clips read ahead of one extractor call


def embed_clips(
    clips: Sequence[Clip],
    frontend: EmbeddingFrontend,
    sample_rate_hz: int,
    quality: str,
    cache: EmbeddingCache | None = None,
) -> np.ndarray:
    """Embeddings ``(len(clips), 1024)`` float32; cached clips skip reading and BirdNET."""
    out = np.zeros((len(clips), frontend.num_features), dtype=np.float32)
    pending: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        embedded = frontend.embed([samples for _, samples in pending])
        for (index, _), vector in zip(pending, embedded, strict=True):
            out[index] = vector
            if cache is not None:
                clip = clips[index]
                # A full or read-only disk is a warning from `put`, never a stopped run.
                cache.put(cache.key(clip.path, clip.start_s, clip.end_s), vector)
        pending.clear()

    for index, clip in enumerate(clips):
        if cache is not None:
            cached = cache.get(cache.key(clip.path, clip.start_s, clip.end_s))
            if cached is not None:
                out[index] = cached
                continue
        samples = audio.read(
            clip.path,
            sample_rate_hz,
            start_s=clip.start_s or 0.0,
            end_s=clip.end_s,
            quality=quality,
        )
        pending.append((index, samples))
        if len(pending) == BATCH_WINDOWS:
            flush()
    if pending:
        flush()
    return out


class EmbeddingDataset(Dataset[tuple[torch.Tensor, int]]):
    """BirdNET embeddings of labelled clips, ready for an ``EmbeddingHead``."""

    def __init__(
        self,
        clips: Sequence[Clip],
        classes: Sequence[str],
        embeddings: np.ndarray,
    ) -> None:
        self.clips = list(clips)
        self.classes = list(classes)
        class_index = {name: i for i, name in enumerate(self.classes)}
        unknown = sorted({c.label for c in self.clips} - set(class_index))
        if unknown:
            raise BadData(f"labels {unknown} are not among the classes {self.classes}")
        self.labels = [class_index[c.label] for c in self.clips]
        self.embeddings = embeddings
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Kept for the sampler's interface: fixed embeddings draw nothing per epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.embeddings[index]), self.labels[index]


def embedding_datasets(
    config: ExperimentConfig, splits: Mapping[str, Sequence[Clip]], classes: Sequence[str]
) -> dict[str, EmbeddingDataset]:
    """One EmbeddingDataset per split, all clips embedded by one shared extractor.

    Raises:
        BadConfig: the ``birdnet`` extra is not installed.
        BadAudio: a clip cannot be read.
    """
    frontend = EmbeddingFrontend(config.audio, config.spectrogram, config.model)
    frontend.warn_if_thin()
    if config.augment.is_active:
        log.warning(
            "--backbone birdnet trains on fixed BirdNET embeddings: the spectrogram "
            "augmentation options are ignored (head_dropout regularises the head)"
        )
    cache = EmbeddingCache(config.data.cache_dir, frontend) if config.data.cache_dir else None
    started = time.perf_counter()
    datasets = {}
    for phase, clips in splits.items():
        embeddings = embed_clips(
            clips,
            frontend,
            config.audio.sample_rate_hz,
            config.audio.resample_quality,
            cache,
        )
        datasets[phase] = EmbeddingDataset(clips, classes, embeddings)
    n_clips = sum(len(d) for d in datasets.values())
    log.info(
        "embedded %d clips with BirdNET in %.1f s (%d from the cache)",
        n_clips,
        time.perf_counter() - started,
        cache.hits if cache is not None else 0,
    )
    return datasets
