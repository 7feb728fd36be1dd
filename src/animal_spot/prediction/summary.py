"""``prediction.json``: what one predict run read and wrote, and how fast, for reports and review.

Its keys: ``input``, ``output_dir``, ``models`` (absolute paths), ``classes``, ``thresholds``
(per class, as the events were cut), ``recordings`` (each ``name`` as in the combined table's
``Begin File``, absolute ``path``, ``duration_s``, ``selections`` and ``scores`` relative to the
output folder, ``n_events``, ``status`` ``predicted`` or ``done before``), ``errors`` (``file``,
``reason``), ``hours`` and ``wall_s`` (the audio this run scored and the time it took),
``x_real_time``, ``n_events`` and ``written`` (ISO time). Names and paths are valid UTF-8.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import audio
from ..atomic import atomic_open
from ..cells import printable, safe_cell
from ..config import PredictConfig
from ..errors import BadAudio
from .outputs import SUMMARY_JSON, Done

log = logging.getLogger(__name__)

PREDICTED = "predicted"
DONE_BEFORE = "done before"


@dataclass(frozen=True)
class RunTiming:
    """The audio this run scored and the wall time scoring took."""

    hours: float
    wall_s: float

    @property
    def x_real_time(self) -> float | None:
        """Seconds of audio per second of scoring; None when nothing was scored."""
        return self.hours * 3600 / self.wall_s if self.hours > 0 and self.wall_s > 0 else None


def _absolute(path: Path | str) -> str:
    return printable(str(Path(path).absolute()))


def read_summary(output_dir: Path) -> dict[str, Any] | None:
    """The folder's ``prediction.json`` as written, or None when absent or unreadable."""
    try:
        values = json.loads((output_dir / SUMMARY_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return values if isinstance(values, dict) else None


def _earlier_durations(output_dir: Path) -> dict[str, float]:
    earlier = read_summary(output_dir) or {}
    found: dict[str, float] = {}
    for entry in earlier.get("recordings") or []:
        if isinstance(entry, dict) and isinstance(entry.get("duration_s"), int | float):
            found[str(entry.get("name"))] = float(entry["duration_s"])
    return found


def _header_duration(recording: Path) -> float | None:
    try:
        return audio.info(recording).duration_s
    except (BadAudio, OSError):
        return None


def _model_paths(cfg: PredictConfig) -> list[str]:
    models = [_absolute(path) for path in cfg.model_path]
    if cfg.detector_model is not None:
        models.append(_absolute(cfg.detector_model))
    return models


def write_summary(
    output_dir: Path,
    cfg: PredictConfig,
    *,
    classes: Sequence[str],
    thresholds: Mapping[str, float] | None,
    done: Sequence[Done],
    durations_s: Mapping[Path, float],
    counts: Mapping[str, int],
    errors: Sequence[tuple[Path, str]],
    timing: RunTiming,
    to: Path | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``prediction.json`` atomically and return its path.

    ``to``: another file than the folder's ``prediction.json`` (a shard's); ``extra``: keys
    added to the summary (a shard's number and config).

    ``done`` are the finished recordings, ``durations_s`` the lengths of those this run scored
    (the others are "done before": their length comes from the earlier ``prediction.json``,
    else from the audio header), ``counts`` the events of each recording's table by name
    (a recording without a count could not be read back and is left out).
    """
    earlier = _earlier_durations(output_dir)
    recordings = []
    for recording, name, outputs in sorted(done, key=lambda d: d[1]):
        if name not in counts:
            continue
        key = safe_cell(name, guard_formula=False)  # the combined table's Begin File text
        is_new = recording in durations_s
        duration_s = durations_s[recording] if is_new else earlier.get(key)
        if duration_s is None and not is_new:
            duration_s = _header_duration(recording)
        recordings.append(
            {
                "name": key,
                "path": _absolute(recording),
                "duration_s": duration_s,
                "selections": outputs["selections"].relative_to(output_dir).as_posix(),
                "scores": outputs["scores"].relative_to(output_dir).as_posix(),
                "n_events": counts[name],
                "status": PREDICTED if is_new else DONE_BEFORE,
            }
        )
    values = {
        "input": _absolute(cfg.input_file or ""),
        "output_dir": _absolute(output_dir),
        "models": _model_paths(cfg),
        "classes": list(classes),
        "thresholds": None if thresholds is None else {k: float(v) for k, v in thresholds.items()},
        "recordings": recordings,
        "errors": [{"file": printable(str(f)), "reason": printable(r)} for f, r in errors],
        "hours": timing.hours,
        "wall_s": timing.wall_s,
        "x_real_time": timing.x_real_time,
        "n_events": sum(counts.values()),
        "written": datetime.now().astimezone().isoformat(timespec="seconds"),
        **(extra or {}),
    }
    path = to or output_dir / SUMMARY_JSON
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(values, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    return path
