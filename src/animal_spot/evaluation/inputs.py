"""What evaluation reads: predicted and reference tables paired by recording, scores, durations.

A table names its recording: ``rec.selections.txt`` (prediction), ``rec.Table.1.selections.txt``
(Raven), ``rec_predict_output.log.annotation.result.txt`` (ANIMAL-SPOT) all belong to ``rec``.
Predicted tables find their reference table with `raven.match_table`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..annotations import raven
from ..annotations.event import Event
from ..errors import BadTable
from ..prediction.outputs import COMBINED_TABLE
from ..prediction.scores import ScoreTrack, read_scores

# Suffixes that tools add after the recording's stem, in the order they follow it.
_TABLE_SUFFIXES = re.compile(
    r"(_predict_output)?(\.log)?(\.annotation\.result)?(\.table\.\d+)?(\.selections)?$",
    re.IGNORECASE,
)
SCORES_SUFFIX = ".scores.csv"
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp3", ".w64"})


def recording_name(table: str | Path) -> str:
    """The recording stem a table belongs to: ``rec.Table.1.selections.txt`` → ``rec``."""
    name = Path(table).name
    name = name[: -len(".txt")] if name.casefold().endswith(".txt") else name
    return _TABLE_SUFFIXES.sub("", name) or name


@dataclass
class Recording:
    """One evaluated recording: its events on both sides, scores and duration."""

    name: str
    references: list[Event]
    reference_table: Path
    predictions: list[Event] | None = None
    prediction_table: Path | None = None
    track: ScoreTrack | None = None
    duration_s: float | None = None
    duration_source: str = "unknown"


def _tables(source: Path, what: str) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise BadTable(f"no such {what} table or folder", path=source)
    # predict's combined table repeats every recording's events: not a recording of its own.
    found = [t for t in raven.table_files(source) if t.name != COMBINED_TABLE]
    if not found:
        raise BadTable(f"no {what} tables (*.txt) in this folder", path=source)
    return found


def _tracks_by_name(scores: Path) -> dict[str, ScoreTrack]:
    if scores.is_dir():
        files = sorted(p for p in scores.rglob(f"*{SCORES_SUFFIX}") if p.is_file())
        if not files:
            raise BadTable(
                f"no window scores (*{SCORES_SUFFIX}) in this folder",
                path=scores,
                fix="give the output folder of `animal-spot predict`",
            )
    else:
        files = [scores]
    by_name: dict[str, ScoreTrack] = {}
    for path in files:
        tracks = read_scores(path)
        for track in tracks:
            by_name.setdefault(Path(track.file).name.casefold(), track)
            by_name.setdefault(Path(track.file).stem.casefold(), track)
        if len(tracks) == 1 and path.name.casefold().endswith(SCORES_SUFFIX):
            by_name.setdefault(path.name[: -len(SCORES_SUFFIX)].casefold(), tracks[0])
    return by_name


def _audio_durations(audio_dir: Path) -> dict[str, float]:
    from ..audio import info  # soundfile only where headers are wanted

    if not audio_dir.is_dir():
        raise BadTable("no such audio folder", path=audio_dir)
    return {
        path.stem.casefold(): info(path).duration_s
        for path in sorted(audio_dir.rglob("*"))
        if path.suffix.casefold() in AUDIO_SUFFIXES and path.is_file()
    }


def pair_recordings(
    references: str | Path,
    predictions: str | Path | None = None,
    *,
    scores: str | Path | None = None,
    annotation_column: str | None = None,
) -> tuple[list[Recording], list[tuple[str, str]]]:
    """Read and pair every recording's tables (and window scores) by recording name.

    Each predicted table (or, without predictions, each score track) is matched to a reference
    table; a single predicted table and a single reference table always pair.

    Returns:
        The paired recordings, by name, and ``(file, reason)`` of every file left unpaired.

    Raises:
        BadTable: a path is missing or a table cannot be read.
    """
    reference_tables = _tables(Path(references), "reference")
    tracks = _tracks_by_name(Path(scores)) if scores is not None else {}
    unpaired: list[tuple[str, str]] = []
    pairs: dict[Path, tuple[str, Path | None]] = {}  # reference table → (name, predicted table)
    if predictions is not None:
        predicted_tables = _tables(Path(predictions), "predicted")
        if len(predicted_tables) == 1 and len(reference_tables) == 1:
            only = predicted_tables[0]
            pairs[reference_tables[0]] = (recording_name(reference_tables[0]), only)
            predicted_tables = []
        for table in predicted_tables:
            name = recording_name(table)
            match = raven.match_table(f"{name}.wav", reference_tables)
            if match is None:
                unpaired.append((str(table), "no reference table of this recording"))
            elif match in pairs:
                unpaired.append((str(table), f"{match.name} is already paired"))
            else:
                pairs[match] = (name, table)
    else:
        names = sorted({Path(track.file).stem for track in tracks.values()})
        for name in names:
            match = raven.match_table(f"{name}.wav", reference_tables)
            if match is None:
                unpaired.append((name, "window scores without a reference table"))
            elif match not in pairs:
                pairs[match] = (name, None)
    unpaired += [
        (str(t), "no predictions for this reference table")
        for t in reference_tables
        if t not in pairs
    ]
    recordings = []
    for reference, (name, predicted) in sorted(pairs.items(), key=lambda item: item[1][0]):
        recording = Recording(
            name=name,
            references=raven.read_table(reference, annotation_column),
            reference_table=reference,
            prediction_table=predicted,
            predictions=None if predicted is None else raven.read_table(predicted),
            track=tracks.get(name.casefold()),
        )
        if scores is not None and recording.track is None:
            unpaired.append((name, "no window scores for this recording"))
        recordings.append(recording)
    return recordings, unpaired


def set_durations(
    recordings: Sequence[Recording],
    *,
    duration_s: float | None = None,
    audio_dir: str | Path | None = None,
) -> float | None:
    """Give each recording its duration and return the total, or None where one is unknown.

    Sources, first found wins: ``duration_s`` (the total of all recordings, given by hand), the
    audio header of the recording of that name in ``audio_dir``, the last window end in its
    scores.
    """
    if duration_s is not None:
        if duration_s <= 0:
            raise ValueError(f"duration_s = {duration_s} must be positive")
        for recording in recordings:
            recording.duration_s, recording.duration_source = None, "given total"
        return duration_s
    headers = _audio_durations(Path(audio_dir)) if audio_dir is not None else {}
    for recording in recordings:
        if recording.name.casefold() in headers:
            recording.duration_s = headers[recording.name.casefold()]
            recording.duration_source = "audio header"
        elif recording.track is not None and len(recording.track):
            recording.duration_s = float(recording.track.end_s.max())
            recording.duration_source = "last scored window"
    durations = [r.duration_s for r in recordings]
    if not durations or any(d is None for d in durations):
        return None
    return float(sum(d for d in durations if d is not None))
