"""Score a run's test split once with its saved model and its own front end (batched, CPU)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..backbones import backbone_of
from ..bundle import ModelBundle, load_model
from ..data.dataset import ClipDataset
from ..data.manifest import Clip, read_manifest
from ..data.usable import usable_splits
from .run import RunInfo

BATCH_SIZE = 64


@dataclass(frozen=True)
class SplitScores:
    """Class scores of every test clip; ``dataset`` rebuilds any clip's model input."""

    classes: list[str]
    clips: list[Clip]
    labels: np.ndarray  # (n_clips,) true class index
    scores: np.ndarray  # (n_clips, n_classes) softmax
    dataset: ClipDataset

    @property
    def predicted(self) -> np.ndarray:
        return self.scores.argmax(1)

    def confusion(self) -> np.ndarray:
        """Counts, rows = true class, columns = predicted class."""
        k = len(self.classes)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.predicted), 1)
        return matrix


def read_test_clips(run: RunInfo) -> list[Clip]:
    """The run's test clips as trained on: usable ones, relabelled for a detector."""
    if run.data_dir is None or not (run.data_dir / "test.csv").is_file():
        return []
    splits: dict[str, list[Clip]] = {"test": read_manifest(run.data_dir / "test.csv")}
    if run.config.train.task == "detector":
        from ..data.detector import to_detector

        splits = to_detector(splits)
    return usable_splits(splits)["test"]


def score_clips(bundle: ModelBundle, clips: Sequence[Clip], cache_dir: Path | None) -> SplitScores:
    """Softmax scores of ``clips`` (labels outside the model's classes are left out)."""
    known = [c for c in clips if c.label in bundle.classes]
    config = bundle.config
    dataset = ClipDataset(
        known, bundle.classes, config.audio, config.spectrogram, cache_dir=cache_dir
    )
    model = bundle.model.cpu().eval()
    batches: list[np.ndarray] = []
    with torch.inference_mode():
        for x, _ in DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=False):
            batches.append(model(x).softmax(-1).numpy())
    k = len(bundle.classes)
    scores = np.concatenate(batches) if batches else np.zeros((0, k), dtype=np.float32)
    return SplitScores(
        classes=list(bundle.classes),
        clips=known,
        labels=np.asarray(dataset.labels, dtype=np.int64),
        scores=scores,
        dataset=dataset,
    )


def score_test_split(run: RunInfo, clips: Sequence[Clip] | None = None) -> SplitScores | None:
    """The test split scored by ``run_dir/model.pt``; None when there is no test split."""
    clips = read_test_clips(run) if clips is None else list(clips)
    if not clips or not backbone_of(run.config.model).reads_spectrograms:  # (BirdNET's own)
        return None
    bundle = load_model(run.run_dir / "model.pt")
    cache_dir = run.config.data.cache_dir
    return score_clips(bundle, clips, Path(cache_dir) if cache_dir else None)
