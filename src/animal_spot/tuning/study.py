"""tune(base, TuneConfig): an Optuna study of training runs, shared by any number of processes.

The study lives in an RDB storage (a SQLite file in the output folder by default, PostgreSQL
for many machines), so processes share it by URL and Optuna numbers trials without duplicates.
Each trial trains into ``<output_dir>/trials/trial-NNNN``; the results (`results`) are rewritten
after every trial, so a killed study still leaves them. A process killed mid-trial leaves that
trial RUNNING; the storage's heartbeat marks it failed once it has been silent for twice
``heartbeat_s`` and the trial is retried with the same parameters, resuming its run directory
from the last epoch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna

from ..config import ExperimentConfig
from ..console import say
from ..errors import BadConfig
from .metrics import Metric
from .objective import ERROR_ATTR, Objective, metric_for
from .results import best_trial, write_best_report, write_results
from .settings import TuneConfig
from .space import SearchSpace, load_space, narrow

log = logging.getLogger(__name__)

# Trials that use up the budget: finished, pruned, running, or refused for their settings.
_COUNTED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.RUNNING,
)


@dataclass(frozen=True)
class TuneResult:
    """What a study holds when this process stops."""

    output_dir: Path
    storage: str
    study_name: str
    n_finished: int
    best_number: int | None
    best_value: float | None
    best_config: Path | None
    best_run_dir: Path | None

    def dashboard_command(self) -> str:
        return f"optuna-dashboard {self.storage}"


def tune(base: ExperimentConfig, config: TuneConfig) -> TuneResult:
    """Run trials until the study holds ``n_trials`` or ``timeout_s`` has passed.

    Raises:
        BadConfig: the study exists and ``load_if_exists`` is off, an unknown metric or a bad
            search space, or a storage that cannot be opened.
    """
    metric = metric_for(config)
    direction = config.direction or metric.direction
    if metric.after_training is not None and config.val_recordings is None:
        raise BadConfig(
            f"--metric {config.metric} scores events on validation recordings",
            fix="give --val_recordings DIR and --val_tables DIR",
        )
    space = narrow(
        load_space(config.space),
        lr_min=config.lr_min,
        lr_max=config.lr_max,
        batch_size_options=config.batch_size_options,
        sequence_len_min=config.sequence_len_min,
        sequence_len_max=config.sequence_len_max,
    )
    Path(config.output_dir).mkdir(parents=True, exist_ok=True)
    with _optuna_quiet():
        return _run(base, config, space, metric, direction)


@contextlib.contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna's per-trial INFO lines and its notes on experimental APIs stay out of the console:
    the epoch lines and trials.csv say more."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message="Target and region quantiles")
            yield
    finally:
        optuna.logging.set_verbosity(before)


def _run(
    base: ExperimentConfig, config: TuneConfig, space: SearchSpace, metric: Metric, direction: str
) -> TuneResult:
    study = open_study(config, direction)
    objective = Objective(base, space, config, metric)
    say(
        f"study {config.study_name!r} in {config.storage_url}: {config.metric} ({direction}), "
        f"{len(space.parameters)} parameters from {space.source}, {config.n_trials} trials"
    )
    started = time.monotonic()
    while _budget_left(study, config.n_trials):
        remaining = None
        if config.timeout_s is not None:
            remaining = config.timeout_s - (time.monotonic() - started)
            if remaining <= 0:
                break
        study.optimize(objective, n_trials=1, timeout=remaining, gc_after_trial=True)
        write_results(study, base, config)
        _say_trial(study)
    result = _result(study, config)
    if result.best_run_dir is not None and (result.best_run_dir / "model.pt").is_file():
        write_best_report(result.best_run_dir)
    return result


def _say_trial(study: optuna.Study) -> None:
    last = max(
        (t for t in study.get_trials(deepcopy=False) if t.state.is_finished()),
        key=lambda t: t.datetime_complete or t.datetime_start,
        default=None,
    )
    if last is None:
        return
    value = "" if last.value is None else f" {last.value:.4f}"
    best = best_trial(study)
    so_far = "" if best is None else f"; best so far: trial {best.number} {best.value:.4f}"
    say(f"trial {last.number} {last.state.name.lower()}{value}{so_far}")


def open_study(config: TuneConfig, direction: str) -> optuna.Study:
    """Create the study, or load it with ``load_if_exists``; several processes may race here."""
    storage = _storage(config)
    names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    if config.study_name in names and not config.load_if_exists:
        raise BadConfig(
            f"study {config.study_name!r} already exists in {config.storage_url}",
            fix="add --load_if_exists to continue it, or give another --study_name",
        )
    return optuna.create_study(
        storage=storage,
        study_name=config.study_name,
        direction=direction,
        sampler=_sampler(config),
        pruner=_pruner(config),
        load_if_exists=True,
    )


def worker_seed(config: TuneConfig) -> int:
    """``--tune_seed`` for a study this process makes; mixed with host and pid for one it joins.

    Workers that share a study with one seed would draw the same first trials; a fresh study
    of one process keeps its seed exactly, so that it can be repeated.
    """
    if not config.load_if_exists:
        return config.seed
    text = f"{config.seed}|{socket.gethostname()}|{os.getpid()}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


def _sampler(config: TuneConfig) -> optuna.samplers.TPESampler:
    seed = worker_seed(config)
    log.info("TPE sampler seed %d", seed)
    # With other workers, the constant liar counts their running trials as bad results, so
    # that TPE does not propose the same point to each of them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, constant_liar=config.load_if_exists)


def _storage(config: TuneConfig) -> optuna.storages.RDBStorage:
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    url = config.storage_url
    engine: dict[str, object] = {}
    if url.startswith("sqlite"):
        # Several processes on one file: wait for the lock instead of failing at once.
        engine = {"connect_args": {"timeout": 60}}
    error: Exception | None = None
    # Processes started together race to create the tables: the loser's insert fails once,
    # and opening again finds them made.
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine,
                heartbeat_interval=config.heartbeat_s,
                grace_period=2 * config.heartbeat_s,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
        except Exception as err:  # SQLAlchemy's: a bad URL, a missing driver, no server, a race
            error = err
            if not _is_creation_race(err):
                break
            time.sleep(0.2 * (attempt + 1))
    reason = f"{type(error).__name__}: {error}".split("\n")[0]
    raise BadConfig(
        f"cannot open the study storage {url} ({reason})",
        fix="give an Optuna RDB URL: sqlite:///FILE or postgresql://USER@HOST/DB",
    )


_OPEN_ATTEMPTS = 8


def _is_creation_race(err: Exception) -> bool:
    """The loser of two processes creating one storage's tables: a duplicate row or table."""
    text = str(err)
    return (
        "IntegrityError" in type(err).__name__
        or "UNIQUE constraint" in text
        or "locked" in text
        or "already exists" in text  # both ran CREATE TABLE (SQLite and PostgreSQL say so)
    )


def _pruner(config: TuneConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=config.max_epochs or "auto"
        )
    return optuna.pruners.MedianPruner(
        n_startup_trials=config.pruner_startup_trials, n_warmup_steps=config.pruner_warmup_epochs
    )


def _budget_left(study: optuna.Study, n_trials: int) -> bool:
    """Fewer than ``n_trials`` trials finished, pruned, refused or running (in any process)."""
    from optuna.storages import fail_stale_trials

    fail_stale_trials(study)  # a killed process's trial no longer holds a place
    trials = study.get_trials(deepcopy=False)
    used = sum(t.state in _COUNTED or ERROR_ATTR in t.user_attrs for t in trials)
    return used < n_trials


def _result(study: optuna.Study, config: TuneConfig) -> TuneResult:
    from .results import BEST_DIR

    best = best_trial(study)
    out = Path(config.output_dir)
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    return TuneResult(
        output_dir=out,
        storage=config.storage_url,
        study_name=config.study_name,
        n_finished=len(finished),
        best_number=None if best is None else best.number,
        best_value=None if best is None else best.value,
        best_config=None if best is None else out / BEST_DIR / "config.toml",
        best_run_dir=None if best is None else Path(best.user_attrs["run_dir"]),
    )
