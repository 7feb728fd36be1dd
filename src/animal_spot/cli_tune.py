"""``animal-spot tune``: the base config's flags (as ``train``) plus the study's; one API call."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli_options import add_config_flags, add_recipe_flag, add_section_flags, config_from_args
from .console import say
from .errors import BadConfig

TRAIN_SECTIONS = ("audio", "spectrogram", "augment", "data", "model", "train")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give sizes ≥ 1, e.g. 8,16,32")
    return values


def add_tune(sub: argparse._SubParsersAction) -> None:
    from .tuning.metrics import METRICS
    from .tuning.settings import PRUNERS

    p = sub.add_parser(
        "tune",
        help="an Optuna study of training runs (front end included) → best/config.toml",
        description="Train many configs under Optuna. The train flags set the base config; "
        "the search space (--space, default: the shipped default_space.toml) varies it.",
    )
    study = p.add_argument_group("study options")
    study.add_argument(
        "--output_dir",
        type=Path,
        required=True,
        help="study folder: trials, "
        "trials.csv, plots, best/config.toml, and the SQLite study by default",
    )
    study.add_argument(
        "--n_trials",
        type=int,
        default=100,
        help="trials of the whole study, every process together (default: 100)",
    )
    study.add_argument(
        "--timeout",
        type=float,
        help="seconds after which this process starts no more trials (default: none)",
    )
    study.add_argument("--max_epochs", type=int, default=50, help="epochs per trial (default: 50)")
    study.add_argument(
        "--study_name",
        default="animal-spot",
        help="name of the study in the storage (default: animal-spot)",
    )
    study.add_argument(
        "--storage",
        help="Optuna RDB URL, e.g. postgresql://user:pw@host/db "
        "for many machines (default: sqlite:///OUTPUT_DIR/study.db)",
    )
    study.add_argument(
        "--metric",
        default="val_mean_per_class_accuracy",
        choices=METRICS.names(),
        help="what trials are judged by (default: val_mean_per_class_accuracy); "
        "event_f1 and recall_at_fp_per_h need --val_recordings and --val_tables",
    )
    study.add_argument(
        "--direction", choices=("maximize", "minimize"), help="(default: the metric's own)"
    )
    study.add_argument(
        "--load_if_exists",
        action="store_true",
        help="continue an existing study (needed by every process after the first)",
    )
    study.add_argument("--space", type=Path, help="TOML search space (default: the shipped one)")
    study.add_argument(
        "--tune_seed",
        type=int,
        default=0,
        help="seed of the TPE sampler (default: 0); a worker that joins a study "
        "(--load_if_exists) mixes in its host and process id, so workers draw different trials",
    )
    study.add_argument("--pruner", choices=PRUNERS, default="median", help="(default: median)")
    study.add_argument(
        "--pruner_startup_trials",
        type=int,
        default=5,
        help="median pruner: trials before any is pruned (default: 5)",
    )
    study.add_argument(
        "--pruner_warmup_epochs",
        type=int,
        default=10,
        help="median pruner: epochs of a trial before it can be pruned (default: 10)",
    )
    study.add_argument(
        "--val_recordings", type=Path, help="event metrics: long validation recordings"
    )
    study.add_argument("--val_tables", type=Path, help="event metrics: their Raven tables")
    study.add_argument(
        "--target_fp_per_h",
        type=float,
        default=10.0,
        help="recall_at_fp_per_h: false positives per hour allowed (default: 10)",
    )
    study.add_argument(
        "--heartbeat_s",
        type=int,
        default=60,
        help="a trial's heartbeat; one silent for twice this (its process was "
        "killed) is retried, resuming its run (default: 60)",
    )
    fork = p.add_argument_group("the fork's range options (narrow the search space)")
    fork.add_argument("--lr_min", type=float, help="lowest lr (the space: 1e-6)")
    fork.add_argument("--lr_max", type=float, help="highest lr (the space: 1e-3)")
    fork.add_argument(
        "--batch_size_options", type=_int_list, help="batch sizes to try, e.g. 8,16,32"
    )
    fork.add_argument("--sequence_len_min", type=float, help="shortest window, ms (the space: 300)")
    fork.add_argument("--sequence_len_max", type=float, help="longest window, ms (the space: 1500)")
    add_config_flags(p)
    add_recipe_flag(p)
    add_section_flags(p, TRAIN_SECTIONS)
    p.set_defaults(run=run_tune)


def run_tune(args: argparse.Namespace) -> int:
    from .tuning import TuneConfig, tune

    if getattr(args, "train.max_train_epochs", None) is not None:
        raise BadConfig("tune takes --max_epochs (per trial), not --max_train_epochs")
    config = TuneConfig(
        output_dir=args.output_dir,
        n_trials=args.n_trials,
        timeout_s=args.timeout,
        max_epochs=args.max_epochs,
        study_name=args.study_name,
        storage=args.storage,
        metric=args.metric,
        direction=args.direction,
        load_if_exists=args.load_if_exists,
        space=args.space,
        seed=args.tune_seed,
        pruner=args.pruner,
        pruner_startup_trials=args.pruner_startup_trials,
        pruner_warmup_epochs=args.pruner_warmup_epochs,
        lr_min=args.lr_min,
        lr_max=args.lr_max,
        batch_size_options=args.batch_size_options,
        sequence_len_min=args.sequence_len_min,
        sequence_len_max=args.sequence_len_max,
        val_recordings=args.val_recordings,
        val_tables=args.val_tables,
        target_fp_per_h=args.target_fp_per_h,
        heartbeat_s=args.heartbeat_s,
    )
    result = tune(config_from_args(args), config)
    print(f"{result.n_finished} trials finished in study {result.study_name!r}")
    if result.best_number is not None:
        print(f"best: trial {result.best_number}, {config.metric} {result.best_value:.4f}")
        print(f"wrote {result.best_config}")
        say(f"best run: {result.best_run_dir}")
        say(f"next: animal-spot train --config {result.best_config} --data_dir DATA/")
    say(f"dashboard: {result.dashboard_command()}")
    return 0
