"""``write_report``: the report a folder calls for (a training run, predictions, an evaluation)."""

from __future__ import annotations

from pathlib import Path

from ..errors import BadConfig
from .evaluation import is_evaluation_folder, write_evaluation_report
from .page import write_run_report
from .prediction import write_prediction_report
from .predictions import is_prediction_folder
from .run import RUN_FILES

ACCEPTED = (
    "give a training run (model.pt, metrics.json, config.toml), a predict output folder "
    "(prediction.json) or an evaluate output folder (evaluation.json)"
)


def write_report(folder: str | Path) -> Path:
    """Write ``folder/report.html`` of the kind the folder is, and return its path.

    Raises:
        BadConfig: the folder is none of the three kinds (one line saying what is accepted).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise BadConfig("not a folder", path=folder, fix=ACCEPTED)
    if is_prediction_folder(folder):
        return write_prediction_report(folder)
    if is_evaluation_folder(folder):
        return write_evaluation_report(folder)
    if any((folder / name).exists() for name in RUN_FILES):
        return write_run_report(folder)  # names what a run lacks
    raise BadConfig(
        "not a training run, prediction or evaluation folder", path=folder, fix=ACCEPTED
    )
