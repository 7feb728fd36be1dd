"""What a trial is judged by: a registry of metric names.

Clip metrics (``val_*``) are the validation figures Lightning logs at each evaluation; a trial's
value is the best of them, as the fork's tuning took the best validation accuracy. Event metrics
predict over ``--val_recordings`` with the trial's model and evaluate against ``--val_tables``,
which is what a detector is used for; they are computed once, after training, and the pruner
then watches the validation mean per-class accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry
from .settings import TuneConfig


@dataclass(frozen=True)
class Metric:
    """A name, its direction and, for event metrics, how to compute it after training."""

    direction: str
    logged: str  # the Lightning key watched at each evaluation (and pruned on)
    after_training: Callable[[Path, Path, TuneConfig], float | None] | None = None


METRICS: Registry[Metric] = Registry("metric")
for _name in ("mean_per_class_accuracy", "accuracy", "f1", "auc"):  # f1: macro over classes
    METRICS.add(f"val_{_name}", Metric("maximize", f"val/{_name}"))
METRICS.add("val_loss", Metric("minimize", "val/loss"))


def _evaluate(model_path: Path, trial_dir: Path, config: TuneConfig):  # type: ignore[no-untyped-def]
    """Predict over the validation recordings with this model and evaluate the events."""
    from ..config import PredictConfig
    from ..evaluation import evaluate
    from ..prediction.api import predict

    assert config.val_recordings is not None
    assert config.val_tables is not None
    out = trial_dir / "val_predictions"
    predict(
        PredictConfig(model_path=(model_path,), input_file=config.val_recordings, output_dir=out),
        progress=False,
        report=False,
    )
    return evaluate(
        out,
        config.val_tables,
        scores=out,
        audio_dir=config.val_recordings,
        is_class_agnostic=True,
        report=False,
    )


def event_f1(model_path: Path, trial_dir: Path, config: TuneConfig) -> float | None:
    """Event F1 at the model's thresholds over every validation recording."""
    result = _evaluate(model_path, trial_dir, config)
    return None if result.overall is None else result.overall.f1


def recall_at_fp_per_h(model_path: Path, trial_dir: Path, config: TuneConfig) -> float | None:
    """The highest event recall of any threshold with at most ``target_fp_per_h``."""
    result = _evaluate(model_path, trial_dir, config)
    best = 0.0
    for curve in result.curves.values():
        for figures in curve.figures:
            rate, recall = figures.false_positives_per_hour, figures.recall
            if rate is not None and recall is not None and rate <= config.target_fp_per_h:
                best = max(best, recall)
    return best


METRICS.add("event_f1", Metric("maximize", "val/mean_per_class_accuracy", event_f1))
METRICS.add(
    "recall_at_fp_per_h", Metric("maximize", "val/mean_per_class_accuracy", recall_at_fp_per_h)
)
