"""predict(config): recordings → window scores, Raven tables and embeddings, resumable per file.

Every recording under ``input_file`` (a file, or a folder searched recursively) gets its files
in ``output_dir`` (see `outputs`); the folder also gets ``all.selections.txt`` (every event,
with a ``Begin File`` column) and, when some recording could not be read, ``errors.csv``
(``file,reason``; the run goes on). A recording whose outputs exist and are newer than it is
skipped unless ``overwrite``, so a killed run resumes where it stopped.

Speed on CPUs: ``predict`` tunes glibc malloc in its own process (`runtime.tune_malloc`:
20–50 % faster inference) unless a ``MALLOC_*_`` environment variable is already set, and uses
no more threads than the CPUs it may run on. Callers of the lower-level `Predictor` can call
``tune_malloc()`` themselves, or start Python with the variables of ``runtime.MALLOC_ENV``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .. import audio
from ..annotations.event import Event
from ..annotations.raven import write_table
from ..bundle import ModelBundle, load_model
from ..config import ExperimentConfig, PredictConfig
from ..data.dataset import list_audio
from ..errors import BadAudio, BadConfig
from . import events as event_rules
from .outputs import (
    COMBINED_TABLE,
    Done,
    clear_stale_temp_files,
    is_done,
    output_paths,
    write_combined,
    write_embeddings,
    write_errors,
)
from .pipeline import Ensemble, Scorer, Single, TwoStage, thresholds_for
from .predictor import FileScores, Predictor, predictor_for
from .runtime import limit_threads, tune_malloc
from .scores import write_scores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictResult:
    """What a prediction run did."""

    output_dir: Path
    predicted: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    n_events: int = 0  # in the combined table: this run's and the skipped recordings'
    hours: float = 0.0  # of audio predicted by this run
    combined_table: Path | None = None

    def summary(self) -> str:
        """One line for a terminal."""
        n_files = len(self.predicted) + len(self.skipped) + len(self.errors)
        return (
            f"{n_files} files: {len(self.predicted)} predicted ({self.hours:.2f} h of audio), "
            f"{len(self.skipped)} skipped as done, {len(self.errors)} unreadable; "
            f"{self.n_events} events"
        )


def build_scorer(config: PredictConfig) -> Scorer:
    """The models ``config`` names, composed: one, an ensemble, and/or detector → classifier."""
    if not config.model_path:
        raise BadConfig("no model given", fix="pass --model_path model.pt (repeat for an ensemble)")

    # An ANIMAL-SPOT .pk stores neither its window nor its normalisation: take them from here.
    window_ms = None if config.window_s is None else config.window_s * 1000

    def load(path: Path) -> Predictor:
        return predictor_for(
            load_model(path, sequence_len_ms=window_ms, min_max_norm=config.min_max_norm),
            window_s=config.window_s,
            hop_s=config.hop_s,
            batch_size=config.batch_size,
            device=config.device,
            precision=config.precision,
            num_workers=config.num_workers,
            runtime=config.runtime,
        )

    predictors = [load(path) for path in config.model_path]
    names = [str(path) for path in config.model_path]
    scorer: Scorer = Single(predictors[0]) if len(predictors) == 1 else Ensemble(predictors, names)
    if config.fast:
        from .shared import make_fast

        if any(p.bundle.config.model.backbone == "birdnet" for p in predictors):
            raise BadConfig(
                "--fast shares a CNN's overlapping spectrogram frames; a birdnet model has none",
                fix="drop --fast (--cascade saves time with any model)",
            )
        scorer = make_fast(scorer)
    if config.cascade:
        from .cascade import Cascade

        grid = predictors[0].grid
        start_s, end_s = grid.span_s(0, grid.window_frames)
        scorer = Cascade(
            scorer,
            window_s=end_s - start_s,
            hop_s=config.hop_s,
            candidate_threshold=config.cascade_threshold,
        )
    if config.detector_model is not None:
        scorer = TwoStage(load(config.detector_model), scorer, str(config.detector_model))
    return scorer


def primary_bundle(scorer: object) -> ModelBundle:
    """The bundle of the first model (the classifier of a two-stage pipeline)."""
    for _ in range(4):
        if isinstance(scorer, TwoStage):
            scorer = scorer.classifier
        for name in ("scorer", "predictor", "ensemble"):  # Cascade, Single/fast, FastEnsemble
            scorer = getattr(scorer, name, scorer)
        if isinstance(scorer, Predictor):
            return scorer.bundle
        if isinstance(scorer, Ensemble):
            return scorer.predictors[0].bundle
    raise TypeError(f"no model inside {type(scorer).__name__}")


def _write_legacy_log(
    scores: FileScores,
    bundle: ModelBundle,
    config: PredictConfig,
    output_dir: Path,
    duration_s: float,
) -> None:
    from ..legacy.logs import legacy_log_options, write_legacy_log

    sample_rate_hz = bundle.config.audio.sample_rate_hz
    window_s = config.window_s or bundle.config.spectrogram.sequence_len_ms / 1000
    write_legacy_log(
        scores.track,
        output_dir,
        model_path=config.model_path[0],
        sequence_len_s=window_s,
        hop_s=config.hop_s,
        threshold=config.threshold if config.threshold is not None else 0.5,
        n_samples=round(duration_s * sample_rate_hz),
        **legacy_log_options(bundle),
    )


def find_recordings(input_path: Path) -> list[tuple[Path, str]]:
    """``(recording, name)`` pairs; the name is the path relative to the input folder."""
    if input_path.is_file():
        return [(input_path, input_path.name)]
    if not input_path.is_dir():
        raise BadConfig("input not found", path=input_path, fix="give a recording or a folder")
    return [(path, path.relative_to(input_path).as_posix()) for path in list_audio(input_path)]


def _events(scores: FileScores, scorer: Scorer, config: PredictConfig) -> list[Event]:
    low_hz, high_hz = scorer.band_hz
    return event_rules.from_scores(
        scores.track,
        thresholds_for(scorer, config.threshold),
        max_gap_s=config.max_gap_s,
        min_duration_s=config.min_duration_s,
        noise_in_anno=config.noise_in_anno,
        span=config.event_span,
        low_hz=low_hz,
        high_hz=high_hz,
    )


def _reason(err: BadAudio) -> str:
    text = str(err)
    return text.removeprefix(f"{err.path}: ") if err.path else text


@contextlib.contextmanager
def _progress(total_h: float, enabled: bool) -> Iterator[tqdm]:
    bar = tqdm(
        total=round(total_h, 6),
        unit="h",
        desc="audio",
        disable=not enabled or None,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h "
        "[{elapsed}<{remaining}, {rate_fmt}]",
    )
    try:
        yield bar
    finally:
        bar.close()


def predict(config: ExperimentConfig | PredictConfig, *, progress: bool = True) -> PredictResult:
    """Score every recording ``config.predict`` names and write its outputs (module docstring).

    Raises:
        BadConfig: no model or no input given, or the input does not exist.
        BadModel: a model cannot be loaded, or an ensemble's classes differ.
    """
    cfg = config.predict if isinstance(config, ExperimentConfig) else config
    if cfg.input_file is None:
        raise BadConfig("no input given", fix="pass --input_file with a recording or a folder")
    tune_malloc()
    limit_threads()
    recordings = find_recordings(Path(cfg.input_file))
    scorer = build_scorer(cfg)
    output_dir = Path(cfg.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    errors: list[tuple[Path, str]] = []
    done: list[Done] = []
    pending: list[tuple[Path, str, dict[str, Path], float]] = []
    for recording, name in recordings:
        outputs = output_paths(output_dir, name, cfg.latent_extract)
        if not cfg.overwrite and is_done(recording, outputs):
            done.append((recording, name, outputs))
            continue
        try:
            header = audio.info(recording)
        except BadAudio as err:
            errors.append((recording, _reason(err)))
            continue
        if header.n_samples == 0:
            errors.append((recording, "holds no samples (0 frames)"))
            continue
        pending.append((recording, name, outputs, header.duration_s))
    predicted: list[Path] = []
    hours = 0.0
    with _progress(sum(p[3] for p in pending) / 3600, progress) as bar:
        for recording, name, outputs, duration_s in pending:
            start_h = bar.n
            clear_stale_temp_files(outputs)

            def advance(seconds: float, start_h: float = start_h) -> None:
                bar.update(start_h + seconds / 3600 - bar.n)

            try:
                scores = scorer.score_file(
                    recording, name, latent=cfg.latent_extract, on_progress=advance
                )
            except BadAudio as err:
                errors.append((recording, _reason(err)))
                advance(duration_s)
                continue
            write_scores([scores.track], outputs["scores"])
            if scores.embeddings is not None:
                write_embeddings(scores.embeddings, scores.track, outputs)
            write_table(_events(scores, scorer, cfg), outputs["selections"])
            if cfg.legacy_log:
                _write_legacy_log(scores, primary_bundle(scorer), cfg, output_dir, duration_s)
            advance(duration_s)
            predicted.append(recording)
            hours += duration_s / 3600
            done.append((recording, name, outputs))
    predicted_set = set(predicted)
    n_events = write_combined(output_dir, done, errors)
    write_errors(output_dir, errors)
    return PredictResult(
        output_dir=output_dir,
        predicted=predicted,
        skipped=[r for r, _, _ in done if r not in predicted_set],
        errors=errors,
        n_events=n_events,
        hours=hours,
        combined_table=output_dir / COMBINED_TABLE,
    )


__all__ = ["PredictResult", "build_scorer", "predict", "tune_malloc"]
