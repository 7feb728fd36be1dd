"""Self-contained HTML reports of a training run, a prediction run and an evaluation."""

from .evaluation import write_evaluation_report
from .folder import write_report
from .page import REPORT_NAME, write_run_report
from .prediction import write_prediction_report
from .switch import REPORT_VARIABLE, is_report_wanted

__all__ = [
    "REPORT_NAME",
    "REPORT_VARIABLE",
    "is_report_wanted",
    "write_evaluation_report",
    "write_prediction_report",
    "write_report",
    "write_run_report",
]
