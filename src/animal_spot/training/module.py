"""LightningModule: model + loss + optimiser + schedule + logging; no data code."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import lightning as L
import torch
from torch import Tensor

from ..config import TrainConfig
from ..models import AudioClassifier
from .data import IGNORED_LABEL
from .losses import build_loss
from .metrics import PhaseMetrics

PHASES = ("train", "val", "test")


def confusion_figure(matrix: Tensor, classes: Sequence[str]) -> Any:
    """A row-normalised confusion matrix with counts, as a matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = matrix.cpu().numpy()
    rates = counts / counts.sum(1, keepdims=True).clip(min=1)
    size = 1.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if rates[i, j] > 0.5 else "black"
            count = str(int(counts[i, j]))
            ax.text(j, i, count, ha="center", va="center", color=colour, fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


class ClassifierModule(L.LightningModule):
    """Trains an ``AudioClassifier``; logs ``<phase>/<metric>`` and per-class accuracy."""

    def __init__(
        self,
        model: AudioClassifier,
        config: TrainConfig,
        classes: Sequence[str],
        *,
        lr: float,
        base_lr: float | None = None,
        beta1: float,
        lr_patience_epochs: int,
        loss_weight: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.classes = list(classes)
        self.lr = lr
        self.base_lr = lr if base_lr is None else base_lr
        self.beta1 = beta1
        self.lr_patience_epochs = lr_patience_epochs
        self.loss = build_loss(config, loss_weight)
        # ModuleDict keys must not shadow Module methods such as ``train``.
        self.metrics = torch.nn.ModuleDict(
            {f"{p}_metrics": PhaseMetrics(self.classes) for p in PHASES}
        )
        self.results: dict[str, dict[str, float]] = {}
        self.tested_epoch: int | None = None  # the epoch whose weights the test phase scores
        self.n_updates = dict.fromkeys(PHASES, 0)
        # ReduceLROnPlateau is stepped here, at each validation, not by Lightning's loop: a resume
        # from an epoch-end checkpoint would otherwise skip that epoch's step.
        self.plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
        self._plateau_state: dict[str, Any] | None = None

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def phase_metrics(self, phase: str) -> PhaseMetrics:
        """The metric accumulator of ``phase`` (train, val or test)."""
        return cast(PhaseMetrics, self.metrics[f"{phase}_metrics"])

    def _step(self, batch: tuple[Tensor, Tensor], phase: str) -> Tensor | None:
        x, y = batch
        logits = self.model(x)
        if phase != "train":  # a multi-process evaluation pads each rank's share
            scored = y != IGNORED_LABEL
            logits, y = logits[scored], y[scored]
            if not len(y):
                return None
        loss = self.loss(logits, y)
        self.phase_metrics(phase).update(logits.detach().softmax(-1), y, loss)
        self.n_updates[phase] += 1
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss = self._step(batch, "train")
        assert loss is not None  # training batches hold no padding
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def _end_phase(self, phase: str) -> None:
        metrics = self.phase_metrics(phase)
        if not self.n_updates[phase]:  # e.g. the epoch-end hooks Lightning repeats on a resume
            return
        self.n_updates[phase] = 0
        # torchmetrics gathers every rank's state in compute(), so the values are already global;
        # a sync_dist reduce on top would be a second collective that not every rank reaches.
        values = metrics.compute()
        for name, value in values.items():
            self.log(f"{phase}/{name}", value)
        epoch = self.current_epoch
        if phase == "test" and self.tested_epoch is not None:
            epoch = self.tested_epoch  # the best weights are tested, not the last epoch's
            self.log("test/epoch", float(epoch))
        # Every rank computes (torchmetrics gathers across ranks); only rank 0 draws.
        matrix = metrics.confusion_matrix() if phase != "train" else None
        if matrix is not None and self.logger is not None and self.trainer.is_global_zero:
            import matplotlib.pyplot as plt

            figure = confusion_figure(matrix, self.classes)
            experiment = getattr(self.logger, "experiment", None)
            if experiment is not None and hasattr(experiment, "add_figure"):
                experiment.add_figure(f"{phase}/confusion_matrix", figure, epoch)
            plt.close(figure)
        values["epoch"] = float(epoch)
        self.results[phase] = values
        metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._end_phase("train")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            self.phase_metrics("val").reset()
            self.n_updates["val"] = 0
            return
        self._end_phase("val")
        if self.plateau is not None and "accuracy" in self.results.get("val", {}):
            self.plateau.step(self.results["val"]["accuracy"])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["classes"] = list(self.classes)  # a resume checks its data against them
        if self.plateau is not None:
            checkpoint["plateau_scheduler"] = self.plateau.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._plateau_state = checkpoint.get("plateau_scheduler")
        if self.plateau is not None and self._plateau_state is not None:
            self.plateau.load_state_dict(self._plateau_state)

    def on_test_epoch_end(self) -> None:
        self._end_phase("test")

    def configure_optimizers(self) -> Any:
        cfg = self.config
        # The fused kernel does the same update in one pass: about 1.3× faster steps on a CPU.
        optimizer = torch.optim.Adam(
            self.model.parameters(), lr=self.lr, betas=(self.beta1, 0.999), fused=True
        )
        if cfg.scheduler == "onecycle":
            # The fork's cycle: peak 10× the *unscaled* --lr (not × batch size), start at peak/10,
            # end at start/100, stepped per batch. Momentum cycling stays off so that --beta1 is
            # honoured (the fork silently overrode it).
            scheduler: Any = torch.optim.lr_scheduler.OneCycleLR(
                optimizer,
                max_lr=10 * self.base_lr,
                total_steps=max(1, int(self.trainer.estimated_stepping_batches)),
                pct_start=0.3,
                anneal_strategy="cos",
                div_factor=10.0,
                final_div_factor=100.0,
                cycle_momentum=False,
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
            }
        if cfg.lr_decay_factor >= 1:  # a factor of 1 never lowers the rate: no schedule
            return optimizer
        # ANIMAL-SPOT: max of val accuracy, patience in evaluations, absolute threshold 1e-3.
        self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max",
            factor=cfg.lr_decay_factor,
            patience=max(1, math.ceil(self.lr_patience_epochs / cfg.epochs_per_eval)),
            threshold=1e-3,
            threshold_mode="abs",
        )
        if self._plateau_state is not None:
            self.plateau.load_state_dict(self._plateau_state)
        return optimizer
