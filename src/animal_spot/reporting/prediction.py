"""``write_prediction_report``: a predict folder's ``report.html`` (self-contained, offline).

It shows what the run did (inputs, models, hours, speed), the detections per class, over time
and per hour, the window score tracks, spectrograms of each class's top detections, and the
inputs left out. Its cost is bounded for runs of thousands of recordings: at most
`MAX_DRAWN` recordings get a timeline and a score track (those with the most events), at most
`MAX_TOP` excerpts per class are read, and long tables are cut with a count of what is left.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np

from ..annotations.event import Event
from ..atomic import atomic_open
from ..errors import AnimalSpotError
from ..prediction.outputs import REPORT_HTML
from ..prediction.scores import read_scores
from . import prediction_figures as figures
from .excerpt import read_excerpt, spectrogram_png
from .html import document, esc, grid, image, note, number, png_uri, section, table
from .predictions import PredictedRecording, PredictionFolder, read_prediction_folder, start_time

MAX_DRAWN = 30  # recordings drawn as a timeline and a score track
MAX_TOP = 6  # top detections shown per class
MAX_ROWS = 500  # rows of the recordings and errors tables
MAX_EXCERPT_S = 8.0  # a longer event is shown from its start
THUMBNAIL_IN, THUMBNAIL_DPI = (4.0, 2.5), 72  # noisy spectrograms compress badly: keep them small


def clock(seconds: float) -> str:
    """``12.34 s``, ``3:05.2``, ``1:02:03.4``: a time in a recording, readable at any length."""
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def _labels(folder: PredictionFolder) -> list[str]:
    """The classes events can have (noise only where events carry it), then any other label."""
    found = {e.label for r in folder.recordings for e in r.events}
    known = [c for c in folder.classes if c.lower() != "noise" or c in found]
    return known + sorted(found - set(known))


def _hours(value: object) -> str:
    return f"{value:.3f} h" if isinstance(value, int | float) else "unknown"


def summary_section(folder: PredictionFolder) -> str:
    s = folder.summary
    recordings = folder.recordings
    new = sum(r.status == "predicted" for r in recordings)
    known = [r.duration_s for r in recordings if r.duration_s is not None]
    speed = s.get("x_real_time")
    wall = s.get("wall_s")
    thresholds = ", ".join(f"{k} {v:.3f}" for k, v in folder.thresholds.items()) or "none"
    per_class = Counter(e.label for r in recordings for e in r.events)
    rows = [
        ("input", s.get("input")),
        ("output folder", s.get("output_dir", folder.output_dir.absolute())),
        ("models", "; ".join(map(str, s.get("models") or [])) or "unknown"),
        ("classes", ", ".join(folder.classes)),
        ("thresholds", thresholds),
        ("recordings", f"{len(recordings)} ({new} predicted now, {len(recordings) - new} before)"),
        ("inputs left out", len(folder.errors)),
        ("audio predicted by this run", _hours(s.get("hours"))),
        (
            "audio in all recordings",
            _hours(sum(known) / 3600)
            + ("" if len(known) == len(recordings) else " (some durations unknown)"),
        ),
        ("scoring wall time", f"{wall:.1f} s" if isinstance(wall, int | float) else "unknown"),
        ("speed", f"{speed:.1f} × real time" if isinstance(speed, int | float) else "n/a"),
        ("events", s.get("n_events", sum(len(r.events) for r in recordings))),
        ("events per class", ", ".join(f"{k} {n}" for k, n in per_class.items()) or "none"),
        ("written", s.get("written")),
    ]
    return section("summary", "Summary", table(rows))


def classes_section(folder: PredictionFolder, labels: Sequence[str]) -> str:
    rows = []
    for label in labels:
        scores = [e.score for r in folder.recordings for e in r.events if e.label == label]
        known = [x for x in scores if x is not None]
        holders = sum(any(e.label == label for e in r.events) for r in folder.recordings)
        rows.append(
            (
                label,
                len(scores),
                holders,
                number(float(np.mean(known)) if known else None),
                number(max(known) if known else None),
                number(folder.thresholds.get(label)),
            )
        )
    header = ("class", "events", "recordings with one", "mean score", "top score", "threshold")
    return section("classes", "Events per class", grid(header, rows))


def recordings_section(folder: PredictionFolder) -> str:
    rows = [
        (
            r.name,
            r.status,
            "unknown" if r.duration_s is None else clock(r.duration_s),
            len(r.events),
            r.problem or "",
        )
        for r in folder.recordings[:MAX_ROWS]
    ]
    body = grid(("recording", "status", "duration", "events", "problem"), rows)
    left = len(folder.recordings) - MAX_ROWS
    if left > 0:
        body += note(f"{left} more recordings are listed in prediction.json.")
    return section("recordings", "Recordings", body)


def hourly_counts(
    recordings: Sequence[PredictedRecording], labels: Sequence[str]
) -> tuple[dict[str, np.ndarray], str, str | None]:
    """Detections per class per bin, the bins' name, and a note when start times are unknown.

    With a start time in every recording's name the bins are the 24 hours of the day;
    otherwise hours since each recording's start (minutes when no recording reaches 2 h).
    """
    starts = [start_time(r.name) for r in recordings]
    counts = {label: np.zeros(1, dtype=np.int64) for label in labels}

    def add(label: str, index: int) -> None:
        if label in counts:
            if index >= len(counts[label]):
                counts[label] = np.pad(counts[label], (0, index + 1 - len(counts[label])))
            counts[label][index] += 1

    dated = [(r, start) for r, start in zip(recordings, starts, strict=True) if start is not None]
    if recordings and len(dated) == len(recordings):
        for recording, start in dated:
            for e in recording.events:
                add(e.label, (start + timedelta(seconds=e.start_s)).hour)
        for label in counts:
            counts[label] = np.pad(counts[label], (0, 24 - len(counts[label])))
        return counts, "hour of day (start times from the file names)", None
    longest = max((r.length_s for r in recordings), default=0.0)
    unit_s, unit = (3600, "hour") if longest >= 2 * 3600 else (60, "minute")
    for recording in recordings:
        for e in recording.events:
            add(e.label, int(e.start_s // unit_s))
    why = (
        "Recording start times are unknown (no date and time like 20240501_221500 in every "
        f"file name): detections are counted by {unit} since the start of each recording."
    )
    return counts, f"{unit} since the start of the recording (counted from 0)", why


def hourly_section(folder: PredictionFolder, labels: Sequence[str], colour: dict[str, str]) -> str:
    counts, bin_label, why = hourly_counts(folder.recordings, labels)
    body = (note(why) if why else "") + image(
        figures.hourly_figure(counts, bin_label, colour), "detections per hour"
    )
    return section("hourly", "Detections per hour, all recordings", body)


def drawn(folder: PredictionFolder) -> tuple[list[PredictedRecording], int]:
    """The recordings to draw (most events first, shown by name) and how many are left out."""
    chosen = heapq.nlargest(MAX_DRAWN, folder.recordings, key=lambda r: len(r.events))
    return sorted(chosen, key=lambda r: r.name), len(folder.recordings) - len(chosen)


def _left_out(n_left: int) -> str:
    if n_left <= 0:
        return ""
    return note(
        f"The {MAX_DRAWN} recordings with the most events are drawn; {n_left} more are not."
    )


def timelines_section(
    folder: PredictionFolder, labels: Sequence[str], colour: dict[str, str]
) -> str:
    shown, n_left = drawn(folder)
    parts = [_left_out(n_left)]
    for r in shown:
        uri = figures.timeline_figure(r.events, labels, r.length_s, colour)
        parts.append(f"<h3>{esc(r.name)}</h3>{image(uri, f'timeline of {r.name}')}")
    return section("timelines", "Detections over time", "".join(parts) or note("No recordings."))


def tracks_section(folder: PredictionFolder, labels: Sequence[str], colour: dict[str, str]) -> str:
    shown, n_left = drawn(folder)
    parts = [_left_out(n_left)]
    wanted = [label for label in labels if label.lower() != "noise"]
    for r in shown:
        try:
            tracks = read_scores(r.scores)
        except (AnimalSpotError, OSError) as err:
            parts.append(f"<h3>{esc(r.name)}</h3>{note(f'no score track: {err}')}")
            continue
        if not tracks:
            parts.append(f"<h3>{esc(r.name)}</h3>{note('no scored windows')}")
            continue
        uri = figures.track_figure(tracks[0], wanted, folder.thresholds, r.length_s, colour)
        parts.append(f"<h3>{esc(r.name)}</h3>{image(uri, f'scores of {r.name}')}")
    body = note("Each class's highest window score per time bin; dashed: its threshold.")
    return section("score-tracks", "Window scores over time", body + "".join(parts))


def top_detections(
    folder: PredictionFolder, label: str, limit: int = MAX_TOP
) -> list[tuple[PredictedRecording, Event]]:
    """The ``limit`` highest-scored events of ``label`` over every recording."""
    found = ((r, e) for r in folder.recordings for e in r.events if e.label == label)
    return heapq.nlargest(
        limit, found, key=lambda pair: -1.0 if pair[1].score is None else pair[1].score
    )


def _detection(recording: PredictedRecording, event: Event) -> str:
    score = "n/a" if event.score is None else f"{event.score:.3f}"
    caption = (
        f"<b>{esc(recording.name)}</b><br>{esc(clock(event.start_s))} – "
        f"{esc(clock(event.end_s))}, score {esc(score)}"
    )
    try:
        excerpt = read_excerpt(
            recording.path, event.start_s, min(event.end_s, event.start_s + MAX_EXCERPT_S)
        )
        png = spectrogram_png(
            excerpt,
            [event],
            fmin_hz=event.low_hz or 0.0,
            fmax_hz=event.high_hz,
            size=THUMBNAIL_IN,
            dpi=THUMBNAIL_DPI,
        )
    except (AnimalSpotError, OSError, ValueError) as err:
        return f'<div class="case">{caption}<br>{note(f"audio not shown: {err}")}</div>'
    return f'<div class="case">{image(png_uri(png), "spectrogram")}<br>{caption}</div>'


def top_section(folder: PredictionFolder, labels: Sequence[str]) -> str:
    parts = []
    for label in labels:
        cases = "".join(_detection(r, e) for r, e in top_detections(folder, label))
        parts.append(f'<h3>{esc(label)}</h3><div class="cases">{cases or "None."}</div>')
    body = note(
        f"The {MAX_TOP} highest-scored detections of each class, boxed in their excerpt "
        "(1 s either side), in the model's band."
    )
    return section("top-detections", "Top detections per class", body + "".join(parts))


def errors_section(folder: PredictionFolder) -> str:
    if not folder.errors:
        return section("errors", "Inputs left out", note("Every input was read."))
    body = grid(("file", "reason"), folder.errors[:MAX_ROWS])
    left = len(folder.errors) - MAX_ROWS
    if left > 0:
        body += note(f"{left} more are listed in errors.csv.")
    return section("errors", "Inputs left out", body)


def render(folder: PredictionFolder) -> str:
    """The whole page."""
    labels = _labels(folder)
    colour = figures.colours(labels)
    sections = [
        summary_section(folder),
        classes_section(folder, labels),
        recordings_section(folder),
        hourly_section(folder, labels, colour),
        timelines_section(folder, labels, colour),
        tracks_section(folder, labels, colour),
        top_section(folder, labels),
        errors_section(folder),
    ]
    return document(f"Predictions: {folder.output_dir.absolute().name}", sections)


def write_prediction_report(output_dir: str | Path) -> Path:
    """Write ``output_dir/report.html`` of a predict folder atomically and return its path.

    Raises:
        BadConfig: the folder holds no readable ``prediction.json``.
    """
    folder = read_prediction_folder(output_dir)
    page = render(folder)
    path = folder.output_dir / REPORT_HTML
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return path


__all__ = ["write_prediction_report"]
