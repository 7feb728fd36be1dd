"""Optuna tuning: a search space (data) → trial configs → ``train`` runs, pruned and shared.

``space`` reads the TOML search space, ``objective`` trains one trial with a pruning callback,
``metrics`` names what trials are judged by, ``study`` runs a study on any Optuna storage, and
``results`` writes trials.csv, plots and the best config.

``tune`` and ``TuneResult`` load on first use: the command line reads ``metrics`` and
``settings`` for every verb's ``--help``, and ``study`` brings in Lightning (seconds).
"""

from __future__ import annotations

from typing import Any

from .settings import TuneConfig as TuneConfig

__all__ = ["TuneConfig", "TuneResult", "tune"]


def __getattr__(name: str) -> Any:
    if name in ("TuneResult", "tune"):
        from . import study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
