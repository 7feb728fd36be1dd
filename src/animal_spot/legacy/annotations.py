"""ANIMAL-SPOT's evaluation (notes §8): prediction logs → ``*.annotation.result.txt`` tables.

Each window gets a label (threshold), non-noise windows merge in time order (noise windows do
not split a segment, so overlapping windows bridge gaps), and the gaps, head and tail become
``noise`` segments, written only with ``noise_in_anno``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_open
from ..errors import BadConfig, BadTable
from .logs import LOG_SUFFIX, LegacyLog, read_legacy_log

log = logging.getLogger(__name__)

RESULT_SUFFIX = ".annotation.result.txt"
HEADER = (
    "Selection",
    "View",
    "Channel",
    "Begin time (s)",
    "End time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
    "Sound type",
    "Comments",
)
BINARY_CLASSES = {"noise": 0, "target": 1}


@dataclass(frozen=True)
class Segment:
    """A stretch of one label, in seconds."""

    start_s: float
    end_s: float
    label: int


def _noise_index(classes: dict[str, int], path: Path) -> int:
    for name, index in classes.items():
        if name.lower() == "noise":
            return index
    raise BadTable(
        f"no noise class in its class distribution {classes}",
        path=path,
        fix="ANIMAL-SPOT's evaluation needs a class named noise",
    )


def window_labels(log: LegacyLog, threshold: float) -> tuple[list[int], int]:
    """Each window's class index and the noise index.

    Binary: 1 when ``prob ≥ threshold``, else 0. Multi-class: the predicted class when its
    probability reaches the threshold, else the noise class.
    """
    classes = log.classes or BINARY_CLASSES
    if len(classes) <= 2 and all(w.index is None for w in log.windows):
        return [int(w.prob >= threshold) for w in log.windows], 0
    noise = _noise_index(classes, log.path)
    labels = [
        w.index if w.index is not None and w.prob >= threshold else noise for w in log.windows
    ]
    return labels, noise


def merge_windows(log: LegacyLog, labels: Sequence[int], noise: int) -> list[Segment]:
    """Non-noise windows in time order → segments (ends compared in whole milliseconds).

    Overlapping (previous end ≥ this start) with the same label → extend; overlapping with
    another label → a new segment from the previous end; apart → a new segment.
    """
    segments: list[Segment] = []
    order = sorted(range(len(labels)), key=lambda i: log.windows[i].start_s)
    for i in order:
        window, label = log.windows[i], labels[i]
        if label == noise:
            continue
        if segments and round(segments[-1].end_s * 1000) >= round(window.start_s * 1000):
            last = segments[-1]
            if last.label == label:
                segments[-1] = Segment(last.start_s, window.end_s, label)
            else:
                segments.append(Segment(last.end_s, window.end_s, label))
        else:
            segments.append(Segment(window.start_s, window.end_s, label))
    return segments


def fill_noise(segments: Sequence[Segment], duration_s: float, noise: int) -> list[Segment]:
    """Noise segments in the head, the gaps and the tail (one for an all-noise file)."""
    out: list[Segment] = []
    cursor = 0.0
    for segment in segments:
        if segment.start_s > cursor:
            out.append(Segment(cursor, segment.start_s, noise))
        out.append(segment)
        cursor = segment.end_s
    if duration_s > cursor or not out:
        out.append(Segment(cursor, duration_s, noise))
    return out


def annotation_lines(log: LegacyLog, threshold: float, noise_in_anno: bool = False) -> list[str]:
    """The table's lines (header first), tab-separated, as ANIMAL-SPOT writes them."""
    labels, noise = window_labels(log, threshold)
    segments = fill_noise(merge_windows(log, labels, noise), log.duration_s, noise)
    names = {index: name for name, index in (log.classes or BINARY_CLASSES).items()}
    low, high = log.data_opts.get("fmin", ""), log.data_opts.get("fmax", "")
    lines = ["\t".join(HEADER)]
    for segment in segments:
        if segment.label == noise and not noise_in_anno:
            continue
        row = (len(lines), "Spectrogram_1", 1, segment.start_s, segment.end_s, low, high)
        name = names.get(segment.label, "noise" if segment.label == noise else str(segment.label))
        lines.append("\t".join(map(str, (*row, name, " "))))
    return lines


def write_annotation_table(
    log_path: str | Path, output_dir: str | Path, threshold: float, noise_in_anno: bool = False
) -> Path:
    """``<output_dir>/<log file name>.annotation.result.txt`` for one prediction log."""
    log_path = Path(log_path)
    lines = annotation_lines(read_legacy_log(log_path), threshold, noise_in_anno)
    out = Path(output_dir) / f"{log_path.name}{RESULT_SUFFIX}"
    with atomic_open(out, "w", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in lines)
    return out


def evaluate_legacy(
    prediction_dir: str | Path,
    output_dir: str | Path,
    threshold: float = 0.5,
    noise_in_anno: bool = False,
) -> list[Path]:
    """Every ``*_predict_output*`` log of ``prediction_dir`` → an annotation table each.

    Raises:
        BadConfig: the folder is missing or holds no prediction logs.
    """
    prediction_dir = Path(prediction_dir)
    if not prediction_dir.is_dir():
        raise BadConfig("prediction folder not found", path=prediction_dir)
    logs = sorted(p for p in prediction_dir.iterdir() if "_predict_output" in p.name)
    logs = [p for p in logs if p.is_file() and not p.name.endswith(RESULT_SUFFIX)]
    if not logs:
        raise BadConfig(
            f"no *{LOG_SUFFIX} files in it",
            path=prediction_dir,
            fix="give the --output_dir of a prediction run with --legacy_log",
        )
    written = [write_annotation_table(p, output_dir, threshold, noise_in_anno) for p in logs]
    log.info("wrote %d annotation tables to %s", len(written), output_dir)
    return written


def evaluate_legacy_config(path: str | Path) -> list[Path]:
    """Run an ANIMAL-SPOT evaluation config (``prediction_dir``, ``output_dir``, ``threshold``,
    ``noise_in_anno``) as the original did.

    Raises:
        BadConfig: the file lacks ``prediction_dir`` or ``output_dir``.
    """
    from .config_file import read_legacy_config

    legacy = read_legacy_config(path, kind="evaluate")
    missing = [k for k in ("prediction_dir", "output_dir") if k not in legacy.values]
    if missing:
        raise BadConfig(f"an evaluation config without {', '.join(missing)}", path=path)
    predict = legacy.config.predict
    return evaluate_legacy(
        legacy.values["prediction_dir"],
        predict.output_dir,
        0.5 if predict.threshold is None else predict.threshold,
        predict.noise_in_anno,
    )
