"""A training run's report: one self-contained HTML page of its curves, errors, data and config."""

from .page import REPORT_NAME, write_run_report

__all__ = ["REPORT_NAME", "write_run_report"]
