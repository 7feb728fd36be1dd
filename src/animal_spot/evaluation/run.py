"""``evaluate``: predicted tables and window scores against reference tables → figures and files."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from .. import console
from ..annotations.event import Event
from ..atomic import atomic_open
from ..config import from_dict
from ..errors import BadConfig, BadTable
from ..prediction.scores import ScoreTrack
from ..verb_config import EvaluateConfig
from .curves import EventBuilder, PrCurve, plot_pr_curves, pr_curves, threshold_grid
from .inputs import (
    NO_REFERENCE,
    Background,
    Recording,
    pair_recordings,
    read_background,
    set_durations,
)
from .matching import is_detector_against_types, is_noise, match_events
from .metrics import Figures, count_by_class, count_overall, format_table, macro_f1, percent
from .thresholds import (
    ThresholdChoice,
    choose_thresholds,
    model_event_options,
    thresholds_destination,
    write_thresholds,
)

logger = logging.getLogger(__name__)


class MatchOptions(TypedDict):
    """The matching rules, passed alike to `match_events` and `pr_curves`."""

    iou_threshold: float
    onset_tolerance_s: float | None
    is_class_agnostic: bool
    noise_class: str | None


CSV_COLUMNS = (
    "class",
    "true_positives",
    "false_positives",
    "false_negatives",
    "precision",
    "recall",
    "f1",
    "false_positives_per_hour",
    "false_positive_s",
    "false_positive_s_per_hour",
    "flagged_s",
    "flagged_s_per_hour",
    "average_precision",
    "threshold",
)


@dataclass
class EvaluationResult:
    """Every figure of one evaluation, and the files that hold them."""

    settings: dict[str, Any]
    recordings: list[Recording]
    unpaired: list[tuple[str, str]]
    duration_s: float | None
    per_class: dict[str, Figures] = field(default_factory=dict)
    overall: Figures | None = None
    per_recording: dict[str, Figures] = field(default_factory=dict)
    curves: dict[str, PrCurve] = field(default_factory=dict)
    thresholds: dict[str, ThresholdChoice] = field(default_factory=dict)
    model_thresholds: dict[str, float] | None = None
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """All figures as JSON-ready primitives (a figure that does not exist is None)."""
        return {
            "settings": self.settings,
            "duration_s": self.duration_s,
            "recordings": [
                {
                    "name": r.name,
                    "reference_table": None
                    if r.reference_table is None
                    else str(r.reference_table),
                    "is_background": r.is_background,
                    "prediction_table": None
                    if r.prediction_table is None
                    else str(r.prediction_table),
                    "duration_s": r.duration_s,
                    "duration_source": r.duration_source,
                    **(
                        self.per_recording[r.name].to_dict() if r.name in self.per_recording else {}
                    ),
                }
                for r in self.recordings
            ],
            "unpaired": [{"file": f, "reason": why} for f, why in self.unpaired],
            "per_class": {label: f.to_dict() for label, f in self.per_class.items()},
            "overall": None if self.overall is None else self.overall.to_dict(),
            "macro_f1": macro_f1(self.per_class),
            "pr_curves": {label: c.to_dict() for label, c in self.curves.items()},
            "thresholds": {label: c.to_dict() for label, c in self.thresholds.items()},
            "model_thresholds": self.model_thresholds,
            "notes": self.notes,
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per class, then ``overall``: counts, figures, AP and chosen threshold."""
        labels = sorted({*self.per_class, *self.curves, *self.thresholds})
        rows = []
        for label in [*labels, "overall"]:
            figures = self.overall if label == "overall" else self.per_class.get(label)
            curve, choice = self.curves.get(label), self.thresholds.get(label)
            row: dict[str, Any] = {"class": label, **(figures.to_dict() if figures else {})}
            row["average_precision"] = curve.average_precision if curve else None
            row["threshold"] = choice.threshold if choice else None
            rows.append({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
        return rows

    def format_text(self) -> str:
        """A compact report: the figure table, curves, thresholds and what was left out."""
        hours = "unknown" if self.duration_s is None else f"{self.duration_s / 3600:.3f}"
        n_quiet = sum(r.is_background for r in self.recordings)
        quiet = f" ({n_quiet} call-free)" if n_quiet else ""
        lines = [f"{len(self.recordings)} recordings{quiet}, {hours} h of audio"]
        if self.overall is not None:
            lines += format_table(self.per_class, self.overall)
            lines.append(f"macro F1 {percent(macro_f1(self.per_class))}")
        for label, curve in self.curves.items():
            ap = curve.average_precision
            lines.append(f"average precision {label}: {'n/a' if ap is None else f'{ap:.3f}'}")
        for label, choice in self.thresholds.items():
            if choice.threshold is None:
                lines.append(f"threshold {label}: none ({choice.rule.replace('_', ' ')})")
            else:
                lines.append(
                    f"threshold {label}: {choice.threshold:.3f} ({choice.rule.replace('_', ' ')}:"
                    f" precision {percent(choice.precision)}, recall {percent(choice.recall)})"
                )
        if self.model_thresholds is not None:
            lines.append(f"thresholds stored in {self.settings['write_thresholds']}")
        for name, reason in self.unpaired[:5]:
            lines.append(f"left out {name}: {reason}")
        if len(self.unpaired) > 5:
            lines.append(f"... and {len(self.unpaired) - 5} more left out (see evaluation.json)")
        return "\n".join(lines)


def prediction_event_builder(
    min_duration_s: float, max_gap_s: float, event_span: str = "centre"
) -> EventBuilder:
    """Prediction's own scores → events step, with its merge gap, minimum duration and span."""
    from ..prediction.events import from_scores

    def build(track: ScoreTrack, thresholds: Mapping[str, float]) -> list[Event]:
        return from_scores(
            track,
            thresholds,
            max_gap_s=max_gap_s,
            min_duration_s=min_duration_s,
            span=event_span,
        )

    return build


def _check(settings: dict[str, Any], predictions: object, scores: object) -> None:
    if settings["references"] is None and settings["background"] is None:
        raise BadConfig("no reference tables given", fix="pass --references DIR_or_table")
    if predictions is None and scores is None:
        raise BadConfig("give predicted tables (--predictions), window scores (--scores) or both")
    if not 0 <= settings["iou_threshold"] <= 1:
        raise BadConfig(f"iou threshold {settings['iou_threshold']} must lie in [0, 1]")
    tolerance = settings["onset_tolerance_s"]
    if tolerance is not None and tolerance < 0:
        raise BadConfig(f"onset tolerance {tolerance} s must be ≥ 0")
    target = settings["target_precision"]
    if target is not None and not 0 < target <= 1:
        raise BadConfig(f"target precision {target} must lie in (0, 1]")
    if scores is None and (target is not None or settings["write_thresholds"]):
        raise BadConfig("choosing thresholds needs window scores: add --scores")
    if settings["n_thresholds"] < 2:
        raise BadConfig(f"n_thresholds {settings['n_thresholds']} must be at least 2")


def _write_outputs(result: EvaluationResult, output_dir: Path, report: bool | None) -> None:
    json_path = output_dir / "evaluation.json"
    with atomic_open(json_path, "w", encoding="utf-8") as handle:
        json.dump(result.to_dict(), handle, indent=2)
        handle.write("\n")
    csv_path = output_dir / "evaluation.csv"
    with atomic_open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(result.csv_rows())
    result.files += [json_path, csv_path]
    if result.curves:
        chosen = {label: c.threshold for label, c in result.thresholds.items()}
        result.files.append(plot_pr_curves(result.curves, output_dir / "pr_curve.png", chosen))
    from ..reporting.switch import is_report_wanted, write_or_warn

    if is_report_wanted(report):
        from ..reporting.evaluation import write_evaluation_report

        written = write_or_warn(output_dir, write_evaluation_report)
        if written is not None:
            result.files.append(written)


def _background_paths(background: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if background is None:
        return []
    if isinstance(background, str | Path):
        return [Path(background)]
    return [Path(p) for p in background]


def _warn_left_out(unpaired: Sequence[tuple[str, str]], background: Background) -> list[str]:
    """One line on predicted tables left out for want of a reference table."""
    n_left = sum(reason == NO_REFERENCE for _, reason in unpaired)
    if not n_left:
        return []
    hint = (
        "neither referenced nor named by --background"
        if background.names
        else "give --background DIR to count call-free recordings: every event there is a "
        "false positive and their hours count"
    )
    line = f"{n_left} predicted tables had no reference table and were left out ({hint})"
    logger.warning("%s", line)
    return [line]


def _agnostic_note(recordings: Sequence[Recording], noise_class: str | None) -> str | None:
    """The line saying detector predictions are matched class-agnostically, or None."""
    predicted = {e.label for r in recordings for e in r.predictions or []}
    predicted |= {c for r in recordings if r.track is not None for c in r.track.classes}
    typed = {e.label for r in recordings for e in r.references}
    if not is_detector_against_types(predicted, typed, noise_class):
        return None
    shown = ", ".join(sorted(t for t in typed if t != "target" and not is_noise(t, noise_class)))
    return (
        f"every predicted label is 'target' (a detector's) and the references use {shown}: "
        "matched class-agnostically, as --class_agnostic does"
    )


EVALUATE_LOG = "evaluate.log"


def evaluate(
    config: EvaluateConfig | str | Path | None,
    references: str | Path | None = None,
    *,
    events_from_scores: EventBuilder | None = None,
    **options: Any,
) -> EvaluationResult:
    """Evaluate predicted events against reference Raven tables; optionally choose thresholds.

    ``evaluate(EvaluateConfig(...))``, or ``evaluate(predictions, references, **fields)`` with
    the fields of `EvaluateConfig` as keyword arguments. With an ``output_dir`` the records of
    the run are appended to ``evaluate.log`` there.

    Args (the fields of `EvaluateConfig`, and):
        events_from_scores: Scores → events (default: prediction's ``events.from_scores``).
        predictions: A predicted Raven table or a folder of them (None: scores only).
        references: A reference Raven table or a folder of them, paired by recording name
            (None: only ``background`` recordings).
        scores: A window scores CSV or a folder of ``*.scores.csv``: adds precision–recall
            curves over thresholds and a threshold per class.
        output_dir: Receives ``evaluation.json``, ``evaluation.csv``, ``pr_curve.png`` and
            ``report.html``; None writes nothing.
        iou_threshold: Smallest time IoU of a matching pair.
        onset_tolerance_s: Also match events whose onsets differ by at most this.
        is_class_agnostic: Any non-noise label matches any other (detection). Also chosen,
            with a note, when every predicted label is ``target`` and the references are typed.
        target_precision: Choose per class the lowest threshold reaching it (else: max F1).
        write_thresholds_to: A ``model.pt`` that receives the chosen thresholds.
        duration_s: Total duration of the recordings, for false positives per hour (default:
            audio headers in ``audio_dir``, else the last scored window).
        audio_dir: Folder of the recordings, whose headers give their durations.
        annotation_column: The label column of the reference tables (default: ``Annotation``).
        noise_class: Events of this label are left out on both sides.
        n_thresholds: Steps of the threshold grid from 0 to 1.
        min_duration_s: Prediction's minimum event duration (default: the model's, else 0).
        max_gap_s: Prediction's merge gap (default: the model's, else 0).
        event_span: Prediction's ``centre`` or ``window`` event span (default: the model's,
            else ``centre``).
        background: Call-free recordings (audio files, their predicted tables, or folders of
            either): a predicted table without a reference table whose recording is named here
            is evaluated against no events, so all its events are false positives and its
            duration counts in the hours.
        report: Also write ``report.html`` into ``output_dir`` (None: yes, unless the
            environment sets ``ANIMAL_SPOT_REPORT=0``); a report that fails is a warning.
    """
    if not isinstance(config, EvaluateConfig):
        values = {**options, "predictions": config, "references": references}
        background = values.pop("background", None)
        if background is not None:
            values["background"] = (
                [background] if isinstance(background, str | Path) else background
            )
        config = from_dict(EvaluateConfig, values, "evaluate")
    elif options or references is not None:
        raise TypeError("evaluate(EvaluateConfig) takes no other arguments but events_from_scores")
    if config.output_dir is None:
        return _evaluate(config, events_from_scores)
    with console.run_log(config.output_dir / EVALUATE_LOG):
        return _evaluate(config, events_from_scores)


def _evaluate(config: EvaluateConfig, events_from_scores: EventBuilder | None) -> EvaluationResult:
    predictions, references, scores = config.predictions, config.references, config.scores
    output_dir, iou_threshold = config.output_dir, config.iou_threshold
    onset_tolerance_s, is_class_agnostic = config.onset_tolerance_s, config.is_class_agnostic
    target_precision, write_thresholds_to = config.target_precision, config.write_thresholds_to
    duration_s, audio_dir = config.duration_s, config.audio_dir
    annotation_column, noise_class = config.annotation_column, config.noise_class
    n_thresholds, min_duration_s = config.n_thresholds, config.min_duration_s
    max_gap_s, event_span, report = config.max_gap_s, config.event_span, config.report
    background = list(config.background) or None
    settings = {
        "predictions": None if predictions is None else str(predictions),
        "references": None if references is None else str(references),
        "scores": None if scores is None else str(scores),
        "iou_threshold": iou_threshold,
        "onset_tolerance_s": onset_tolerance_s,
        "is_class_agnostic": is_class_agnostic,
        "noise_class": noise_class,
        "target_precision": target_precision,
        "write_thresholds": (
            None
            if write_thresholds_to is None
            else str(thresholds_destination(write_thresholds_to))
        ),
        "n_thresholds": n_thresholds,
        "background": [str(p) for p in _background_paths(background)] or None,
    }
    _check(settings, predictions, scores)
    quiet = read_background(_background_paths(background)) if background else Background()
    recordings, unpaired = pair_recordings(
        references,
        predictions,
        scores=scores,
        annotation_column=annotation_column,
        background=quiet,
    )
    notes = _warn_left_out(unpaired, quiet)
    if not recordings:
        # A table that could not be read says more than "no reference table of this recording".
        generic = {NO_REFERENCE, "no predictions for this reference table"}
        specific = [why for _, why in unpaired if why not in generic]
        reason = (specific or [why for _, why in unpaired] or ["nothing found"])[0]
        raise BadTable(
            f"no recording has both a reference (or is call-free) and a prediction ({reason})",
            path=predictions if predictions is not None else scores,
            fix="name tables after recordings: rec.selections.txt, rec.Table.1.selections.txt",
        )
    total_s = set_durations(
        recordings, duration_s=duration_s, audio_dir=audio_dir, known_s=quiet.durations_s
    )
    note = None if is_class_agnostic else _agnostic_note(recordings, noise_class)
    if note is not None:
        logger.warning("%s", note)
        notes.append(note)
        is_class_agnostic = settings["is_class_agnostic"] = True
    result = EvaluationResult(settings, recordings, unpaired, total_s, notes=notes)
    match = MatchOptions(
        iou_threshold=iou_threshold,
        onset_tolerance_s=onset_tolerance_s,
        is_class_agnostic=is_class_agnostic,
        noise_class=noise_class,
    )
    if predictions is not None:
        matchings = [match_events(r.predictions or [], r.references, **match) for r in recordings]
        result.per_class = count_by_class(matchings, total_s)
        result.overall = count_overall(matchings, total_s)
        result.per_recording = {
            r.name: count_overall([m], r.duration_s)
            for r, m in zip(recordings, matchings, strict=True)
        }
    scored = [(r.track, r.references) for r in recordings if r.track is not None]
    if scores is not None:
        if not scored:
            raise BadTable("no window scores belong to a paired recording", path=scores)
        classes = {c for track, _ in scored for c in track.classes}
        predict = model_event_options(write_thresholds_to, classes)  # fails before the sweep
        if events_from_scores is None:
            events_from_scores = prediction_event_builder(
                float(predict.get("min_duration_s", 0.0))
                if min_duration_s is None
                else min_duration_s,
                float(predict.get("max_gap_s", 0.0)) if max_gap_s is None else max_gap_s,
                str(predict.get("event_span", "centre")) if event_span is None else event_span,
            )
        grid = threshold_grid(n_thresholds)
        result.curves = pr_curves(scored, events_from_scores, thresholds=grid, **match)
        result.thresholds = choose_thresholds(result.curves, target_precision)
        if write_thresholds_to is not None:
            note = f"by evaluate on {references}, " + (
                f"target precision {target_precision}" if target_precision else "max F1"
            )
            result.model_thresholds = write_thresholds(write_thresholds_to, result.thresholds, note)
    if output_dir is not None:
        _write_outputs(result, Path(output_dir), report)
    logger.info("evaluated %d recordings", len(recordings))
    return result
