"""A predict output folder written as predict writes it: tables, combined table, recordings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import write_table
from animal_spot.review import Review, open_review
from animal_spot.synthetic import synthesize_recording

SAMPLE_RATE_HZ = 8000
# Recording name (relative to predict's input) → (duration_s, calls really there, detections).
RECORDINGS = {
    "a.wav": (
        8.0,
        [(1.0, 0.5, "tone"), (3.0, 0.5, "upsweep"), (6.0, 0.5, "tone")],
        [
            Event(0.2, 0.6, "upsweep", 0.3, 500.0, 3500.0),  # 0.2 s in: its excerpt is cut
            Event(1.0, 1.5, "tone", 0.95, 500.0, 3500.0),
            Event(3.0, 3.5, "tone", 0.6, 500.0, 3500.0),  # an up-sweep, really
            Event(5.0, 5.4, "tone", 0.4, 500.0, 3500.0),  # nothing there
            Event(6.0, 6.5, "tone", 0.9, 500.0, 3500.0),
        ],
    ),
    "site2/b.wav": (
        4.0,
        [(1.5, 0.5, "upsweep")],
        [
            Event(1.5, 2.0, "upsweep", 0.8, 500.0, 3500.0),
            Event(3.5, 3.9, "tone", 0.5, 500.0, 3500.0),  # 0.1 s before the end
        ],
    ),
}


@dataclass(frozen=True)
class Folder:
    """A predictions folder and the recordings it was predicted from."""

    predictions: Path
    audio: Path

    @property
    def reviewed(self) -> Path:
        return self.predictions / "reviewed"

    def open(self, **kwargs: object) -> Review:
        """The review of this folder, recordings taken from ``audio`` unless told otherwise."""
        kwargs.setdefault("audio_dir", self.audio)
        return open_review(self.predictions, **kwargs)  # type: ignore[arg-type]


def write_predictions(root: Path, *, with_json: bool = False) -> Folder:
    """Recordings under ``root/recordings``, predict's outputs for them under ``root/pred``."""
    audio, predictions = root / "recordings", root / "pred"
    combined: list[Event] = []
    files: list[str] = []
    entries = []
    for seed, (name, (duration_s, calls, events)) in enumerate(RECORDINGS.items()):
        synthesize_recording(
            audio / name, duration_s, calls, sample_rate_hz=SAMPLE_RATE_HZ, seed=seed
        )
        table = Path(name).with_suffix(".selections.txt")
        write_table(events, predictions / table)
        combined += events
        files += [name] * len(events)
        entries.append(
            {
                "name": name,
                "path": str((audio / name).absolute()),
                "duration_s": duration_s,
                "selections": table.as_posix(),
                "scores": Path(name).with_suffix(".scores.csv").as_posix(),
            }
        )
    write_table(
        combined,
        predictions / "all.selections.txt",
        extra_columns={"Begin File": files},
        is_sorted=False,
    )
    if with_json:
        summary = {"input": str(audio.absolute()), "recordings": entries}
        summary["classes"] = ["noise", "click", "tone", "upsweep"]
        (predictions / "prediction.json").write_text(json.dumps(summary), encoding="utf-8")
    return Folder(predictions, audio)


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    """A predictions folder without prediction.json (recordings found by --audio_dir)."""
    return write_predictions(tmp_path)


def find(review: Review, recording: str, start_s: float) -> int:
    """The id of the detection of ``recording`` starting at ``start_s``."""
    return next(
        d.id
        for d in review.found.detections
        if d.recording.name == recording and d.event.start_s == start_s
    )
