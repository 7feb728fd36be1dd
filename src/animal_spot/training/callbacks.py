"""Training callbacks: per-epoch seeds, atomic checkpoints, timing, and plain progress lines."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, Checkpoint
from lightning.pytorch.trainer.states import TrainerFn

from ..atomic import atomic_path
from ..console import say
from .run_dir import read_checkpoint

MONITOR = "val/accuracy"


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch: a function of (seed, epoch) alone, never of what ran before."""
    return seed * 1_000_003 + epoch + 7


class EpochSeed(Callback):
    """Seeds torch's global generator at each epoch start (dropout, stochastic depth).

    Together with ``EpochSampler`` (order from (seed, epoch)) and the dataset's per-item
    generators, this makes an epoch's randomness independent of whether the process restarted.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(epoch_seed(self.seed, trainer.current_epoch))


class PhaseTimer(Callback):
    """Logs ``<phase>/time_s``, ``<phase>/data_loading_time_s`` and ``<phase>/clips_per_s``.

    ANIMAL-SPOT logs each phase's time and data-loading time; the rate makes runs comparable.
    The time runs from the phase's start to its last batch, so a training epoch's figure leaves
    out the validation that Lightning runs inside it. Data loading is the wait between batches.
    """

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}
        self.loading: dict[str, float] = {}
        self.clips: dict[str, int] = {}

    def _phase_start(self, phase: str) -> None:
        self.start[phase] = self.end[phase] = time.perf_counter()
        self.loading[phase] = 0.0
        self.clips[phase] = 0

    def _batch_start(self, phase: str) -> None:
        if phase in self.end:
            self.loading[phase] += time.perf_counter() - self.end[phase]

    def _batch_end(self, phase: str, batch: Any) -> None:
        if phase in self.end:
            self.end[phase] = time.perf_counter()
            self.clips[phase] += len(batch[1])

    def _phase_end(self, phase: str, pl_module: L.LightningModule) -> None:
        if not self.clips.get(phase):
            return
        elapsed = max(self.end[phase] - self.start[phase], 1e-9)
        pl_module.log(f"{phase}/time_s", elapsed)
        pl_module.log(f"{phase}/data_loading_time_s", self.loading[phase])
        pl_module.log(f"{phase}/clips_per_s", self.clips[phase] / elapsed)
        self.clips[phase] = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase_start("train")

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        self._batch_start("train")

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *args: Any
    ) -> None:
        self._batch_end("train", batch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase_end("train", pl_module)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase_start("val")

    def on_validation_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        self._batch_start("val")

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *args: Any
    ) -> None:
        self._batch_end("val", batch)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._phase_end("val", pl_module)

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase_start("test")

    def on_test_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any
    ) -> None:
        self._batch_start("test")

    def on_test_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *args: Any
    ) -> None:
        self._batch_end("test", batch)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._phase_end("test", pl_module)


class RunCheckpoints(Checkpoint):
    """``best.ckpt`` (weights of the best validation epoch) and ``last.ckpt`` (for ``--resume``).

    The best epoch is the last one whose validation accuracy is strictly higher than every
    earlier one (ANIMAL-SPOT's rule). ``last.ckpt`` is written at the end of every training
    epoch, after validation and after the epoch's metrics were logged; both files are written to
    a temporary name and renamed, so a process killed mid-write leaves the previous file whole.
    """

    def __init__(self, run_dir: str | Path, monitor: str = MONITOR) -> None:
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.best_score: float | None = None
        self.best_epoch: int | None = None

    @property
    def best_path(self) -> Path:
        return self.run_dir / "best.ckpt"

    @property
    def last_path(self) -> Path:
        return self.run_dir / "last.ckpt"

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        score = float(value)
        if self.best_score is not None and score <= self.best_score:
            return
        self.best_score, self.best_epoch = score, trainer.current_epoch
        if trainer.is_global_zero:
            content = {
                "epoch": trainer.current_epoch,
                "score": score,
                "state_dict": pl_module.state_dict(),
            }
            with atomic_path(self.best_path) as tmp:
                torch.save(content, tmp)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # On a resume from this very checkpoint Lightning calls the epoch-end hooks once more.
        if trainer.fit_loop.restarting:
            return
        tmp = self.last_path.with_name(f".{self.last_path.name}.tmp")
        trainer.save_checkpoint(tmp, weights_only=False)  # collective under DDP; rank 0 writes
        if trainer.is_global_zero:
            os.replace(tmp, self.last_path)

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict.get("best_score")
        self.best_epoch = state_dict.get("best_epoch")

    def load_best(self, pl_module: L.LightningModule) -> int | None:
        """Put the best epoch's weights into ``pl_module``; returns that epoch (None: no file)."""
        if not self.best_path.is_file():
            return None
        content = read_checkpoint(self.best_path)
        pl_module.load_state_dict(content["state_dict"])
        return int(content["epoch"])


# Lightning's own loggers: each has a handler of its own and also propagates to the root logger.
LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
ADVERT_WORDS = ("litlogger", "💡 Tip")


class _NoAdverts(logging.Filter):
    """Drops Lightning's promotional tips; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(word in message for word in ADVERT_WORDS)


def quiet_lightning_logs() -> None:
    """Lightning's records once, through the root logger at its level, without adverts."""
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)  # the user's --log_level decides
        logger.propagate = True
    # A filter sees only records of its own logger, so it goes where the tips are logged.
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoAdverts) for f in logger.filters):
            logger.addFilter(_NoAdverts())


def _value(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    return "n/a" if value is None else f"{float(value):.3f}"


class EpochLines(Callback):
    """Prints a settings paragraph at the start and one line per evaluated epoch (rank 0).

    Lightning runs validation inside the training epoch and logs the training loss only after
    every callback's epoch-end hook, so an epoch's line is printed when the next epoch starts
    (or the fit ends), with the learning rate it was trained at.
    """

    def __init__(self, settings: str) -> None:
        self.settings = settings
        self.pending: tuple[int, float | None] | None = None  # (epoch, its lr)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            say(f"{self.settings}; device {pl_module.device}")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        groups = trainer.optimizers[0].param_groups if trainer.optimizers else []
        self.pending = (trainer.current_epoch, float(groups[0]["lr"]) if groups else None)

    def _flush(self, trainer: L.Trainer) -> None:
        if self.pending is None:
            return
        epoch, lr = self.pending
        self.pending = None
        if not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        lr_text = "n/a" if lr is None else f"{lr:.1e}"
        say(
            f"epoch {epoch + 1}/{trainer.max_epochs}: train loss {_value(metrics, 'train/loss')}, "
            f"val loss {_value(metrics, 'val/loss')}, "
            f"val accuracy {_value(metrics, MONITOR)}, lr {lr_text}"
        )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
