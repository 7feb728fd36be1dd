"""What evaluation reads: predicted and reference tables paired by recording, scores, durations.

A table names its recording: ``rec.selections.txt`` (prediction), ``rec.Table.1.selections.txt``
(Raven), ``rec.BirdNET.selection.table.txt`` (BirdNET-Analyzer),
``rec_predict_output.log.annotation.result.txt`` (ANIMAL-SPOT) all belong to ``rec``.
Predicted tables find their reference table with `raven.TableIndex`: by name, or in a
multi-file reference table that names the recording's sound file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..annotations import raven
from ..annotations.event import Event
from ..conventions import AUDIO_SUFFIXES
from ..errors import BadTable
from ..prediction.outputs import COMBINED_TABLE
from ..prediction.scores import ScoreTrack, read_scores

logger = logging.getLogger(__name__)

SCORES_SUFFIX = ".scores.csv"
NO_REFERENCE = "no reference table of this recording"


def recording_name(table: str | Path) -> str:
    """The recording stem a table belongs to: ``rec.Table.1.selections.txt`` → ``rec``."""
    name = Path(table).name
    return raven.recording_stem(name if name.casefold().endswith(".txt") else f"{name}.txt")


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


def _tables(source: Path, what: str, leave_out: Path | None = None) -> list[Path]:
    """The tables of a file or folder; those under ``leave_out`` (a folder inside) are not."""
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise BadTable(f"no such {what} table or folder", path=source)
    # predict's combined table repeats every recording's events: not a recording of its own.
    found = [t for t in raven.table_files(source) if t.name != COMBINED_TABLE]
    if leave_out is not None and leave_out.is_dir():
        # References kept inside the predictions folder (review's reviewed/) are no predictions.
        inside = leave_out.resolve()
        found = [t for t in found if not t.resolve().is_relative_to(inside)]
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


_Key = tuple[Path, str]  # (reference table, recording name casefolded; "" for a one-recording one)


class _References:
    """Reference tables: found by recording name (multi-file ones too), read once each."""

    def __init__(self, tables: list[Path], annotation_column: str | None) -> None:
        self.tables = tables
        self.index = raven.TableIndex(tables)
        self.annotation_column = annotation_column
        self._read: dict[Path, raven.SelectionTable] = {}
        self._used: dict[Path, set[int]] = {}  # table → lines of the selections given out

    def key(self, name: str) -> _Key | None:
        """Where the reference events of recording ``name`` are, or None."""
        table = self.index.find(f"{name}.wav")
        if table is None:
            return None
        return table, name.casefold() if table in self.index.files else ""

    def events(self, key: _Key, name: str) -> list[Event]:
        """The reference events of recording ``name`` (multi-file tables: its file's only)."""
        table = self._read.get(key[0])
        if table is None:
            table = self._read[key[0]] = raven.read_selections(key[0], self.annotation_column)
        selections = table.selections
        if table.is_multi_file:
            files = {s.file for s in selections if s.file}
            mine = raven.files_of_recording(files, f"{name}.wav")
            selections = [s for s in selections if s.file in mine]
        self._used.setdefault(key[0], set()).update(s.line for s in selections)
        return [s.event for s in selections]

    def reports(self) -> list[tuple[str, str]]:
        """Log each table's selections used; ``(table, summary)`` where some were skipped."""
        skipped = []
        for path, table in self._read.items():
            report = raven.TableReport(path, len(table.selections))
            for selection in table.selections:
                if selection.line not in self._used.get(path, set()):
                    detail = f"of line {selection.line}: no predictions for {selection.file}"
                    report.skip("of recordings without predictions", detail)
            logger.info("%s: %s", path, report.summary())
            if report.n_skipped:
                skipped.append((str(path), report.summary()))
        return skipped


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
    table; a single predicted table and a single one-recording reference table always pair. A
    multi-file reference table gives each recording the selections of its sound file; its
    selections of files without predictions are counted in one ``(table, summary)`` line. Where none
    matches and the recording is in ``background``, it is paired with no reference events
    (a reference table, where one exists, wins).

    Returns:
        The paired recordings, by name, and ``(file, reason)`` of every file left unpaired.

    Raises:
        BadTable: a path is missing or a table cannot be read.
    """
    background = background or Background()
    reference_tables = _tables(Path(references), "reference") if references is not None else []
    known = _References(reference_tables, annotation_column)
    tracks = _tracks_by_name(Path(scores)) if scores is not None else {}
    unpaired: list[tuple[str, str]] = []
    pairs: dict[_Key, tuple[str, Path | None]] = {}  # reference → (name, predicted table)
    quiet: dict[str, tuple[str, Path | None]] = {}  # background name → (name, predicted table)
    if predictions is not None:
        predicted_tables = _tables(
            Path(predictions),
            "predicted",
            leave_out=Path(references) if references is not None else None,
        )
        only = reference_tables[0] if len(reference_tables) == 1 else None
        if len(predicted_tables) == 1 and only is not None and only not in known.index.files:
            pairs[only, ""] = (recording_name(only), predicted_tables[0])
            predicted_tables = []
        for table in predicted_tables:
            name = recording_name(table)
            match = known.key(name)
            if match is None and name.casefold() in background.names:
                quiet.setdefault(name.casefold(), (name, table))
            elif match is None:
                unpaired.append((str(table), NO_REFERENCE))
            elif match in pairs:
                unpaired.append((str(table), f"{match[0].name} is already paired"))
            else:
                pairs[match] = (name, table)
    else:
        names = sorted({Path(track.file).stem for track in tracks.values()})
        for name in names:
            match = known.key(name)
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
    in_pairs = {table for table, _ in pairs}
    unpaired += [
        (str(t), known.index.errors.get(t, "no predictions for this reference table"))
        for t in reference_tables
        if t not in in_pairs
    ]
    found: list[tuple[str, Path | None, list[Event], Path | None]] = [
        (name, predicted, known.events(key, name), key[0])
        for key, (name, predicted) in pairs.items()
    ]
    unpaired += known.reports()
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
