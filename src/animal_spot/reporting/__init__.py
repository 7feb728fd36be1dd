"""Self-contained HTML reports of a training run, a prediction run and an evaluation.

The writers load on first use: they bring in matplotlib (a second or more), which a training,
a prediction or a command that fails on its config must not wait for.
"""

from __future__ import annotations

import importlib
from typing import Any

from .switch import REPORT_VARIABLE as REPORT_VARIABLE
from .switch import is_report_wanted as is_report_wanted

# name → the module of this package that defines it
_LAZY = {
    "REPORT_NAME": "page",
    "write_evaluation_report": "evaluation",
    "write_prediction_report": "prediction",
    "write_report": "folder",
    "write_run_report": "page",
}

__all__ = ["REPORT_VARIABLE", "is_report_wanted", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
