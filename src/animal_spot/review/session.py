"""One review: the detections of a predictions folder, their verdicts, and how to show them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadConfig
from .detections import NOISE_LABEL, Detection, Detections, read_detections
from .verdicts import Verdict, VerdictStore, judge

REVIEWED_DIR = "reviewed"
DEFAULT_PADDING_S = 1.0


@dataclass(kw_only=True)
class Review:
    """What the page shows and changes: detections, their verdicts, the excerpt settings."""

    found: Detections
    store: VerdictStore
    padding_s: float = DEFAULT_PADDING_S
    fmin_hz: float = 0.0
    fmax_hz: float | None = None

    @property
    def out_dir(self) -> Path:
        """The folder of the verdict tables."""
        return self.store.out_dir

    @property
    def n_reviewed(self) -> int:
        """How many detections have a verdict."""
        return len(self.store.verdicts)

    def detection(self, detection_id: int) -> Detection:
        """The detection of this id.

        Raises:
            KeyError: no detection has it.
        """
        if not 0 <= detection_id < len(self.found.detections):
            raise KeyError(detection_id)
        return self.found.detections[detection_id]

    def mark(self, detection_id: int, verdict: str, label: str | None = None) -> Verdict:
        """Judge one detection and store the verdict on disk before returning it.

        Raises:
            KeyError: no detection has this id.
            ValueError: an unknown verdict, or ``relabel`` without a label.
        """
        judged = judge(self.detection(detection_id).event.label, verdict, label)
        self.store.mark(detection_id, judged)
        return judged

    def as_json(self, detection: Detection) -> dict[str, Any]:
        """One detection as the page lists it, with its verdict if it has one."""
        event, verdict = detection.event, self.store.verdicts.get(detection.id)
        return {
            "id": detection.id,
            "recording": detection.recording.name,
            "start_s": event.start_s,
            "end_s": event.end_s,
            "label": event.label,
            "score": event.score,
            "verdict": None if verdict is None else verdict.verdict,
            "reviewed_label": None if verdict is None else verdict.label,
        }

    def state(self) -> dict[str, Any]:
        """Everything the page needs on load."""
        return {
            "classes": self.found.classes,
            "noise_label": NOISE_LABEL,
            "padding_s": self.padding_s,
            "out_dir": str(self.out_dir),
            "detections": [self.as_json(d) for d in self.found.detections],
        }

    def format_text(self) -> str:
        """Where the verdicts go and the commands that use them next."""
        out, audio = shlex.quote(str(self.out_dir)), self.found.audio_dir
        audio_arg = shlex.quote(str(audio)) if audio is not None else "RECORDINGS_DIR"
        predictions = shlex.quote(str(self.found.predictions_dir))
        n_recordings = len({d.recording.name for d in self.found.detections})
        return "\n".join(
            [
                f"{len(self.found.detections)} detections of {n_recordings} recordings, "
                f"{self.n_reviewed} reviewed already",
                f"verdicts go to {self.out_dir} (one Raven table per recording, written at once)",
                f"train with them: animal-spot prepare --raven_dir {out} --audio_dir {audio_arg} "
                "--out DATA_DIR",
                f"evaluate with them: animal-spot evaluate --predictions {predictions} "
                f"--references {out}",
            ]
        )


def open_review(
    predictions_dir: str | Path,
    *,
    audio_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    padding_s: float = DEFAULT_PADDING_S,
    fmin_hz: float = 0.0,
    fmax_hz: float | None = None,
) -> Review:
    """The review of a predict output folder, with the verdicts of earlier reviews restored.

    Args:
        predictions_dir: The folder ``animal-spot predict`` wrote.
        audio_dir: The recordings (default: where ``prediction.json`` says).
        out_dir: The folder of verdict tables (default: ``predictions_dir/reviewed``).
        padding_s: Audio shown and played before and after each detection.
        fmin_hz: Lowest frequency of the spectrograms.
        fmax_hz: Highest frequency of the spectrograms (default: half the sample rate).

    Raises:
        BadConfig: see `read_detections`; a bad padding or band.
        BadTable: a predicted table cannot be read, or ``out_dir`` holds a table that no
            review wrote.
    """
    if not padding_s >= 0:
        raise BadConfig(f"padding_s = {padding_s}", fix="give 0 or more seconds")
    if fmin_hz < 0 or (fmax_hz is not None and fmax_hz <= fmin_hz):
        raise BadConfig(f"band {fmin_hz}–{fmax_hz} Hz", fix="give 0 ≤ fmin_hz < fmax_hz")
    found = read_detections(predictions_dir, audio_dir)
    out = Path(predictions_dir) / REVIEWED_DIR if out_dir is None else Path(out_dir)
    return Review(
        found=found,
        store=VerdictStore(out, found.detections),
        padding_s=padding_s,
        fmin_hz=fmin_hz,
        fmax_hz=fmax_hz,
    )
