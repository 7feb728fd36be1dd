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
20–50 % faster inference on the exact path) unless a ``MALLOC_*_`` environment variable is
already set or the run is ``--fast`` (whose few large blocks gain under 10 % from it and held
about 350 MB more with it), and uses no more threads than the CPUs it may run on. Callers of
the lower-level `Predictor` can call ``tune_malloc()`` themselves, or start Python with the
variables of ``runtime.MALLOC_ENV``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import console
from ..atomic import folder_lock
from ..config import ExperimentConfig, PredictConfig
from ..conventions import AUDIO_SUFFIXES
from ..errors import BadConfig
from .compose import build_scorer as build_scorer
from .outputs import COMBINED_TABLE, PREDICT_LOG
from .pipeline import thresholds_for
from .runtime import choose_device, keep_triton_out, limit_threads, tune_malloc
from .sharded import predict_shard
from .shards import resolve_shard
from .steps import PredictResult as PredictResult
from .steps import (
    check_recording_outputs,
    durations_of,
    plan,
    report_errors,
    scan_recordings,
    score_all,
    write_folder_files,
)
from .steps import find_recordings as find_recordings


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
    check_recording_outputs(cfg)
    shard = resolve_shard(cfg.shard)
    if shard is not None:  # shards may run elsewhere: their files name absolute paths
        cfg = dataclasses.replace(
            cfg, input_file=Path(cfg.input_file).absolute(), output_dir=cfg.output_dir.absolute()
        )
    if not cfg.fast:
        tune_malloc()
    if choose_device(cfg.device).type == "cpu":
        keep_triton_out()
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
    return PredictResult.of_run(
        output_dir, predicted, done, errors, counts, timing.hours, output_dir / COMBINED_TABLE
    )


__all__ = ["PredictResult", "build_scorer", "predict", "tune_malloc"]
