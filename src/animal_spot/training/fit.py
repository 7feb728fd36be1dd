"""train(ExperimentConfig) → run directory: callbacks, TensorBoard, resume, early stop, model.pt."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
)
from lightning.pytorch.loggers import TensorBoardLogger

from ..atomic import atomic_open
from ..bundle import ModelBundle, default_provenance
from ..config import ExperimentConfig, save_toml
from ..data.manifest import Clip, class_names
from ..data.prepare import load_splits
from ..data.sampling import class_weights
from ..errors import BadConfig, BadData
from ..models import build_model
from .data import ClipDataModule
from .module import ClassifierModule

log = logging.getLogger(__name__)

# The fork's per-backbone defaults (its training scripts): base lr per clip, Adam beta1, patience.
BACKBONE_DEFAULTS: dict[str, dict[str, float]] = {
    "resnet": {"lr": 5e-6, "beta1": 0.5, "lr_patience_epochs": 8},
    "convnext": {"lr": 1e-6, "beta1": 0.9, "lr_patience_epochs": 10},
}
NOISE = "noise"
TARGET = "target"


@dataclass(frozen=True)
class TrainResult:
    """Where a run's artifacts are, and its final figures."""

    run_dir: Path
    model_path: Path
    metrics: dict[str, Any]


def resolved_hyperparameters(config: ExperimentConfig) -> dict[str, float]:
    """lr (already × batch size), beta1 and lr patience, the backbone's defaults filling gaps.

    As in ANIMAL-SPOT, ``--lr`` is a per-clip rate: the optimiser gets ``lr × batch_size``.
    """
    defaults = BACKBONE_DEFAULTS[config.model.backbone]
    cfg = config.train
    base_lr = cfg.lr if cfg.lr is not None else defaults["lr"]
    return {
        "base_lr": base_lr,
        "lr": base_lr * cfg.batch_size,
        "beta1": cfg.beta1 if cfg.beta1 is not None else defaults["beta1"],
        "lr_patience_epochs": (
            cfg.lr_patience_epochs
            if cfg.lr_patience_epochs is not None
            else int(defaults["lr_patience_epochs"])
        ),
    }


def to_detector(splits: Mapping[str, Sequence[Clip]]) -> dict[str, list[Clip]]:
    """Every class but ``noise`` becomes ``target``: the first stage of a two-stage pipeline."""
    labels = {c.label for clips in splits.values() for c in clips}
    noise = [label for label in labels if label.lower() == NOISE]
    if not noise:
        raise BadData(
            f"a detector needs a 'noise' class; the classes are {sorted(labels)}",
            fix="add clips labelled noise",
        )
    return {
        phase: [
            dataclasses.replace(c, label=NOISE if c.label.lower() == NOISE else TARGET)
            for c in clips
        ]
        for phase, clips in splits.items()
    }


class EpochSeed(Callback):
    """Seeds torch's global generator per epoch (dropout, stochastic depth), so resumes match."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(self.seed * 1_000_003 + trainer.current_epoch + 7)


def _run_dir(config: ExperimentConfig) -> Path:
    cfg = config.train
    name = cfg.run_name or time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(cfg.model_dir) / name
    if (run_dir / "last.ckpt").exists() and not cfg.resume:
        raise BadConfig(
            "this run directory already holds a run",
            path=run_dir,
            fix="add --resume to continue it, or choose another --run_name",
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _loss_weight(
    config: ExperimentConfig, labels: Sequence[int], n_classes: int
) -> torch.Tensor | None:
    if not config.train.class_weighted_loss:
        return None
    counts = torch.bincount(torch.as_tensor(list(labels)), minlength=n_classes).numpy()
    weights = class_weights(
        counts, config.train.sampling_strategy, beta=config.train.effective_num_beta
    )
    return torch.as_tensor(weights / weights[weights > 0].mean(), dtype=torch.float32)


def _write_json(path: Path, values: dict[str, Any]) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(values, handle, indent=2, sort_keys=True)


def train(
    config: ExperimentConfig, splits: Mapping[str, Sequence[Clip]] | None = None
) -> TrainResult:
    """Train the configured model and write its run directory; returns paths and test metrics.

    The run directory holds ``model.pt`` (the best epoch by validation accuracy), ``config.toml``,
    ``metrics.json``, TensorBoard summaries and ``last.ckpt`` (for ``--resume``).
    """
    cfg = config.train
    run_dir = _run_dir(config)
    if splits is None:
        splits = load_splits(config.data, run_dir)
    if cfg.task == "detector":
        splits = to_detector(splits)
    for phase in ("train", "val"):
        if not splits.get(phase):
            raise BadData(f"the {phase} split is empty", fix="add clips or change --split")
    classes = class_names([c for clips in splits.values() for c in clips])
    if config.model.num_classes is not None and config.model.num_classes != len(classes):
        raise BadData(
            f"--num_classes {config.model.num_classes} but the data has {len(classes)} classes: "
            f"{', '.join(classes)}"
        )
    save_toml(config, run_dir / "config.toml")
    hyper = resolved_hyperparameters(config)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = ClipDataModule(config, splits, classes)
    module = ClassifierModule(
        build_model(config.model, len(classes)),
        cfg,
        classes,
        lr=hyper["lr"],
        beta1=hyper["beta1"],
        lr_patience_epochs=int(hyper["lr_patience_epochs"]),
        loss_weight=_loss_weight(config, datamodule.datasets["train"].labels, len(classes)),
    )
    eval_every = min(cfg.epochs_per_eval, cfg.max_train_epochs)
    best = ModelCheckpoint(
        dirpath=run_dir,
        filename="best",
        monitor="val/accuracy",
        mode="max",
        save_top_k=1,
        auto_insert_metric_name=False,
    )
    last = ModelCheckpoint(dirpath=run_dir, save_last=True, save_top_k=0, every_n_epochs=1)
    early = EarlyStopping(
        monitor="val/accuracy",
        mode="max",
        patience=max(1, math.ceil(cfg.early_stopping_patience_epochs / eval_every)),
        check_on_train_epoch_end=False,
    )
    trainer = L.Trainer(
        max_epochs=cfg.max_train_epochs,
        check_val_every_n_epoch=eval_every,
        precision=cfg.precision,
        devices=cfg.devices,
        accelerator="auto",
        strategy="ddp" if cfg.devices > 1 else "auto",
        gradient_clip_val=cfg.grad_clip,
        logger=TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False),
        callbacks=[best, last, early, LearningRateMonitor("step"), EpochSeed(cfg.seed)],
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        default_root_dir=run_dir,
        enable_model_summary=False,
    )
    resume_from = run_dir / "last.ckpt" if cfg.resume and (run_dir / "last.ckpt").exists() else None
    if cfg.resume and resume_from is None:
        log.info("%s: no last.ckpt to resume from; starting afresh", run_dir)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    best_path = best.best_model_path or None
    metrics: dict[str, Any] = {
        "classes": classes,
        "epochs_run": trainer.current_epoch,
        "best_epoch": None,
        "best_val_accuracy": float(best.best_model_score)
        if best.best_model_score is not None
        else None,
        "hyperparameters": hyper,
    }
    if best_path:
        best_state = torch.load(best_path, map_location="cpu", weights_only=True)
        module.load_state_dict(best_state["state_dict"])
        metrics["best_epoch"] = int(best_state["epoch"])
    if splits.get("test"):
        trainer.test(module, datamodule=datamodule, verbose=False)
        metrics["test"] = module.results.get("test", {})
    metrics["last_val"] = module.results.get("val", {})
    bundle = ModelBundle(
        config=config,
        classes=classes,
        model=module.model,
        provenance={
            **default_provenance(),
            "run_dir": str(run_dir),
            "best_epoch": metrics["best_epoch"],
        },
    )
    model_path = bundle.save(run_dir / "model.pt")
    _write_json(run_dir / "metrics.json", metrics)
    return TrainResult(run_dir, model_path, metrics)
