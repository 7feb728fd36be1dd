"""A study's results, rewritten after every trial (atomically) so that a killed study keeps them.

``<output_dir>/trials.csv``: one row per trial (number, state, value, parameters, seconds, run
directory, the reason a trial was refused or pruned). ``best/config.toml``: the base config with
the best trial's parameters, which ``animal-spot train --config`` takes; ``best/params.json``
(the fork's ``best_params.json``); ``best/run``: a link to the best trial's run directory, which
gets its ``report.html``. ``optimization_history.png`` and ``param_importances.png``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import optuna

from ..atomic import atomic_write_bytes
from ..config import ExperimentConfig, save_toml
from .objective import ERROR_ATTR, RUN_DIR_ATTR
from .settings import TuneConfig
from .space import apply

log = logging.getLogger(__name__)

BEST_DIR = "best"
TRIALS_CSV = "trials.csv"
HISTORY_PNG = "optimization_history.png"
IMPORTANCE_PNG = "param_importances.png"


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best finished trial, or None before one has finished."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return study.best_trial if complete else None


def write_results(study: optuna.Study, base: ExperimentConfig, config: TuneConfig) -> None:
    """Every file above; a plot that fails is a warning (the study is what matters)."""
    out = Path(config.output_dir)
    trials = study.get_trials(deepcopy=False)
    atomic_write_bytes(out / TRIALS_CSV, trials_csv(trials).encode())
    best = best_trial(study)
    if best is not None:
        _write_best(best, base, out / BEST_DIR)
    _write_plots(study, out)


def trials_csv(trials: list[optuna.trial.FrozenTrial]) -> str:
    params = sorted({name for t in trials for name in t.params})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["number", "state", "value", *params, "seconds", "run_dir", "note"])
    for t in trials:
        seconds = (
            f"{(t.datetime_complete - t.datetime_start).total_seconds():.1f}"
            if t.datetime_complete and t.datetime_start
            else ""
        )
        note = t.user_attrs.get(ERROR_ATTR, "")
        if not note and t.state == optuna.trial.TrialState.PRUNED and t.intermediate_values:
            step = max(t.intermediate_values)
            note = f"pruned after epoch {step} at {t.intermediate_values[step]:.4f}"
        writer.writerow(
            [
                t.number,
                t.state.name,
                "" if t.value is None else f"{t.value:.6g}",
                *(t.params.get(name, "") for name in params),
                seconds,
                t.user_attrs.get(RUN_DIR_ATTR, ""),
                note,
            ]
        )
    return buffer.getvalue()


def _write_best(best: optuna.trial.FrozenTrial, base: ExperimentConfig, folder: Path) -> None:
    """The best parameters on the base config: a fresh ``train --config`` run, not the trial's."""
    save_toml(apply(base, best.params), folder / "config.toml")
    summary = {"number": best.number, "value": best.value, "params": best.params}
    summary["run_dir"] = best.user_attrs.get(RUN_DIR_ATTR)
    atomic_write_bytes(folder / "params.json", json.dumps(summary, indent=2).encode())
    run_dir = best.user_attrs.get(RUN_DIR_ATTR)
    if run_dir:
        _link(folder / "run", Path(run_dir))


def _link(link: Path, target: Path) -> None:
    """``link`` → ``target``, replaced atomically (a relative link survives moving the folder)."""
    relative = os.path.relpath(target.resolve(), link.parent.resolve())
    temporary = link.with_name(f".{link.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    try:
        temporary.symlink_to(relative, target_is_directory=True)
        os.replace(temporary, link)
    except OSError as err:  # a file system without links: params.json names the folder
        temporary.unlink(missing_ok=True)
        log.debug("%s: no link to the best run (%s)", link, err)


def _write_plots(study: optuna.Study, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    wanted: list[tuple[str, Any]] = [(HISTORY_PNG, plots.plot_optimization_history)]
    varied = {name for t in complete for name in t.params}
    if len(complete) >= 2 and varied:
        wanted.append((IMPORTANCE_PNG, plots.plot_param_importances))
    for name, plot in wanted:
        try:
            axes = plot(study)
            figure = axes.figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100)
            plt.close(figure)
            atomic_write_bytes(out / name, buffer.getvalue())
        except Exception as err:  # e.g. importances of parameters that never varied
            log.warning("%s: not drawn (%s)", out / name, str(err).split("\n")[0])


def write_best_report(run_dir: Path) -> None:
    """``report.html`` of the best trial's run (trials themselves train without one)."""
    from ..reporting.switch import is_report_wanted, write_or_warn

    if is_report_wanted(None):
        from ..reporting import write_run_report

        write_or_warn(run_dir, write_run_report)
