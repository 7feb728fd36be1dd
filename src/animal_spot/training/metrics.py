"""Per-phase classification metrics (torchmetrics): accuracy, per-class accuracy, macro P/R/F1."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    BinaryAUROC,
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)


class PhaseMetrics(nn.Module):
    """Accumulates one phase's predictions and reports named scalars and the confusion matrix."""

    def __init__(self, classes: Sequence[str]) -> None:
        super().__init__()
        self.classes = list(classes)
        k = len(self.classes)
        self.scalars = MetricCollection(
            {
                "accuracy": MulticlassAccuracy(k, average="micro"),
                "precision": MulticlassPrecision(k, average="macro"),
                "recall": MulticlassRecall(k, average="macro"),
                "f1": MulticlassF1Score(k, average="macro"),
            }
        )
        # Per-class accuracy = correct / total per true class (recall per class).
        self.per_class = MulticlassAccuracy(k, average="none")
        self.confusion = MulticlassConfusionMatrix(k)
        self.auroc = BinaryAUROC() if k == 2 else None
        # The mean loss per clip; gathered across ranks in compute() like every other metric.
        self.loss = MeanMetric()

    def update(self, probs: Tensor, target: Tensor, loss: Tensor | None = None) -> None:
        if loss is not None:
            self.loss.update(loss.detach(), weight=len(target))
        self.scalars.update(probs, target)
        self.per_class.update(probs, target)
        self.confusion.update(probs, target)
        if self.auroc is not None:
            self.auroc.update(probs[:, 1], target)

    def compute(self) -> dict[str, float]:
        """Scalars keyed like ``accuracy`` and ``per_class_accuracy/<class>``."""
        out = {name: float(value) for name, value in self.scalars.compute().items()}
        per_class = self.per_class.compute()
        for name, value in zip(self.classes, per_class.tolist(), strict=True):
            out[f"per_class_accuracy/{name}"] = float(value)
        # Classes absent from this phase count as 0, as the fork does, so the mean stays honest.
        out["mean_per_class_accuracy"] = float(torch.nan_to_num(per_class, nan=0.0).mean())
        if self.auroc is not None:
            out["auc"] = float(self.auroc.compute())
        if self.loss.update_called:
            out["loss"] = float(self.loss.compute())
        return out

    def confusion_matrix(self) -> Tensor:
        """Counts, rows = true class, columns = predicted class."""
        return self.confusion.compute()

    def reset(self) -> None:
        self.scalars.reset()
        self.per_class.reset()
        self.confusion.reset()
        self.loss.reset()
        if self.auroc is not None:
            self.auroc.reset()
