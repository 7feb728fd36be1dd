"""Event-level evaluation against reference tables: matching, figures, PR curves, thresholds.

``matching`` pairs events, ``metrics`` turns pairs into figures, ``curves`` sweeps score
thresholds, ``thresholds`` picks and stores per-class thresholds, ``inputs`` pairs files by
recording, and ``run.evaluate`` does it all for the ``animal-spot evaluate`` command.
"""

from __future__ import annotations

from .curves import EventBuilder as EventBuilder
from .curves import PrCurve as PrCurve
from .curves import average_precision as average_precision
from .curves import plot_pr_curves as plot_pr_curves
from .curves import pr_curves as pr_curves
from .curves import threshold_grid as threshold_grid
from .inputs import Background as Background
from .inputs import Recording as Recording
from .inputs import pair_recordings as pair_recordings
from .inputs import read_background as read_background
from .inputs import recording_name as recording_name
from .inputs import set_durations as set_durations
from .matching import Matching as Matching
from .matching import match_events as match_events
from .matching import time_iou as time_iou
from .metrics import Figures as Figures
from .metrics import count_by_class as count_by_class
from .metrics import count_overall as count_overall
from .metrics import covered_s as covered_s
from .metrics import macro_f1 as macro_f1
from .metrics import total as total
from .run import EvaluationResult as EvaluationResult
from .run import evaluate as evaluate
from .thresholds import ThresholdChoice as ThresholdChoice
from .thresholds import choose_threshold as choose_threshold
from .thresholds import choose_thresholds as choose_thresholds
from .thresholds import write_thresholds as write_thresholds

__all__ = [
    "Background",
    "EvaluationResult",
    "EventBuilder",
    "Figures",
    "Matching",
    "PrCurve",
    "Recording",
    "ThresholdChoice",
    "average_precision",
    "choose_threshold",
    "choose_thresholds",
    "count_by_class",
    "count_overall",
    "covered_s",
    "evaluate",
    "macro_f1",
    "match_events",
    "pair_recordings",
    "plot_pr_curves",
    "pr_curves",
    "read_background",
    "recording_name",
    "set_durations",
    "threshold_grid",
    "time_iou",
    "total",
    "write_thresholds",
]
