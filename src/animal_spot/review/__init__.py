"""``review``: a local web page to mark a model's detections correct, wrong or another class.

``detections`` finds what to review in a predict output folder, ``verdicts`` keeps the verdicts
as Raven tables that ``prepare`` (training data) and ``evaluate`` (references) read, ``session``
ties the two together, ``app`` is the page and its routes, ``server`` runs it on 127.0.0.1::

    from animal_spot.review import open_review, serve
    serve(open_review("predictions/"), port=0, on_ready=print)
"""

from __future__ import annotations

from .app import create_app as create_app
from .detections import Detection as Detection
from .detections import Detections as Detections
from .detections import Recording as Recording
from .detections import read_detections as read_detections
from .server import serve as serve
from .session import Review as Review
from .session import open_review as open_review
from .verdicts import VERDICTS as VERDICTS
from .verdicts import Verdict as Verdict
from .verdicts import VerdictStore as VerdictStore
from .verdicts import read_verdict_table as read_verdict_table

__all__ = [
    "VERDICTS",
    "Detection",
    "Detections",
    "Recording",
    "Review",
    "Verdict",
    "VerdictStore",
    "create_app",
    "open_review",
    "read_detections",
    "read_verdict_table",
    "serve",
]
