"""Whether a command ends by writing its ``report.html``, and writing one that may not fail it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# "0" in the environment: no report.html unless asked for (batch jobs, test suites). The same
# variable as training's, which `train` reads.
REPORT_VARIABLE = "ANIMAL_SPOT_REPORT"


def is_report_wanted(report: bool | None = None) -> bool:
    """``report`` when given, else yes unless the environment sets ``ANIMAL_SPOT_REPORT=0``."""
    if report is not None:
        return report
    return os.environ.get(REPORT_VARIABLE, "1") != "0"


def write_or_warn(folder: Path, write: Callable[[Path], Path]) -> Path | None:
    """``write(folder)``'s path; any failure is one warning and None, the command's work stands."""
    try:
        return write(folder)
    except Exception as err:  # a report must never fail a finished prediction or evaluation
        lines = str(err).strip().splitlines()
        reason = lines[0][:200] if lines else type(err).__name__
        log.warning("%s: no report written (%s)", folder, reason)
        return None
