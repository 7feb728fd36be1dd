"""Optuna tuning: a search space (data) → trial configs → ``train`` runs, pruned and shared.

``space`` reads the TOML search space, ``objective`` trains one trial with a pruning callback,
``metrics`` names what trials are judged by, ``study`` runs a study on any Optuna storage, and
``results`` writes trials.csv, plots and the best config.
"""

from __future__ import annotations

from .settings import TuneConfig as TuneConfig
from .study import TuneResult as TuneResult
from .study import tune as tune

__all__ = ["TuneConfig", "TuneResult", "tune"]
