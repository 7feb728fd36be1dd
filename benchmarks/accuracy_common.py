"""Shared parts of the accuracy benchmark: recipes, figures with spreads, clip-level scoring.

A recipe is a set of ``--set``-style config overrides (``section.field: value``) applied on top
of a task's base config, so each row of the table is a command a user could type.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from animal_spot.config import ExperimentConfig, override
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import Clip
from animal_spot.recipes import GAIN_ONLY
from animal_spot.training.fit import TrainResult, train


def train_once(config: ExperimentConfig, splits: Mapping[str, Sequence[Clip]]) -> TrainResult:
    """``train``, then its checkpoints go: a benchmark never resumes (they are 2/3 of a run)."""
    result = train(config, splits)
    for checkpoint in result.run_dir.glob("*.ckpt"):
        checkpoint.unlink()
    return result


def quiet_training() -> None:
    """No progress bars from Lightning: the benchmark prints one line per run instead."""
    import lightning

    init = lightning.Trainer.__init__
    if getattr(init, "is_quiet", False):
        return

    def quiet(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("enable_progress_bar", False)
        init(self, *args, **kwargs)

    quiet.is_quiet = True  # type: ignore[attr-defined]
    lightning.Trainer.__init__ = quiet  # type: ignore[method-assign]


GAIN_AUGMENT = GAIN_ONLY


@dataclass(frozen=True)
class Recipe:
    """A named set of config overrides; ``seeds`` > 1 only for the rows that compare."""

    name: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    hard_negatives: bool = False
    is_main: bool = False  # baseline and recommended: run with every seed
    gains_db: tuple[int, ...] | None = None  # detection: fewer gains where scoring is slow
    hop_s: float | None = None  # detection: another prediction hop where scoring is slow

    def apply(self, config: ExperimentConfig) -> ExperimentConfig:
        return override(config, dict(self.overrides))

    def flags(self) -> str:
        """The overrides as the ``--set`` arguments a user would type."""
        parts = []
        for key, value in self.overrides.items():
            text = ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
            parts.append(f"{key}={text}")
        extra = " + mine hard negatives, retrain" if self.hard_negatives else ""
        return (" ".join(parts) or "(defaults)") + extra


def mean_spread(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± half-range`` over seeds (or the one value), NaN-safe."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "–"
    if len(finite) == 1:
        return f"{finite[0]:.{digits}f}"
    return f"{np.mean(finite):.{digits}f} ± {(max(finite) - min(finite)) / 2:.{digits}f}"


def balanced_accuracy(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Mean per-class recall over the classes present in ``truth``."""
    recalls = [np.mean(predicted[truth == c] == c) for c in range(n_classes) if np.any(truth == c)]
    return float(np.mean(recalls))


def macro_f1(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of the per-class F1 over the classes present in ``truth``."""
    scores = []
    for c in range(n_classes):
        if not np.any(truth == c):
            continue
        tp = np.sum((predicted == c) & (truth == c))
        fp = np.sum((predicted == c) & (truth != c))
        fn = np.sum((predicted != c) & (truth == c))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(scores))


def per_class_accuracy(truth: np.ndarray, predicted: np.ndarray, n_classes: int) -> list[float]:
    return [
        float(np.mean(predicted[truth == c] == c)) if np.any(truth == c) else math.nan
        for c in range(n_classes)
    ]


def bootstrap_interval(
    truth: np.ndarray, predicted: np.ndarray, n_classes: int, n_rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95 % interval of the balanced accuracy over test clips drawn with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_rounds):
        pick = rng.integers(0, len(truth), len(truth))
        values.append(balanced_accuracy(truth[pick], predicted[pick], n_classes))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


class GainDataset(ClipDataset):
    """Test clips at a gain: power × 10^(gain/10) equals the waveform × 10^(gain/20)."""

    def __init__(self, *args: Any, gain_db: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.factor = 10 ** (gain_db / 10)

    def power(self, clip: Clip, context_s: float = 0.0) -> torch.Tensor:
        return super().power(clip, context_s) * self.factor


def predict_clips(
    model_path: Any, clips: Sequence[Clip], classes: Sequence[str], gain_db: float = 0.0
) -> np.ndarray:
    """Class index per clip from a ``model.pt``, its front end, at a gain."""
    from animal_spot.bundle import load_model

    bundle = load_model(model_path)
    if bundle.config.model.backbone == "birdnet":
        return predict_embedded_clips(bundle, clips, gain_db)
    config = bundle.config
    dataset = GainDataset(clips, bundle.classes, config.audio, config.spectrogram, gain_db=gain_db)
    order = [bundle.classes.index(c) for c in classes]
    out = []
    with torch.inference_mode():
        for begin in range(0, len(dataset), 64):
            batch = torch.stack(
                [dataset[i][0] for i in range(begin, min(begin + 64, len(dataset)))]
            )
            out.append(bundle.model(batch).argmax(-1).numpy())
    predicted = np.concatenate(out)
    return np.asarray([order.index(p) for p in predicted])


def predict_embedded_clips(bundle: Any, clips: Sequence[Clip], gain_db: float) -> np.ndarray:
    """Class index per clip of a BirdNET-feature model, from the embeddings of gained audio."""
    from animal_spot import audio
    from animal_spot.features.frontend import EmbeddingFrontend

    config = bundle.config
    frontend = EmbeddingFrontend(config.audio, config.spectrogram, config.model)
    factor = 10 ** (gain_db / 20)
    out = []
    for begin in range(0, len(clips), 64):
        windows = [
            audio.read(c.path, config.audio.sample_rate_hz, start_s=c.start_s or 0.0, end_s=c.end_s)
            * factor
            for c in clips[begin : begin + 64]
        ]
        with torch.inference_mode():
            embedded = torch.as_tensor(frontend.embed(windows), dtype=torch.float32)
            out.append(bundle.model(embedded).argmax(-1).numpy())
    return np.concatenate(out)


def with_seed(config: ExperimentConfig, seed: int, run_name: str) -> ExperimentConfig:
    train = dataclasses.replace(config.train, seed=seed, run_name=run_name)
    return dataclasses.replace(config, train=train)
