"""Typed configs of the verbs that make no model: ``prepare`` and ``evaluate``.

Like the sections of `ExperimentConfig`, every field carries its help and its flag name
(``metadata["option"]``); the CLI's flags are generated from these fields (`cli_options`), and
the Python functions take the same dataclasses, so flags, keys and arguments are one vocabulary.
They are not sections of a model.pt: they decide no model.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path

from .config import MAX_SEED, _check_finite, _check_range, check_split, option
from .conventions import NOISE_CLASS, EventSpan
from .errors import BadConfig


def _paths(config: object) -> None:
    """Text given for a path field becomes a Path (``PrepareConfig(out_dir="data/")``)."""
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, f.name)
        if "Path" not in str(f.type):
            continue
        if isinstance(value, str):
            object.__setattr__(config, f.name, Path(value))
        elif isinstance(value, list | tuple):
            object.__setattr__(config, f.name, tuple(Path(v) for v in value))


# The flags of `PrepareConfig` that name where the clips come from (exactly one is given).
SOURCE_FIELDS = ("clips_dir", "csv", "raven_dir")
# Its fields that decide the split; the others (but out_dir) say how clips are read and cut.
SPLIT_FIELDS = ("split", "seed", "merge_shared_content", "drop_silent", "workers")


@dataclass(frozen=True, slots=True, kw_only=True)
class PrepareConfig:
    """Labelled audio → leak-free train/val/test manifests with an audit (``prepare``)."""

    out_dir: Path = option(Path("prepared"), "folder for the manifests and audit", name="out")
    clips_dir: Path | None = option(None, "source: convention-named clips or class folders")
    csv: Path | None = option(None, "source: CSV listing clips (paths relative to it)")
    path_column: str = option("path", "--csv: column of the clip paths")
    label_column: str = option("label", "--csv: column of the labels")
    group_column: str | None = option(
        None, "recording/tape column (default: the file name)", name="group_column"
    )
    raven_dir: Path | None = option(None, "source: Raven selection tables")
    audio_dir: Path | None = option(None, "--raven_dir: recordings the tables annotate")
    annotation_column: str | None = option(
        None, "--raven_dir: column holding the label (default: Annotation)"
    )
    noise_per_selection: float = option(
        0.0, "--raven_dir: noise clips cut between the selections, per selection"
    )
    margin_s: float = option(1.0, "noise clips keep this far from any selection")
    window_s: float = option(1.0, "shortest clip cut from a table")
    crops_per_selection: int = option(1, "K > 1: K shifted crops per selection")
    background_dir: Path | None = option(None, "call-free recordings → noise clips")
    background_clips: int | None = option(
        None, "noise clips per background recording (default: selections ÷ recordings)"
    )
    split: tuple[float, float, float] = option(
        (0.7, 0.15, 0.15), "fractions of the groups (recordings/tapes) per split"
    )
    seed: int = option(0, "seed of the split (and of the noise clips' places)")
    merge_shared_content: bool = option(
        True, "put groups that share audio into one split (--no_merge: keep them apart)"
    )
    drop_silent: bool = option(False, "leave out clips with peak < 1e-3")
    workers: int = option(1, "processes reading audio")

    def __post_init__(self) -> None:
        _paths(self)
        _check_finite("prepare", self)
        given = [name for name in SOURCE_FIELDS if getattr(self, name) is not None]
        if len(given) > 1:
            raise BadConfig(
                "prepare reads exactly one source; "
                f"{' and '.join('--' + n for n in given)} are given",
                fix="prepare each source into its own folder",
            )
        check_split(self.split, "prepare.split")
        _check_range("prepare", "noise_per_selection", self.noise_per_selection, 0, 1000)
        _check_range("prepare", "margin_s", self.margin_s, 0.0, 1e6)
        if not 0 < self.window_s <= 1e6:
            raise BadConfig(f"prepare.window_s = {self.window_s} must be above 0 (seconds)")
        _check_range("prepare", "crops_per_selection", self.crops_per_selection, 1, 1000)
        if self.background_clips is not None:
            _check_range("prepare", "background_clips", self.background_clips, 0, 1_000_000)
        _check_range("prepare", "seed", self.seed, 0, MAX_SEED)
        _check_range("prepare", "workers", self.workers, 1, 1024)

    def source(self) -> dict[str, object]:
        """The arguments of `read_source`: where the clips come from and how they are cut (the
        seed also places the noise clips)."""
        reading = [f.name for f in dataclasses.fields(self) if f.name not in SPLIT_FIELDS]
        return {name: getattr(self, name) for name in reading if name != "out_dir"} | {
            "seed": self.seed
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluateConfig:
    """Predicted events against reference Raven tables; thresholds from scores (``evaluate``)."""

    predictions: Path | None = option(None, "predicted Raven table or folder of them")
    references: Path | None = option(None, "reference table or folder, paired by recording")
    scores: Path | None = option(
        None, "window scores CSV or folder: precision-recall curves and thresholds"
    )
    output_dir: Path | None = option(
        None, "folder for evaluation.json, evaluation.csv, pr_curve.png and report.html"
    )
    iou_threshold: float = option(0.3, "smallest time IoU of a matching pair", name="iou")
    onset_tolerance_s: float | None = option(None, "also match onsets this close")
    is_class_agnostic: bool = option(
        False, "any label matches any label (detection)", name="class_agnostic"
    )
    background: tuple[Path, ...] = option(
        (), "call-free recordings or their predicted tables (files or folders): all FP"
    )
    target_precision: float | None = option(
        None, "per class, the lowest threshold reaching this precision (default: max F1)"
    )
    write_thresholds_to: Path | None = option(
        None, "model.pt that receives the chosen thresholds", name="write_thresholds"
    )
    duration_s: float | None = option(
        None, "total audio duration, for FP/hour (default: the audio headers, else the scores)"
    )
    audio_dir: Path | None = option(None, "recordings whose headers give their durations")
    annotation_column: str | None = option(
        None, "label column of the reference tables (default: Annotation)"
    )
    noise_class: str | None = option(NOISE_CLASS, "label left out on both sides ('' = none)")
    n_thresholds: int = option(101, "steps of the threshold grid from 0 to 1")
    min_duration_s: float | None = option(None, "as predict (default: the model's, or 0)")
    max_gap_s: float | None = option(None, "as predict (default: the model's, or 0)")
    event_span: EventSpan | None = option(None, "as predict (default: the model's, or centre)")
    report: bool | None = option(
        None, "also write report.html (default: yes, unless ANIMAL_SPOT_REPORT=0)"
    )

    def __post_init__(self) -> None:
        _paths(self)
        _check_finite("evaluate", self)
        if not 0 < self.iou_threshold <= 1:
            raise BadConfig(f"evaluate.iou_threshold = {self.iou_threshold} must be in (0, 1]")
        if self.target_precision is not None and not 0 < self.target_precision <= 1:
            raise BadConfig(
                f"evaluate.target_precision = {self.target_precision} must be in (0, 1]"
            )
        if self.duration_s is not None and not 0 < self.duration_s <= 1e9:
            raise BadConfig(f"evaluate.duration_s = {self.duration_s} must be above 0")
        for name in ("onset_tolerance_s", "min_duration_s", "max_gap_s"):
            value = getattr(self, name)
            if value is not None:
                _check_range("evaluate", name, value, 0.0, 1e6)
        _check_range("evaluate", "n_thresholds", self.n_thresholds, 2, 100_000)
        spans = typing.get_args(EventSpan)
        if self.event_span is not None and self.event_span not in spans:
            raise BadConfig(f"evaluate.event_span = {self.event_span!r}; choose one of {spans}")
