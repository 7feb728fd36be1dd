"""predict(config): recordings → window scores, Raven tables and embeddings, resumable per file.

Every recording under ``input_file`` (a file, or a folder searched recursively) gets its files
in ``output_dir`` (see `outputs`); the folder also gets ``all.selections.txt`` (every event,
with a ``Begin File`` column) and, when some input could not be used, ``errors.csv``
(``file,reason``; the run goes on). A recording whose outputs exist and are newer than it is
skipped unless ``overwrite``, so a killed run resumes where it stopped.

Inputs that cannot be used are each named once in ``errors.csv`` and in a WARNING line (the
first 20, then a count): unreadable recordings and folders, corrupt, empty or truncated-to-
nothing files, NaN/infinite samples (see `audio`), dangling links, link loops, FIFOs and
folders named like recordings (none of them is opened). The run then ends normally (the
command's exit code 0) as long as one recording was scored or was done before; when none was,
``predict`` raises ``BadAudio`` (exit code 2), after writing ``errors.csv``. One run at a time
may write into an output folder: a second one raises ``BadConfig`` at once
(`atomic.folder_lock`). Last come ``prediction.json`` (`summary`: inputs, outputs, timing) and
``report.html`` (`reporting.prediction`; a report that fails is a warning only).

Speed on CPUs: ``predict`` tunes glibc malloc in its own process (`runtime.tune_malloc`:
20–50 % faster inference) unless a ``MALLOC_*_`` environment variable is already set, and uses
no more threads than the CPUs it may run on. Callers of the lower-level `Predictor` can call
``tune_malloc()`` themselves, or start Python with the variables of ``runtime.MALLOC_ENV``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm  # the type of console.progress's bars

from .. import audio, console
from ..annotations.event import Event
from ..annotations.raven import write_table
from ..atomic import folder_lock
from ..bundle import ModelBundle
from ..cells import printable
from ..config import ExperimentConfig, PredictConfig
from ..data.dataset import AUDIO_SUFFIXES, scan_audio, warn_skipped
from ..errors import AnimalSpotError, BadAudio, BadConfig
from . import events as event_rules
from .compose import build_scorer as build_scorer
from .compose import primary_bundle
from .outputs import (
    COMBINED_TABLE,
    ERRORS_CSV,
    KINDS,
    PREDICT_LOG,
    Done,
    clear_stale_temp_files,
    is_done,
    output_bases,
    output_paths,
    write_combined,
    write_embeddings,
    write_errors,
)
from .pipeline import Scorer, thresholds_for
from .predictor import FileScores
from .runtime import limit_threads, tune_malloc
from .scores import write_scores
from .shards import resolve_shard
from .summary import RunTiming, write_summary

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


def _write_legacy_log(
    scores: FileScores,
    bundle: ModelBundle,
    config: PredictConfig,
    selections: Path,
    duration_s: float,
) -> None:
    """The log beside the recording's other outputs, ``<output base>_predict_output.log``.

    That is ANIMAL-SPOT's name unless the base holds a ``.`` (ANIMAL-SPOT cut names at the
    first one, so ``a.x.wav`` and ``a.y.wav`` overwrote each other's logs) or was lengthened
    because stems clash (``rec.wav``, ``rec.flac``).
    """
    from ..legacy.logs import legacy_log_options, write_legacy_log

    sample_rate_hz = bundle.config.audio.sample_rate_hz
    window_s = config.window_s or bundle.config.spectrogram.sequence_len_ms / 1000
    base = selections.name.removesuffix(KINDS["selections"])
    write_legacy_log(
        scores.track,
        selections.parent,
        name=base,
        model_path=config.model_path[0],
        sequence_len_s=window_s,
        hop_s=config.hop_s,
        threshold=config.threshold if config.threshold is not None else 0.5,
        n_samples=round(duration_s * sample_rate_hz),
        **legacy_log_options(bundle),
    )


_FIX_INPUT = "give a recording or a folder"


def scan_recordings(input_path: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """``(recording, name)`` pairs, and ``(path, reason)`` of entries left out (`scan_audio`).

    A name is the path relative to the input folder (a file's own name for a file).

    Raises:
        BadConfig: the input does not exist, or is neither a file nor a folder.
    """
    try:
        mode = input_path.stat().st_mode
    except FileNotFoundError:
        raise BadConfig("input not found", path=input_path, fix=_FIX_INPUT) from None
    except OSError as err:
        raise BadConfig(f"input cannot be read ({err.strerror})", path=input_path) from None
    if stat.S_ISREG(mode):
        return [(input_path, input_path.name)], []
    if not stat.S_ISDIR(mode):
        raise BadConfig(f"input is {audio.file_kind(mode)}", path=input_path, fix=_FIX_INPUT)
    scan = scan_audio(input_path)
    pairs = [(path, path.relative_to(input_path).as_posix()) for path in scan.files]
    return pairs, scan.skipped


def find_recordings(input_path: Path) -> list[tuple[Path, str]]:
    """``(recording, name)`` pairs (`scan_recordings`); entries left out are logged."""
    pairs, skipped = scan_recordings(input_path)
    warn_skipped(skipped)
    return pairs


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


def _reason(err: AnimalSpotError) -> str:
    text = str(err)
    return text.removeprefix(f"{err.path}: ") if err.path else text


@contextlib.contextmanager
def _progress(total_h: float, enabled: bool) -> Iterator[tqdm]:
    """Hours of audio done, and hours of audio per second (a line every 30 s in a log)."""
    bar = console.progress(
        round(total_h, 6),
        "audio",
        unit="h",
        enabled=enabled,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} h "
        "[{elapsed}<{remaining}, {rate_fmt}]",
    )
    try:
        yield bar
    finally:
        bar.close()


def predict(
    config: ExperimentConfig | PredictConfig, *, progress: bool = True, report: bool | None = None
) -> PredictResult:
    """Score every recording ``config.predict`` names and write its outputs (module docstring).

    ``report``: write ``report.html``; None: yes unless ``ANIMAL_SPOT_REPORT=0``.

    Raises:
        BadConfig: no model or no input given, the input does not exist or holds no audio,
            or another run is writing into the output folder.
        BadModel: a model cannot be loaded, or an ensemble's classes differ.
        BadAudio: not one input could be scored (``errors.csv`` is written first).
    """
    cfg = config.predict if isinstance(config, ExperimentConfig) else config
    if cfg.input_file is None:
        raise BadConfig("no input given", fix="pass --input_file with a recording or a folder")
    shard = resolve_shard(cfg.shard)
    if shard is not None:  # shards may run elsewhere: their files name absolute paths
        cfg = dataclasses.replace(
            cfg, input_file=Path(cfg.input_file).absolute(), output_dir=cfg.output_dir.absolute()
        )
    tune_malloc()
    limit_threads()
    recordings, errors = scan_recordings(Path(cfg.input_file))
    if not recordings and not errors:
        raise BadConfig(
            "no recordings found",
            path=cfg.input_file,
            fix=f"give a folder holding audio files ({', '.join(AUDIO_SUFFIXES)})",
        )
    scorer = build_scorer(cfg)
    if shard is not None:
        from .sharded import predict_shard

        return predict_shard(shard, recordings, errors, scorer, cfg, progress, report)
    n_inputs = len(recordings) + len(errors)
    output_dir = Path(cfg.output_dir)
    with folder_lock(output_dir, "predicting into"), console.run_log(output_dir / PREDICT_LOG):
        done, pending = plan(recordings, output_dir, cfg, errors)
        predicted, timing = score_all(pending, scorer, cfg, progress, errors, done)
        counts = write_folder_files(
            output_dir,
            cfg,
            classes=scorer.classes,
            thresholds=thresholds_for(scorer, cfg.threshold),
            done=done,
            durations_s=durations_of(pending, predicted),
            errors=errors,
            timing=timing,
            report=report,
        )
    report_errors(errors, n_inputs, output_dir, any_done=bool(done))
    predicted_set = set(predicted)
    return PredictResult(
        output_dir=output_dir,
        predicted=predicted,
        skipped=[r for r, _, _ in done if r not in predicted_set],
        errors=errors,
        n_events=sum(counts.values()),
        hours=timing.hours,
        combined_table=output_dir / COMBINED_TABLE,
    )


def durations_of(pending: list[Pending], predicted: list[Path]) -> dict[Path, float]:
    """The lengths of the recordings this run scored."""
    scored = set(predicted)
    return {p[0]: p[3] for p in pending if p[0] in scored}


def write_folder_files(
    output_dir: Path,
    cfg: PredictConfig,
    *,
    classes: Sequence[str],
    thresholds: Mapping[str, float] | None,
    done: list[Done],
    durations_s: Mapping[Path, float],
    errors: list[tuple[Path, str]],
    timing: RunTiming,
    report: bool | None,
) -> dict[str, int]:
    """The combined table, ``errors.csv``, ``prediction.json`` and the report; events per name."""
    counts = write_combined(output_dir, done, errors)
    write_errors(output_dir, errors)
    write_summary(
        output_dir,
        cfg,
        classes=classes,
        thresholds=thresholds,
        done=done,
        durations_s=durations_s,
        counts=counts,
        errors=errors,
        timing=timing,
    )
    if done:
        _write_report(output_dir, report)
    return counts


def _write_report(output_dir: Path, report: bool | None) -> None:
    """``report.html`` of the folder, when wanted; a failure is a warning, never a failed run."""
    from ..reporting.switch import is_report_wanted, write_or_warn

    if is_report_wanted(report):
        from ..reporting.prediction import write_prediction_report

        write_or_warn(output_dir, write_prediction_report)


Pending = tuple[Path, str, dict[str, Path], float]  # (recording, name, outputs, duration_s)


def plan(
    recordings: list[tuple[Path, str]],
    output_dir: Path,
    cfg: PredictConfig,
    errors: list[tuple[Path, str]],
    bases: Mapping[str, str] | None = None,
) -> tuple[list[Done], list[Pending]]:
    """Recordings done before, and those to score with their lengths; unreadable → errors.

    ``bases``: the output base of each name (`output_bases`), when ``recordings`` are a share
    of a larger set whose names decide them.
    """
    bases = bases or output_bases([name for _, name in recordings])
    done: list[Done] = []
    pending: list[Pending] = []
    for recording, name in recordings:
        outputs = output_paths(output_dir, bases[name], cfg.latent_extract)
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
    return done, pending


def score_all(
    pending: list[Pending],
    scorer: Scorer,
    cfg: PredictConfig,
    progress: bool,
    errors: list[tuple[Path, str]],
    done: list[Done],
) -> tuple[list[Path], RunTiming]:
    """Score and write each pending recording; returns those scored, their hours and the time."""
    started = time.perf_counter()
    predicted: list[Path] = []
    hours = 0.0
    with _progress(sum(p[3] for p in pending) / 3600, progress) as bar:
        for recording, name, outputs, duration_s in pending:
            start_h = bar.n
            log.debug("scoring %s (%.1f s of audio)", printable(name), duration_s)
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
            try:
                _write_outputs(scores, outputs, scorer, cfg, duration_s, recording)
            except OSError as err:  # e.g. a name too long once the output suffix is added
                errors.append((recording, f"cannot write its outputs ({err.strerror or err})"))
                advance(duration_s)
                continue
            advance(duration_s)
            predicted.append(recording)
            hours += duration_s / 3600
            done.append((recording, name, outputs))
    return predicted, RunTiming(hours, time.perf_counter() - started)


def _write_outputs(
    scores: FileScores,
    outputs: dict[str, Path],
    scorer: Scorer,
    cfg: PredictConfig,
    duration_s: float,
    recording: Path,
) -> None:
    """One recording's files, the selection table (its done marker) last."""
    write_scores([scores.track], outputs["scores"])
    if scores.embeddings is not None:
        write_embeddings(scores.embeddings, scores.track, outputs)
    if cfg.visualize:
        _write_window_pdf(scores, outputs, scorer, cfg, recording)
    write_table(_events(scores, scorer, cfg), outputs["selections"])
    if cfg.legacy_log:
        _write_legacy_log(scores, primary_bundle(scorer), cfg, outputs["selections"], duration_s)


def _write_window_pdf(
    scores: FileScores, outputs: dict[str, Path], scorer: Scorer, cfg: PredictConfig, path: Path
) -> None:
    """``--visualize``: the windows' spectrograms beside the recording's outputs."""
    from .compose import wants_legacy_windows
    from .visualize import SUFFIX, write_window_pdf

    bundle = primary_bundle(scorer)
    selections = outputs["selections"]
    target = selections.with_name(selections.name.removesuffix(KINDS["selections"]) + SUFFIX)
    exact = wants_legacy_windows(bundle, cfg, Path(cfg.model_path[0]))
    write_window_pdf(target, path, scores.track, bundle, fit=not exact)


def report_errors(
    errors: list[tuple[Path, str]], n_inputs: int, output_dir: Path, *, any_done: bool
) -> None:
    """Warn about each input left out; raise when not one recording was scored.

    Raises:
        BadAudio: no recording was scored, now or in an earlier run.
    """
    if not errors:
        return
    listed = output_dir / ERRORS_CSV
    if not any_done:
        path, reason = errors[0]
        more = f"; {len(errors) - 1} more in {listed}" if len(errors) > 1 else ""
        raise BadAudio(
            f"no input could be scored: {printable(str(path))}: {reason}{more}",
            fix=f"{listed} lists every input left out and why",
        )
    warn_skipped([(Path(printable(str(p))), r) for p, r in errors], what="not scored:")
    log.warning("%d of %d inputs not scored; %s names them", len(errors), n_inputs, listed)


__all__ = ["PredictResult", "build_scorer", "predict", "tune_malloc"]
