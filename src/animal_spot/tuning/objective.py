"""One trial: its config from the space, a training run with a pruning callback, its value."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import lightning as L
import optuna

from ..config import ExperimentConfig, override, to_dict
from ..errors import AnimalSpotError
from .metrics import METRICS, Metric
from .settings import TuneConfig
from .space import SearchSpace, apply

log = logging.getLogger(__name__)

TRIALS_DIR = "trials"
RUN_DIR_ATTR = "run_dir"
ERROR_ATTR = "error"


def trial_name(number: int) -> str:
    return f"trial-{number:04d}"


class PruneOnValidation(L.Callback):
    """Reports the watched metric after each evaluation; stops a trial the pruner gives up on.

    Keeps the best value seen: that is the trial's value for clip metrics.
    """

    def __init__(self, trial: optuna.Trial, logged: str, direction: str) -> None:
        self.trial = trial
        self.logged = logged
        self.sign = 1.0 if direction == "maximize" else -1.0
        self.best: float | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.logged not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.logged])
        if not math.isfinite(value):
            return
        if self.best is None or self.sign * value > self.sign * self.best:
            self.best = value
        self.trial.report(value, step=trainer.current_epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.logged} {value:.4f} at epoch {trainer.current_epoch}")


@dataclass(frozen=True)
class Objective:
    """Callable for ``study.optimize``: trains one config per trial."""

    base: ExperimentConfig
    space: SearchSpace
    config: TuneConfig
    metric: Metric

    def trial_config(self, trial: optuna.Trial) -> ExperimentConfig:
        """The base config with the trial's values, its own run directory and the shared cache."""
        values = self.space.suggest(trial)
        out = Path(self.config.output_dir)
        fixed: dict[str, Any] = {
            "train.model_dir": out / TRIALS_DIR,
            "train.run_name": self._run_name(trial),
            "train.resume": True,  # a retried (killed) trial goes on from its last epoch
            "data.cache_dir": self.base.data.cache_dir or out / "cache",
            "data.cache_audio": self.base.data.cache_audio or self.space.searches_power_stft(),
        }
        if not self.config.use_cache:
            fixed["data.cache_dir"] = None
        if self.config.max_epochs is not None:
            fixed["train.max_train_epochs"] = self.config.max_epochs
        return override(apply(self.base, values), fixed)

    def _run_name(self, trial: optuna.Trial) -> str:
        """A retried trial reuses the run directory of the trial it retries."""
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        frozen = trial.storage.get_trial(trial._trial_id)  # the retry mark is a system attribute
        retried = RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)
        return trial_name(trial.number if retried is None else retried)

    def __call__(self, trial: optuna.Trial) -> float:
        from ..training.fit import train

        try:
            config = self.trial_config(trial)
        except AnimalSpotError as err:  # a combination the config refuses (fmax above Nyquist)
            return self._refused(trial, err)
        run_dir = Path(config.train.model_dir) / str(config.train.run_name)
        trial.set_user_attr(RUN_DIR_ATTR, str(run_dir))
        trial.set_user_attr("config", json.dumps(to_dict(config), default=str))
        watcher = PruneOnValidation(trial, self.metric.logged, self.metric.direction)
        try:
            result = train(config, report=False, callbacks=[watcher])
        except optuna.TrialPruned:
            raise
        except AnimalSpotError as err:  # e.g. a window too short for the network
            return self._refused(trial, err)
        if self.metric.after_training is not None:
            value = self.metric.after_training(result.model_path, run_dir, self.config)
        else:
            value = watcher.best
        if value is None or not math.isfinite(value):
            raise optuna.TrialPruned(f"{self.config.metric} could not be computed")
        return float(value)

    def _refused(self, trial: optuna.Trial, err: AnimalSpotError) -> NoReturn:
        """Refused settings end as a pruned trial (TPE learns to avoid them), the reason kept."""
        trial.set_user_attr(ERROR_ATTR, str(err))
        log.warning("trial %d: settings refused: %s", trial.number, err)
        raise optuna.TrialPruned(f"settings refused: {err}")


def metric_for(config: TuneConfig) -> Metric:
    return METRICS.get(config.metric)
