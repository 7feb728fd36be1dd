"""The steps of a prediction run (`api.predict` runs them; `sharded` runs them for one shard):
find the recordings, plan what is left to do, score each one and write its files, then the
folder's combined table, errors and summary.
"""

from __future__ import annotations

import contextlib
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
from ..cells import printable
from ..config import PredictConfig
from ..data.dataset import scan_audio, warn_skipped
from ..errors import AnimalSpotError, BadAudio, BadConfig
from ..extensions import RECORDING_OUTPUTS
from . import events as event_rules
from .compose import build_scorer as build_scorer
from .compose import primary_bundle
from .outputs import (
    ERRORS_CSV,
    KINDS,
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
from .scores import write_scores
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

    @classmethod
    def of_run(
        cls,
        output_dir: Path,
        predicted: list[Path],
        done: list[Done],
        errors: list[tuple[Path, str]],
        counts: Mapping[str, int],
        hours: float,
        combined_table: Path | None,
    ) -> PredictResult:
        """A run's result: the recordings done before it and not scored again are skipped."""
        scored = set(predicted)
        return cls(
            output_dir=output_dir,
            predicted=predicted,
            skipped=[r for r, _, _ in done if r not in scored],
            errors=errors,
            n_events=sum(counts.values()),
            hours=hours,
            combined_table=combined_table,
        )

    def summary(self) -> str:
        """One line for a terminal."""
        n_files = len(self.predicted) + len(self.skipped) + len(self.errors)
        return (
            f"{n_files} files: {len(self.predicted)} predicted ({self.hours:.2f} h of audio), "
            f"{len(self.skipped)} skipped as done, {len(self.errors)} unreadable; "
            f"{self.n_events} events"
        )


def check_recording_outputs(cfg: PredictConfig) -> None:
    """Each asked-for extra output has a registered writer, before any recording is scored."""
    known = {RECORDING_OUTPUTS.get(name).flag for name in RECORDING_OUTPUTS}
    if cfg.legacy_log and "legacy_log" not in known:
        raise BadConfig(
            "--legacy_log has no writer in this process",
            fix="run the animal-spot command, or `import animal_spot.legacy` first",
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
    for name in RECORDING_OUTPUTS:
        extra = RECORDING_OUTPUTS.get(name)
        if getattr(cfg, extra.flag, False):
            extra.write(scores, primary_bundle(scorer), cfg, outputs["selections"], duration_s)


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
