"""What evaluation reads: predicted and reference tables paired by recording, scores, durations.

A table names its recording: ``rec.selections.txt`` (prediction), ``rec.Table.1.selections.txt``
(Raven), ``rec_predict_output.log.annotation.result.txt`` (ANIMAL-SPOT) all belong to ``rec``.
Predicted tables find their reference table with `raven.match_table`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
NO_REFERENCE = "no reference table of this recording"
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
    reference_table: Path | None  # None: a call-free (background) recording
    predictions: list[Event] | None = None
    prediction_table: Path | None = None
    track: ScoreTrack | None = None
    duration_s: float | None = None
    duration_source: str = "unknown"
    is_background: bool = False


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


@dataclass(frozen=True)
class Background:
    """Recordings known to hold no target: names (casefolded), header durations, tables."""

    names: frozenset[str] = frozenset()
    durations_s: dict[str, float] = field(default_factory=dict)
    tables: dict[str, Path] = field(default_factory=dict)


def read_background(paths: Sequence[str | Path]) -> Background:
    """Call-free recordings from audio files, predicted tables, or folders of either.

    An audio file names its recording and its header gives the duration; a table names the
    recording it belongs to (`recording_name`) and holds that recording's predictions.

    Raises:
        BadTable: a path does not exist, or a folder holds neither audio nor tables.
    """
    from ..audio import info  # soundfile only where headers are wanted

    durations: dict[str, float] = {}
    tables: dict[str, Path] = {}
    for source in map(Path, paths):
        if source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.is_file())
        elif source.is_file():
            files = [source]
        else:
            raise BadTable("no such background recording, table or folder", path=source)
        found = 0
        for path in files:
            if path.suffix.casefold() in AUDIO_SUFFIXES:
                durations[path.stem.casefold()] = info(path).duration_s
            elif path.suffix.casefold() == ".txt" and path.name != COMBINED_TABLE:
                tables.setdefault(recording_name(path).casefold(), path)
            else:
                continue
            found += 1
        if not found:
            raise BadTable(
                "no recordings or predicted tables (*.txt) here",
                path=source,
                fix="give the call-free recordings or the tables predict wrote for them",
            )
    return Background(frozenset({*durations, *tables}), durations, tables)


def pair_recordings(
    references: str | Path | None,
    predictions: str | Path | None = None,
    *,
    scores: str | Path | None = None,
    annotation_column: str | None = None,
    background: Background | None = None,
) -> tuple[list[Recording], list[tuple[str, str]]]:
    """Read and pair every recording's tables (and window scores) by recording name.

    Each predicted table (or, without predictions, each score track) is matched to a reference
    table; a single predicted table and a single reference table always pair. Where none
    matches and the recording is in ``background``, it is paired with no reference events
    (a reference table, where one exists, wins).

    Returns:
        The paired recordings, by name, and ``(file, reason)`` of every file left unpaired.

    Raises:
        BadTable: a path is missing or a table cannot be read.
    """
    background = background or Background()
    reference_tables = _tables(Path(references), "reference") if references is not None else []
    tracks = _tracks_by_name(Path(scores)) if scores is not None else {}
    unpaired: list[tuple[str, str]] = []
    pairs: dict[Path, tuple[str, Path | None]] = {}  # reference table → (name, predicted table)
    quiet: dict[str, tuple[str, Path | None]] = {}  # background name → (name, predicted table)
    if predictions is not None:
        predicted_tables = _tables(Path(predictions), "predicted")
        if len(predicted_tables) == 1 and len(reference_tables) == 1:
            only = predicted_tables[0]
            pairs[reference_tables[0]] = (recording_name(reference_tables[0]), only)
            predicted_tables = []
        for table in predicted_tables:
            name = recording_name(table)
            match = raven.match_table(f"{name}.wav", reference_tables)
            if match is None and name.casefold() in background.names:
                quiet.setdefault(name.casefold(), (name, table))
            elif match is None:
                unpaired.append((str(table), NO_REFERENCE))
            elif match in pairs:
                unpaired.append((str(table), f"{match.name} is already paired"))
            else:
                pairs[match] = (name, table)
    else:
        names = sorted({Path(track.file).stem for track in tracks.values()})
        for name in names:
            match = raven.match_table(f"{name}.wav", reference_tables)
            if match is None and name.casefold() in background.names:
                quiet.setdefault(name.casefold(), (name, None))
            elif match is None:
                unpaired.append((name, "window scores without a reference table"))
            elif match not in pairs:
                pairs[match] = (name, None)
    paired = {name.casefold() for name, _ in pairs.values()}
    for key, table in sorted(background.tables.items()):
        if key not in paired:
            quiet.setdefault(key, (recording_name(table), table))
    unpaired += [
        (key, "background recording without predictions")
        for key in sorted(background.names - set(quiet) - paired)
    ]
    unpaired += [
        (str(t), "no predictions for this reference table")
        for t in reference_tables
        if t not in pairs
    ]
    found: list[tuple[str, Path | None, list[Event], Path | None]] = [
        (name, predicted, raven.read_table(reference, annotation_column), reference)
        for reference, (name, predicted) in pairs.items()
    ]
    found += [(name, predicted, [], None) for name, predicted in quiet.values()]
    recordings = []
    for name, predicted, references_read, reference in sorted(found, key=lambda item: item[0]):
        recording = Recording(
            name=name,
            references=references_read,
            reference_table=reference,
            prediction_table=predicted,
            predictions=None if predicted is None else raven.read_table(predicted),
            track=tracks.get(name.casefold()),
            is_background=reference is None,
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
    known_s: Mapping[str, float] | None = None,
) -> float | None:
    """Give each recording its duration and return the total, or None where one is unknown.

    Sources, first found wins: ``duration_s`` (the total of all recordings, given by hand), the
    audio header of the recording of that name in ``audio_dir``, ``known_s`` (casefolded name
    → seconds, e.g. the background recordings' headers), the last window end in its scores.
    """
    if duration_s is not None:
        if duration_s <= 0:
            raise ValueError(f"duration_s = {duration_s} must be positive")
        for recording in recordings:
            recording.duration_s, recording.duration_source = None, "given total"
        return duration_s
    headers = {**(known_s or {})}
    if audio_dir is not None:
        headers.update(_audio_durations(Path(audio_dir)))
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
