"""train(ExperimentConfig) → run directory: callbacks, TensorBoard, resume, early stop, model.pt."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from ..atomic import atomic_open
from ..backbones import backbone_of
from ..bundle import ModelBundle, default_provenance, first_line
from ..config import ExperimentConfig, TrainConfig, save_toml, to_dict
from ..console import is_interactive, run_log
from ..data.detector import to_detector
from ..data.manifest import Clip, class_names
from ..data.prepare import load_splits
from ..data.sampling import class_weights
from ..data.usable import usable_splits
from ..errors import BadConfig, BadData
from ..models import build_model
from ..reporting.switch import is_report_wanted
from .callbacks import (
    MONITOR,
    EpochLines,
    EpochSeed,
    PhaseTimer,
    RunCheckpoints,
    quiet_lightning_logs,
)
from .data import ClipDataModule
from .module import ClassifierModule
from .run_dir import (
    RUN_NAME_VARIABLE,
    check_resume,
    checkpoint_folder,
    claimed_run_dir,
    run_dir_path,
)
from .suitability import check_band, check_frontend, check_network, warn_about_frontend

log = logging.getLogger(__name__)

EPOCH_SYNC_WARNING = ".*when logging on epoch level in distributed setting"
# Lightning's own use of a torch API it deprecated: printed once per call site, several times.
TRAIN_LOG = "train.log"
PYTREE_WARNING = ".*isinstance\\(treespec, LeafSpec\\)"


@dataclass(frozen=True)
class TrainResult:
    """Where a run's artifacts are, and its final figures."""

    run_dir: Path
    model_path: Path
    metrics: dict[str, Any]
    rank: int = 0  # in a multi-process run, only rank 0 wrote the files
    test_clips: tuple[Clip, ...] = ()  # the test split as trained on (relabelled, usable)


def resolved_hyperparameters(config: ExperimentConfig) -> dict[str, float]:
    """lr (already × batch size), beta1 and lr patience, the backbone's defaults filling gaps.

    As in ANIMAL-SPOT, ``--lr`` is a per-clip rate: Adam gets ``lr × batch_size``. The OneCycle
    schedule (the fork's) instead peaks at 10 × the unscaled ``--lr``.
    """
    defaults = backbone_of(config.model).defaults
    cfg = config.train
    base_lr = cfg.lr if cfg.lr is not None else defaults.lr
    return {
        "base_lr": base_lr,
        "lr": base_lr * cfg.batch_size,
        "beta1": cfg.beta1 if cfg.beta1 is not None else defaults.beta1,
        "lr_patience_epochs": (
            cfg.lr_patience_epochs
            if cfg.lr_patience_epochs is not None
            else defaults.lr_patience_epochs
        ),
    }


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


def settings_summary(
    config: ExperimentConfig,
    splits: Mapping[str, Sequence[Clip]],
    classes: Sequence[str],
    hyper: Mapping[str, float],
) -> str:
    """One paragraph: task, classes with clips per split, front end, model, schedule."""
    counts = []
    for name in classes:
        per_split = ", ".join(
            f"{phase} {sum(c.label == name for c in clips)}" for phase, clips in splits.items()
        )
        counts.append(f"{name} ({per_split})")
    audio, spec, model, cfg = config.audio, config.spectrogram, config.model, config.train
    variant = {"resnet": str(model.resnet), "convnext": f"-{model.convnext}"}
    return (
        f"training a {cfg.task} of {len(classes)} classes: {'; '.join(counts)}; front end "
        f"{audio.sample_rate_hz} Hz, n_fft {spec.n_fft}, hop {spec.hop_length}, "
        f"{spec.n_freq_bins} {spec.freq_compression} bins {spec.fmin_hz:g}–{spec.fmax_hz:g} Hz, "
        f"{spec.sequence_len_ms:g} ms windows; model {model.backbone}"
        f"{variant.get(model.backbone, '')}; up to {cfg.max_train_epochs} epochs, batch size "
        f"{cfg.batch_size}, lr {hyper['lr']:.1e} ({hyper['base_lr']:.1e} per clip)"
    )


def _trainer(
    config: ExperimentConfig,
    run_dir: Path,
    checkpoints: RunCheckpoints,
    settings: str,
    extra: Sequence[L.Callback] = (),
) -> L.Trainer:
    """The Lightning Trainer: schedule of evaluations, early stopping, logging, devices."""
    cfg = config.train
    eval_every = min(cfg.epochs_per_eval, cfg.max_train_epochs)
    # ANIMAL-SPOT: patience ⌈epochs / epochs_per_eval⌉ evaluations, ties count as improvement,
    # stop on the first bad evaluation beyond the patience.
    early = EarlyStopping(
        monitor=MONITOR,
        mode="max",
        min_delta=-1e-6,  # float32 accuracies: ties must count
        patience=max(1, math.ceil(cfg.early_stopping_patience_epochs / eval_every)) + 1,
        check_on_train_epoch_end=False,
    )
    try:
        return L.Trainer(
            max_epochs=cfg.max_train_epochs,
            check_val_every_n_epoch=eval_every,
            precision=cfg.precision,
            devices=cfg.devices,
            num_nodes=cfg.num_nodes,
            accelerator="auto",
            strategy="ddp" if cfg.devices * cfg.num_nodes > 1 else "auto",
            use_distributed_sampler=False,  # the data module shards by rank itself
            gradient_clip_val=cfg.grad_clip,
            logger=_loggers(run_dir, cfg),
            callbacks=[
                checkpoints,
                early,
                LearningRateMonitor("step"),
                EpochSeed(cfg.seed),
                PhaseTimer(),
                EpochLines(settings),
                *extra,
            ],
            num_sanity_val_steps=0,
            log_every_n_steps=1,
            default_root_dir=run_dir,
            enable_model_summary=False,
            # On a terminal Lightning's bars; in a log file the epoch lines say enough.
            enable_progress_bar=is_interactive(),
        )
    except MisconfigurationException as err:  # e.g. 16-mixed on a CPU, more devices than exist
        reason = first_line(err)
        raise BadConfig(f"--precision {cfg.precision} --devices {cfg.devices}: {reason}") from None


def _loggers(run_dir: Path, cfg: TrainConfig) -> list[TensorBoardLogger]:
    """TensorBoard in the run directory (the report reads it), and in ``--summary_dir``."""
    loggers = [TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False)]
    if cfg.summary_dir is not None:
        loggers.append(
            TensorBoardLogger(
                cfg.summary_dir, name=run_dir.name, version="", default_hp_metric=False
            )
        )
    return loggers


def train(
    config: ExperimentConfig,
    splits: Mapping[str, Sequence[Clip]] | None = None,
    *,
    report: bool | None = None,
    callbacks: Sequence[L.Callback] = (),
) -> TrainResult:
    """Train the configured model and write its run directory; returns paths and test metrics.

    The run directory holds ``model.pt`` (the best epoch by validation accuracy), ``config.toml``,
    ``metrics.json``, TensorBoard summaries and ``last.ckpt`` (for ``--resume``). The test
    figures are those of the best epoch's weights: ``metrics["test_epoch"]`` names it, while
    ``epochs_run`` counts the epochs trained. With ``report``, rank 0 also writes
    ``report.html``; a report that fails is a warning, never a failed training. ``report``
    None: yes, unless the environment sets ``ANIMAL_SPOT_REPORT=0`` (batch jobs, test suites).
    ``callbacks`` join the Trainer's own (tuning's pruning callback, for one).
    """
    quiet_lightning_logs()
    # Everything a config can get wrong about the front end: before any folder exists.
    check_band(config.audio, config.spectrogram)
    input_shape = check_frontend(config)
    run_dir = run_dir_path(config)
    writer = rank_zero_only.rank == 0  # the other ranks of a distributed run write nothing
    checkpoints = checkpoint_folder(config, run_dir)
    claimed = claimed_run_dir(run_dir, is_writer=writer, checkpoints=checkpoints)
    with claimed, _train_log(run_dir, writer):
        result = _train_in(run_dir, config, splits, input_shape, writer, callbacks)
        if writer and is_report_wanted(report):
            _write_report(run_dir, result)
        return result


def _train_log(run_dir: Path, writer: bool) -> contextlib.AbstractContextManager[object]:
    """``train.log`` in the run directory (appended to on resume), written by rank 0 only."""
    return run_log(run_dir / TRAIN_LOG) if writer else contextlib.nullcontext()


def _write_report(run_dir: Path, result: TrainResult) -> None:
    """``report.html`` of a finished run; any failure is logged, the run stays finished."""
    from ..reporting import write_run_report

    try:
        write_run_report(run_dir, test_clips=result.test_clips)
    except Exception as err:  # a report must never fail a finished training
        log.warning("%s: no report written (%s)", run_dir, first_line(err))


def _train_in(
    run_dir: Path,
    config: ExperimentConfig,
    splits: Mapping[str, Sequence[Clip]] | None,
    input_shape: tuple[int, int] | None,
    writer: bool,
    callbacks: Sequence[L.Callback] = (),
) -> TrainResult:
    """``train`` inside its locked run directory."""
    cfg = config.train
    if splits is None:
        splits = load_splits(config.data, run_dir)
    if cfg.task == "detector":
        splits = to_detector(splits)
    if backbone_of(config.model).reads_spectrograms:  # (others read, and check, clips up front)
        splits = usable_splits(splits)
    for phase in ("train", "val"):
        if not splits.get(phase):
            raise BadData(f"the {phase} split is empty", fix="add clips or change --split")
    classes = class_names([c for clips in splits.values() for c in clips])
    if config.model.num_classes is not None and config.model.num_classes != len(classes):
        raise BadData(
            f"--num_classes {config.model.num_classes} but the data has {len(classes)} classes: "
            f"{', '.join(classes)}"
        )
    # Checked before config.toml is rewritten, so a refused resume changes nothing.
    saved_in = checkpoint_folder(config, run_dir)
    resume_from = check_resume(run_dir, config, classes, saved_in) if cfg.resume else None
    if cfg.resume and resume_from is None:
        log.info("%s: no last.ckpt to resume from; starting afresh", run_dir)
    hyper = resolved_hyperparameters(config)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = ClipDataModule(config, splits, classes)
    model = build_model(config.model, len(classes))
    if input_shape is not None:
        check_network(model, input_shape)
    module = ClassifierModule(
        model,
        cfg,
        classes,
        lr=hyper["lr"],
        base_lr=hyper["base_lr"],
        beta1=hyper["beta1"],
        lr_patience_epochs=int(hyper["lr_patience_epochs"]),
        loss_weight=_loss_weight(config, datamodule.datasets["train"].labels, len(classes)),
    )
    checkpoints = RunCheckpoints(saved_in)
    settings = settings_summary(config, splits, classes, hyper)
    trainer = _trainer(config, run_dir, checkpoints, settings, callbacks)
    if writer:  # after every error a config can raise, once per run
        save_toml(config, run_dir / "config.toml")
        warn_about_frontend(config.audio, config.spectrogram, splits["train"])
    trainer.logger.log_hyperparams({**to_dict(config), "resolved": hyper})  # type: ignore[union-attr]
    # The ranks Lightning starts for --devices N copy this process's environment.
    shares_name = cfg.devices * cfg.num_nodes > 1 and RUN_NAME_VARIABLE not in os.environ
    if shares_name:
        os.environ[RUN_NAME_VARIABLE] = run_dir.name
    try:
        with warnings.catch_warnings():
            # Our epoch figures come from torchmetrics, which gathers every rank's counts itself.
            warnings.filterwarnings("ignore", message=EPOCH_SYNC_WARNING)
            warnings.filterwarnings("ignore", message=PYTREE_WARNING)
            trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    finally:
        if shares_name:
            os.environ.pop(RUN_NAME_VARIABLE, None)
    return _finish(run_dir, config, splits, classes, hyper, module, trainer, checkpoints, writer)


def _finish(
    run_dir: Path,
    config: ExperimentConfig,
    splits: Mapping[str, Sequence[Clip]],
    classes: list[str],
    hyper: dict[str, float],
    module: ClassifierModule,
    trainer: L.Trainer,
    checkpoints: RunCheckpoints,
    writer: bool,
) -> TrainResult:
    """Test the best epoch's weights, then write ``model.pt`` and ``metrics.json``."""
    trainer.strategy.barrier("best checkpoint written")
    best_epoch = checkpoints.load_best(module)
    metrics: dict[str, Any] = {
        "classes": classes,
        "epochs_run": trainer.current_epoch,
        "best_epoch": best_epoch,
        "best_val_accuracy": checkpoints.best_score,
        "hyperparameters": hyper,
    }
    if splits.get("test"):
        # The weights tested are the best epoch's (the last epoch's only without a best.ckpt).
        metrics["test_epoch"] = best_epoch if best_epoch is not None else trainer.current_epoch - 1
        module.tested_epoch = metrics["test_epoch"]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=EPOCH_SYNC_WARNING)
            warnings.filterwarnings("ignore", message=PYTREE_WARNING)
            trainer.test(module, datamodule=trainer.datamodule, verbose=False)  # type: ignore[attr-defined]
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
    model_path = run_dir / "model.pt"
    if writer:
        bundle.save(model_path)
        _write_json(run_dir / "metrics.json", metrics)
    trainer.strategy.barrier("model written")
    test_clips = tuple(splits.get("test", ()))
    return TrainResult(run_dir, model_path, metrics, rank_zero_only.rank, test_clips)
