"""What there is to review: the events of a ``predict`` output folder and each one's recording.

``prediction.json``, where predict wrote one, says where every recording and its table are.
Without it, the names in ``all.selections.txt`` (``Begin File``, relative to predict's input)
give the recordings under ``--audio_dir`` and, through predict's own naming, their tables.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..annotations.columns import BEGIN_FILE_COLUMN, Header
from ..annotations.event import Event
from ..annotations.raven import read_table
from ..annotations.reader import decode_table, unescape_cell
from ..cells import printable
from ..conventions import NOISE_CLASS as NOISE_LABEL  # a wrong detection becomes noise
from ..errors import BadConfig, BadTable
from ..prediction.outputs import COMBINED_TABLE, KINDS, output_bases

PREDICTION_JSON = "prediction.json"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the reader's: a cell holds no other breaks

Found = tuple[str, Path, Path]  # (recording name, its audio, its table relative to the folder)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """One predicted recording: its name as predict gave it, its audio and its table."""

    name: str  # relative to predict's input, as in ``Begin File``
    audio: Path
    table: Path  # relative to the predictions folder; its verdict table gets the same path


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """One predicted event to judge; ``id`` is its place in `Detections.detections`."""

    id: int
    recording: Recording
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class Detections:
    """Every detection of a predictions folder, the classes to relabel to, the audio folder."""

    predictions_dir: Path
    recordings: list[Recording]
    detections: list[Detection]
    classes: list[str]
    audio_dir: Path | None  # where the recordings are, for the next command's --audio_dir


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadConfig(
            f"cannot be read ({err})", path=path, fix="run predict again into this folder"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("recordings"), list):
        raise BadConfig(
            "holds no list of recordings", path=path, fix="run predict again into this folder"
        )
    return data


def _from_json(data: dict[str, Any], audio_dir: Path | None) -> list[Found]:
    """``(name, audio, table)`` of each recording prediction.json lists."""
    found: list[Found] = []
    for entry in data["recordings"]:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("selections"):
            continue  # a recording predict could not score has no table to review
        name = str(entry["name"])
        audio = audio_dir / name if audio_dir else Path(str(entry.get("path") or name))
        found.append((name, audio, Path(str(entry["selections"]))))
    return found


def begin_files(table: Path) -> list[str]:
    """The ``Begin File`` cells of a combined table, one per selection, in file order."""
    text = decode_table(table.read_bytes(), table)
    lines = [line for line in _LINE_BREAK.split(text) if line.strip()]
    if not lines:
        return []
    header = Header([unescape_cell(cell.strip()) for cell in lines[0].split("\t")])
    at = header.find(BEGIN_FILE_COLUMN)
    if at < 0:
        raise BadTable(
            f"no column {BEGIN_FILE_COLUMN!r}",
            path=table,
            fix="give the output folder of `animal-spot predict`",
        )
    cells = [line.split("\t") for line in lines[1:]]
    return [unescape_cell(row[at].strip()) if at < len(row) else "" for row in cells]


def _from_combined(predictions_dir: Path, audio_dir: Path) -> list[Found]:
    """``(name, audio, table)`` of each recording the combined table names."""
    combined = predictions_dir / COMBINED_TABLE
    if not combined.is_file():
        raise BadConfig(
            f"no {PREDICTION_JSON} or {COMBINED_TABLE} here",
            path=predictions_dir,
            fix="give the output folder of `animal-spot predict`",
        )
    names = sorted({name for name in begin_files(combined) if name})
    bases = output_bases(names)
    suffix = KINDS["selections"]
    found: list[Found] = []
    for name in names:
        # Recordings without events are not in the combined table, yet they shape predict's
        # names where stems clash: the first of predict's candidate names that exists wins.
        candidates = dict.fromkeys([bases[name], output_bases([name])[name], printable(name)])
        tables = [Path(f"{base}{suffix}") for base in candidates]
        table = next((t for t in tables if (predictions_dir / t).is_file()), tables[0])
        found.append((name, audio_dir / name, table))
    return found


def _missing_audio(name: str, audio: Path, *, is_from_json: bool) -> BadConfig:
    if is_from_json:
        fix = "pass --audio_dir DIR, the folder the recordings are in now"
    else:
        fix = "pass --audio_dir DIR, the folder predict read (its --input_file)"
    return BadConfig(f"the recording {name} is not there", path=audio, fix=fix)


def _classes(labels: list[str], data: dict[str, Any]) -> list[str]:
    """The model's classes in its order (from prediction.json), then other labels found."""
    model = [str(c) for c in data.get("classes") or [] if isinstance(c, str)]
    known = [*model, *sorted(set(labels) - set(model))]
    return [c for c in dict.fromkeys(known) if c and c.casefold() != NOISE_LABEL]


def _audio_dir(data: dict[str, Any], audio_dir: Path | None) -> Path | None:
    if audio_dir is not None or not data.get("input"):
        return audio_dir
    source = Path(str(data["input"]))
    return source if source.is_dir() else source.parent


def read_detections(predictions_dir: str | Path, audio_dir: str | Path | None = None) -> Detections:
    """Every detection of a predict output folder, each with its recording's audio.

    Args:
        predictions_dir: The folder ``animal-spot predict`` wrote.
        audio_dir: Where the recordings are (predict's input folder). Without it they are
            where ``prediction.json`` says.

    Raises:
        BadConfig: the folder is not a predict output, or a recording with detections is
            not where it should be (the message names it and the flag that fixes it).
        BadTable: a selection table cannot be read.
    """
    predictions_dir = Path(predictions_dir)
    audio_dir = None if audio_dir is None else Path(audio_dir)
    if not predictions_dir.is_dir():
        raise BadConfig("no such folder", path=predictions_dir, fix="give predict's output folder")
    manifest = predictions_dir / PREDICTION_JSON
    data: dict[str, Any] = {}
    if manifest.is_file():
        data = _load_json(manifest)
        found = _from_json(data, audio_dir)
    elif audio_dir is None:
        raise BadConfig(
            f"no {PREDICTION_JSON} here to say where the recordings are",
            path=predictions_dir,
            fix="pass --audio_dir DIR, the folder predict read (its --input_file)",
        )
    else:
        found = _from_combined(predictions_dir, audio_dir)
    recordings: list[Recording] = []
    detections: list[Detection] = []
    for name, audio, table in sorted(found):
        recording = Recording(name=name, audio=audio, table=table)
        events = read_table(predictions_dir / table)
        if events and not audio.is_file():
            raise _missing_audio(name, audio, is_from_json=audio_dir is None)
        recordings.append(recording)
        for event in sorted(events, key=lambda e: (e.start_s, e.end_s)):
            detections.append(Detection(id=len(detections), recording=recording, event=event))
    return Detections(
        predictions_dir=predictions_dir,
        recordings=recordings,
        detections=detections,
        classes=_classes([d.event.label for d in detections], data),
        audio_dir=_audio_dir(data, audio_dir),
    )
