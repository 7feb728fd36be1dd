"""EmbeddingPredictor: a birdnet ``model.pt`` over a recording, on the spectrogram models' grid.

The recording streams in blocks (``audio.stream``); `windows.slide_samples` cuts the windows
that the spectrogram path would (same starts, tail window and times), each window becomes its
BirdNET embedding (`EmbeddingFrontend`, as in training) and the batches carry embeddings
``(n, 1, 1024, 1)`` instead of spectrograms. Everything downstream of `WindowBatch` — the head,
`collect`, ensembles, two stages, the cascade, score CSVs and Raven tables — is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..bundle import ModelBundle
from ..errors import BadConfig
from ..prediction.predictor import Predictor, Select, WindowBatch
from ..prediction.runtime import prefetch
from ..prediction.windows import Window, slide_samples, total_frames, window_starts
from .frontend import EmbeddingFrontend


class EmbeddingPredictor(Predictor):
    """A Predictor whose windows are BirdNET embeddings; takes `Predictor`'s arguments.

    Raises:
        BadConfig: ``runtime`` is not ``torch`` (the head is a Linear or two: nothing to gain),
            or the ``birdnet`` extra is not installed.
    """

    def __init__(self, bundle: ModelBundle, *, runtime: str = "torch", **options: object) -> None:
        if runtime != "torch":
            raise BadConfig(
                f"--runtime {runtime} runs spectrogram networks; a birdnet model runs BirdNET "
                "under LiteRT and its head under torch",
                fix="drop --runtime",
            )
        if options.get("precision", "auto") == "auto":
            options["precision"] = "32"  # a head of one or two Linears: bf16 would only round
        super().__init__(bundle, runtime="torch", **options)  # type: ignore[arg-type]
        config = bundle.config
        self.features = EmbeddingFrontend(config.audio, config.spectrogram, config.model)

    @property
    def frontend_key(self) -> tuple[object, ...]:
        """Equal for birdnet predictors whose embeddings and windows are identical."""
        return ("birdnet", self.features.feature_hash(), self.grid)

    def batches(self, path: str | Path, *, select: Select | None = None) -> Iterator[WindowBatch]:
        """Embedding batches of a recording, streamed; ``select`` skips windows' embeddings."""
        batches = self._batch(slide_samples(self.blocks(path), self.grid), select)
        return prefetch(batches) if self.num_workers > 0 else batches

    def reference_batches(self, samples: np.ndarray) -> Iterator[WindowBatch]:
        """The same batches from samples in memory, each window cut and embedded alone."""
        samples = np.asarray(samples, dtype=np.float32)
        grid = self.grid
        n_frames = total_frames(samples.size, grid.n_fft, grid.hop_length)
        width = min(grid.window_frames, n_frames)
        spans, embeddings = [], []
        for start in window_starts(n_frames, grid):
            spans.append(grid.span_s(int(start), width))
            embeddings.append(self.features.embed([samples[grid.samples(int(start), width)]])[0])
            if len(spans) == self.batch_size:
                yield _batch_of(spans, embeddings)
                spans, embeddings = [], []
        if spans:
            yield _batch_of(spans, embeddings)

    def _finish_batch(
        self, spans: list[tuple[float, float]], flags: list[bool], chosen: list[Window]
    ) -> WindowBatch:
        """The chosen windows' embeddings, shaped ``(n, 1, 1024, 1)``."""
        vectors = self.features.embed([w.frames.numpy() for w in chosen])
        x = torch.from_numpy(vectors)[:, None, :, None]
        array = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        return WindowBatch(array[:, 0], array[:, 1], np.asarray(flags, dtype=bool), x)


def _batch_of(spans: list[tuple[float, float]], embeddings: list[np.ndarray]) -> WindowBatch:
    array = np.asarray(spans, dtype=np.float64)
    x = torch.from_numpy(np.stack(embeddings))[:, None, :, None]
    return WindowBatch(array[:, 0], array[:, 1], np.ones(len(spans), dtype=bool), x)
