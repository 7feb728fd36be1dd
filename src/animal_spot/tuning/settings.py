"""TuneConfig: what a study searches, how long, where it is stored and what it maximises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BadConfig

PRUNERS = ("median", "hyperband", "none")
DIRECTIONS = ("maximize", "minimize")
STUDY_FILE = "study.db"


@dataclass(frozen=True, kw_only=True)
class TuneConfig:
    """One ``animal-spot tune`` process (several may share one ``storage``)."""

    output_dir: Path
    n_trials: int = 100  # finished trials of the whole study, all processes together
    timeout_s: float | None = None  # this process stops starting trials after it
    max_epochs: int | None = 50  # per trial (None: the base config's max_train_epochs)
    study_name: str = "animal-spot"
    storage: str | None = None  # an Optuna RDB URL; None: sqlite:///<output_dir>/study.db
    metric: str = "val_mean_per_class_accuracy"
    direction: str | None = None  # None: the metric's own
    load_if_exists: bool = False
    space: Path | None = None  # a TOML search space; None: the shipped default
    seed: int = 0
    pruner: str = "median"
    pruner_startup_trials: int = 5  # the fork's MedianPruner(5, 10)
    pruner_warmup_epochs: int = 10
    lr_min: float | None = None
    lr_max: float | None = None
    batch_size_options: tuple[int, ...] | None = None
    sequence_len_min: float | None = None  # ms
    sequence_len_max: float | None = None
    val_recordings: Path | None = None  # event metrics: long recordings to predict over
    val_tables: Path | None = None  # and their Raven tables
    target_fp_per_h: float = 10.0  # recall_at_fp_per_h: the false-positive budget
    use_cache: bool = True  # False: every trial computes its spectrograms afresh (benchmarks)
    heartbeat_s: int = 60  # a trial silent for 2× this is taken as dead (killed) and retried

    def __post_init__(self) -> None:
        if self.n_trials < 1:
            raise BadConfig(f"--n_trials {self.n_trials} must be at least 1")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise BadConfig(f"--timeout {self.timeout_s:g} must be positive (seconds)")
        if self.max_epochs is not None and self.max_epochs < 1:
            raise BadConfig(f"--max_epochs {self.max_epochs} must be at least 1")
        if self.pruner not in PRUNERS:
            raise BadConfig(f"--pruner {self.pruner!r}: one of {', '.join(PRUNERS)}")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise BadConfig(f"--direction {self.direction!r}: maximize or minimize")
        if (self.val_recordings is None) != (self.val_tables is None):
            raise BadConfig("--val_recordings and --val_tables go together")
        if self.heartbeat_s < 1:
            raise BadConfig(f"heartbeat_s {self.heartbeat_s} must be at least 1 second")

    @property
    def storage_url(self) -> str:
        if self.storage:
            return self.storage
        return f"sqlite:///{(Path(self.output_dir) / STUDY_FILE).resolve()}"
