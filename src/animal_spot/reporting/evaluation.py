"""``write_evaluation_report``: an evaluate folder's ``report.html``, from ``evaluation.json``.

Event figures per class and overall and per recording, precision–recall curves and false
positives per hour against recall with each chosen threshold marked, the thresholds and the
rule that chose them, notes and the files left out. Reading only ``evaluation.json``, the page
can be written again at any time (``animal-spot report EVALUATION_DIR``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_open
from ..errors import BadConfig
from ..prediction.outputs import SUMMARY_JSON
from . import evaluation_figures as figures
from .html import document, grid, image, note, number, section, table
from .prediction_figures import colours

EVALUATION_JSON = "evaluation.json"
REPORT_NAME = "report.html"
MAX_ROWS = 500
FIGURE_COLUMNS = ("TP", "FP", "FN", "precision", "recall", "F1", "FP/h")
RULES = {
    "max_f1": "the highest F1 (the middle of a plateau of equal F1)",
    "target_precision": "the lowest threshold reaching the target precision",
    "best_precision": "target precision out of reach: the lowest threshold of the best precision",
    "no_references": "no reference events: no threshold",
    "nothing_predicted": "nothing predicted at any threshold: no threshold",
}


@dataclass(frozen=True)
class EvaluationFolder:
    """An evaluate output folder: its ``evaluation.json`` as read."""

    output_dir: Path
    values: dict[str, Any]

    @property
    def duration_s(self) -> float | None:
        value = self.values.get("duration_s")
        return float(value) if isinstance(value, int | float) and value > 0 else None

    def curves(self) -> list[figures.CurvePoints]:
        found = self.values.get("pr_curves") or {}
        return [figures.CurvePoints.from_dict(label, c) for label, c in sorted(found.items())]

    @property
    def chosen(self) -> dict[str, float | None]:
        found = self.values.get("thresholds") or {}
        return {label: c.get("threshold") for label, c in found.items() if isinstance(c, dict)}


def is_evaluation_folder(folder: Path) -> bool:
    return (folder / EVALUATION_JSON).is_file()


def read_evaluation_folder(folder: str | Path) -> EvaluationFolder:
    """Read ``evaluation.json``; BadConfig when it is missing or not a JSON object."""
    folder = Path(folder)
    path = folder / EVALUATION_JSON
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadConfig(
            f"cannot be read ({err})", path=path, fix="run animal-spot evaluate"
        ) from None
    if not isinstance(values, dict):
        raise BadConfig("not a JSON object", path=path, fix="run animal-spot evaluate again")
    return EvaluationFolder(folder, values)


def _figures_row(values: dict[str, Any] | None) -> list[Any]:
    values = values or {}
    counts = [values.get(k, "") for k in ("true_positives", "false_positives", "false_negatives")]
    rates = [number(values.get(k)) for k in ("precision", "recall", "f1")]
    return [*counts, *rates, number(values.get("false_positives_per_hour"), 2)]


def summary_section(folder: EvaluationFolder) -> str:
    v, settings = folder.values, folder.values.get("settings") or {}
    recordings = v.get("recordings") or []
    quiet = sum(bool(r.get("is_background")) for r in recordings)
    tolerance = settings.get("onset_tolerance_s")
    hours = "unknown" if folder.duration_s is None else f"{folder.duration_s / 3600:.3f} h"
    rows = [
        ("predicted tables", settings.get("predictions") or "none"),
        ("reference tables", settings.get("references") or "none"),
        ("window scores", settings.get("scores") or "none"),
        ("call-free recordings", "; ".join(settings.get("background") or []) or "none"),
        ("recordings", f"{len(recordings)} ({quiet} call-free)"),
        ("audio", hours),
        (
            "matching",
            f"time IoU ≥ {settings.get('iou_threshold')}"
            + ("" if tolerance is None else f", or onsets within {tolerance} s"),
        ),
        ("class-agnostic", "yes" if settings.get("is_class_agnostic") else "no"),
        ("noise class (left out)", settings.get("noise_class") or "none"),
        ("macro F1", number(v.get("macro_f1"))),
        ("files left out", len(v.get("unpaired") or [])),
    ]
    return section("summary", "Summary", table(rows))


def events_section(folder: EvaluationFolder) -> str:
    v = folder.values
    per_class = v.get("per_class") or {}
    curves = v.get("pr_curves") or {}
    chosen = folder.chosen
    labels = sorted({*per_class, *curves, *chosen})
    rows = []
    for label in [*labels, "overall"]:
        figures_ = v.get("overall") if label == "overall" else per_class.get(label)
        ap = (curves.get(label) or {}).get("average_precision")
        rows.append([label, *_figures_row(figures_), number(ap), number(chosen.get(label))])
    header = ("class", *FIGURE_COLUMNS, "AP", "chosen threshold")
    body = grid(header, rows)
    if not per_class:
        body = note("No predicted tables were given: counts need --predictions.") + body
    return section("events", "Events per class and overall", body)


def recordings_section(folder: EvaluationFolder) -> str:
    recordings = folder.values.get("recordings") or []
    rows = []
    for r in recordings[:MAX_ROWS]:
        duration = r.get("duration_s")
        length = "unknown" if duration is None else f"{duration:.1f} s ({r.get('duration_source')})"
        kind = "call-free" if r.get("is_background") else "referenced"
        rows.append([r.get("name"), kind, length, *_figures_row(r)])
    body = grid(("recording", "kind", "duration", *FIGURE_COLUMNS), rows)
    if len(recordings) > MAX_ROWS:
        body += note(f"{len(recordings) - MAX_ROWS} more recordings are in evaluation.json.")
    return section("per-recording", "Per recording", body)


def curves_sections(folder: EvaluationFolder) -> list[str]:
    curves = folder.curves()
    if not curves:
        why = note("No window scores were given (--scores): no curves and no thresholds.")
        return [
            section("pr-curves", "Precision–recall curves", why),
            section("fp-per-hour", "False positives per hour against recall", why),
        ]
    colour = colours([c.label for c in curves])
    chosen = folder.chosen
    pr = image(figures.pr_figure(curves, chosen, colour), "precision-recall curves")
    pr_note = note("Each point is one score threshold; the ring marks the chosen threshold.")
    if folder.duration_s is None:
        rate = note("The duration of the audio is unknown (give --duration_s or --audio_dir).")
    else:
        uri = figures.fp_rate_figure(curves, chosen, colour, folder.duration_s)
        rate = image(uri, "false positives per hour against recall")
    return [
        section("pr-curves", "Precision–recall curves", pr_note + pr),
        section("fp-per-hour", "False positives per hour against recall", rate),
    ]


def thresholds_section(folder: EvaluationFolder) -> str:
    v, settings = folder.values, folder.values.get("settings") or {}
    found = v.get("thresholds") or {}
    if not found:
        return section("thresholds", "Chosen thresholds", note("No thresholds (no --scores)."))
    target = settings.get("target_precision")
    rule = (
        f"Per class, the lowest threshold whose precision reaches {target}."
        if target is not None
        else "Per class, the threshold of the highest F1 (no --target_precision)."
    )
    rows = []
    for label, c in sorted(found.items()):
        curve = figures.CurvePoints.from_dict(label, (v.get("pr_curves") or {}).get(label) or {})
        index = curve.index_of(c.get("threshold"))
        rate = None
        if index is not None and folder.duration_s is not None:
            false = curve.false_positives[index]
            rate = None if np.isnan(false) else float(false) / (folder.duration_s / 3600)
        how = RULES.get(str(c.get("rule")), str(c.get("rule")))
        rows.append(
            [label, number(c.get("threshold")), number(c.get("precision")),
             number(c.get("recall")), number(c.get("f1")), number(rate, 2), how]
        )  # fmt: skip
    body = note(rule) + grid(
        ("class", "threshold", "precision", "recall", "F1", "FP/h", "rule"), rows
    )
    if v.get("model_thresholds") is not None:
        stored = ", ".join(f"{k} {x:.3f}" for k, x in sorted(v["model_thresholds"].items()))
        body += note(f"Stored in {settings.get('write_thresholds')}: {stored}.")
    else:
        used = prediction_thresholds(settings.get("predictions"))
        cut = f" ({used})" if used else ""
        body += note(
            "Written to no model (no --write_thresholds): these are the best thresholds on these "
            f"recordings, not the ones their events were cut at{cut}. Thresholds chosen on the "
            "recordings they are then judged on flatter the figures: choose them on other ones."
        )
    return section("thresholds", "Chosen thresholds", body)


def prediction_thresholds(predictions: object) -> str | None:
    """The thresholds prediction cut the evaluated events at, from its ``prediction.json``."""
    if not isinstance(predictions, str):
        return None
    path = Path(predictions) / SUMMARY_JSON
    try:
        used = json.loads(path.read_text(encoding="utf-8")).get("thresholds") or {}
        shown = ", ".join(f"{k} {float(x):.3f}" for k, x in sorted(used.items()))
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return f"prediction used {shown}" if shown else None


def notes_section(folder: EvaluationFolder) -> str:
    v = folder.values
    notes = [str(n) for n in v.get("notes") or []]
    unpaired = [(u.get("file"), u.get("reason")) for u in v.get("unpaired") or []]
    body = "".join(note(n) for n in notes) or note("No notes.")
    if unpaired:
        body += "<h3>Files left out</h3>" + grid(("file", "reason"), unpaired[:MAX_ROWS])
        if len(unpaired) > MAX_ROWS:
            body += note(f"{len(unpaired) - MAX_ROWS} more are in evaluation.json.")
    else:
        body += note("Every table found its partner.")
    return section("notes", "Notes and files left out", body)


def render(folder: EvaluationFolder) -> str:
    """The whole page."""
    sections = [
        summary_section(folder),
        events_section(folder),
        recordings_section(folder),
        *curves_sections(folder),
        thresholds_section(folder),
        notes_section(folder),
    ]
    return document(f"Evaluation: {folder.output_dir.absolute().name}", sections)


def write_evaluation_report(output_dir: str | Path) -> Path:
    """Write ``output_dir/report.html`` from its ``evaluation.json`` atomically; its path.

    Raises:
        BadConfig: the folder holds no readable ``evaluation.json``.
    """
    folder = read_evaluation_folder(output_dir)
    page = render(folder)
    path = folder.output_dir / REPORT_NAME
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return path
