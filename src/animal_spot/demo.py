"""The built-in example: the whole chain on synthetic calls, or on the user's own clips.

Synthetic: clips → prepare and audit → spectrograms → a trained model and its report →
thresholds chosen on one long recording → predict and evaluate another (reports of both).
``--data DIR``: the same from the user's clips folder (front end from ``suggested.toml``), and
prediction over ``--recordings`` (evaluated against ``--references``) when given.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .annotations.event import Event
from .annotations.raven import write_table
from .config import (
    AudioConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    PredictConfig,
    SpectrogramConfig,
    TrainConfig,
    load_toml,
)
from .data.manifest import Clip
from .data.prepare import PrepareResult, prepare
from .synthetic import CALL_TYPES, synthesize_clips, synthesize_recording

DEMO_AUDIO = AudioConfig(sample_rate_hz=16000)
DEMO_SPECTROGRAM = SpectrogramConfig(
    n_fft=512, hop_length=128, n_freq_bins=64, fmin_hz=200, fmax_hz=7000, sequence_len_ms=500
)
RUN_NAME = "demo"
OUTPUTS = ("runs", "predictions", "evaluation", "calibration", "spectrograms", "prepared")


@dataclass(frozen=True)
class DemoPlan:
    """What one demo run does; ``data`` None is the synthetic example."""

    out: Path
    quick: bool = False
    data: Path | None = None
    recordings: Path | None = None
    references: Path | None = None

    @property
    def epochs(self) -> int:
        if self.data is not None:
            return 5 if self.quick else 30
        return 10 if self.quick else 14

    @property
    def recording_s(self) -> float:
        return 60.0 if self.quick else 180.0


def demo_config(
    out: Path, *, epochs: int, base: ExperimentConfig | None = None, patience: int | None = None
) -> ExperimentConfig:
    """ResNet-18, batch 16, seed 0, ``epochs``; the synthetic set's 16 kHz front end by default.

    On the synthetic set validation accuracy sits at chance for the first epochs (batch norm
    settling on 240 clips), so by default the demo never stops early.
    """
    base = base or ExperimentConfig(audio=DEMO_AUDIO, spectrogram=DEMO_SPECTROGRAM)
    return dataclasses.replace(
        base,
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(
            model_dir=out / "runs",
            run_name=RUN_NAME,
            max_train_epochs=epochs,
            epochs_per_eval=1,
            batch_size=16,
            early_stopping_patience_epochs=epochs if patience is None else patience,
            seed=0,
        ),
    )


def uri(path: Path) -> str:
    return path.resolve().as_uri()


def run_demo(
    out: str | Path,
    *,
    quick: bool = False,
    data: str | Path | None = None,
    recordings: str | Path | None = None,
    references: str | Path | None = None,
) -> Iterator[str]:
    """Run the chain in ``out`` and yield one line per step for the terminal."""
    plan = DemoPlan(
        Path(out),
        quick,
        None if data is None else Path(data),
        None if recordings is None else Path(recordings),
        None if references is None else Path(references),
    )
    for name in OUTPUTS:  # a rerun starts afresh; only folders the demo writes are removed
        shutil.rmtree(plan.out / name, ignore_errors=True)
    opened: list[tuple[str, Path]] = []
    prepared = yield from _prepare(plan)
    yield from _spectrograms(plan, prepared)
    model_path = yield from _train(plan, prepared, opened)
    if plan.data is None:
        yield from _synthetic_predictions(plan, model_path, opened)
    elif plan.recordings is not None:
        yield from _predict_and_evaluate(
            plan.recordings, plan.references, model_path, plan.out, opened
        )
    else:
        yield "no --recordings given: prediction and evaluation left out"
    yield from _closing_lines(plan, opened)


def _prepare(plan: DemoPlan) -> Iterator[str]:
    if plan.data is None:
        made = synthesize_clips(plan.out / "clips", clips_per_class=60, seed=0)
        total = sum(made.counts.values())
        yield f"synthesised {total} clips of {', '.join(made.counts)} in {made.folder}"
        source = made.folder
    else:
        source = plan.data
    result = prepare(plan.out / "prepared", clips_dir=source, seed=0)
    yield result.format_text()
    yield f"wrote {result.out_dir}/train.csv, val.csv, test.csv, audit.json and suggested.toml"
    return result


def _spectrograms(plan: DemoPlan, prepared: PrepareResult) -> Iterator[str]:
    """One clip of each class drawn in Hz and seconds, as a first look at the data."""
    from .reporting.excerpt import read_excerpt, spectrogram_png

    first: dict[str, Clip] = {}
    for clip in prepared.splits["train"]:
        first.setdefault(clip.label, clip)
    for label, clip in sorted(first.items()):
        start_s = clip.start_s or 0.0
        end_s = clip.end_s if clip.end_s is not None else start_s + 10.0
        excerpt = read_excerpt(clip.path, start_s, end_s, padding_s=0.0)
        path = plan.out / "spectrograms" / f"{_safe_name(label)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(spectrogram_png(excerpt, title=f"{label}: {clip.path.name}"))
        yield f"wrote {path}"


def _safe_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label) or "_"


def _train(
    plan: DemoPlan, prepared: PrepareResult, opened: list[tuple[str, Path]]
) -> Iterator[str]:
    from .training.fit import train

    base = ExperimentConfig(audio=DEMO_AUDIO, spectrogram=DEMO_SPECTROGRAM)
    if plan.data is not None and prepared.suggested_config is not None:
        base = load_toml(prepared.suggested_config)  # the front end prepare fitted to the data
        yield f"front end from {prepared.suggested_config}"
    # The data folder recorded in the run lets its report show the audit.
    base = dataclasses.replace(base, data=DataConfig(data_dir=prepared.out_dir))
    patience = None if plan.data is None else max(5, plan.epochs // 3)
    config = demo_config(plan.out, epochs=plan.epochs, base=base, patience=patience)
    trained = train(config, prepared.splits, report=True)
    test = trained.metrics.get("test", {})
    yield (
        f"trained ResNet-18: test accuracy {test.get('accuracy', float('nan')):.3f}, "
        "mean per-class "
        f"accuracy {test.get('mean_per_class_accuracy', float('nan')):.3f} (weights of epoch "
        f"{trained.metrics.get('test_epoch')} counted from 0, the best on validation)"
    )
    yield f"wrote {trained.model_path} (TensorBoard: tensorboard --logdir {trained.run_dir})"
    opened.append(("training report", trained.run_dir / "report.html"))
    return trained.model_path


def demo_recording(folder: Path, name: str, duration_s: float, seed: int) -> tuple[Path, Path]:
    """A recording with a call every ~3 s in ``folder/recordings``, its truth in ``references``."""
    rng = np.random.default_rng(seed)
    calls = []
    for start_s in np.arange(1.0, duration_s - 1.0, 3.0):
        kind = str(rng.choice(CALL_TYPES))
        calls.append((float(start_s + rng.uniform(0, 1)), float(rng.uniform(0.25, 0.4)), kind))
    recording = synthesize_recording(
        folder / "recordings" / f"{name}.wav",
        duration_s,
        calls,
        sample_rate_hz=DEMO_AUDIO.sample_rate_hz,
        seed=seed + 1,
    )
    events = [Event(s, s + d, kind) for s, d, kind in calls]
    table = write_table(events, folder / "references" / f"{name}.selections.txt")
    return recording, table


def _predict_config(model_path: Path, recordings: Path, output_dir: Path) -> PredictConfig:
    return PredictConfig(
        model_path=(model_path,),
        input_file=recordings,
        output_dir=output_dir,
        hop_s=0.25,
        max_gap_s=0.1,
        overwrite=True,
    )


def _synthetic_predictions(
    plan: DemoPlan, model_path: Path, opened: list[tuple[str, Path]]
) -> Iterator[str]:
    """Thresholds from a calibration recording, then predict and evaluate a second one."""
    from .evaluation import evaluate
    from .prediction.api import predict

    calibration = plan.out / "calibration"
    recording, table = demo_recording(calibration, "site0", plan.recording_s, seed=11)
    yield f"synthesised a {plan.recording_s:.0f} s calibration recording: {recording}"
    scored = predict(
        _predict_config(model_path, recording.parent, calibration / "predictions"),
        progress=False,
        report=False,
    )
    chosen = evaluate(
        scored.output_dir,
        table.parent,
        scores=scored.output_dir,
        output_dir=calibration / "evaluation",
        write_thresholds_to=model_path,
        report=False,
    )
    thresholds = ", ".join(f"{k} {c.threshold:.2f}" for k, c in sorted(chosen.thresholds.items()))
    yield (
        f"chose thresholds (max F1) on the calibration recording only, written to {model_path}: "
        f"{thresholds}"
    )
    recording, table = demo_recording(plan.out, "site1", plan.recording_s, seed=1)
    yield (
        f"synthesised a {plan.recording_s:.0f} s test recording with calls at known times "
        f"(not used to choose anything): {recording}"
    )
    yield from _predict_and_evaluate(recording.parent, table.parent, model_path, plan.out, opened)


def _predict_and_evaluate(
    recordings: Path,
    references: Path | None,
    model_path: Path,
    out: Path,
    opened: list[tuple[str, Path]],
) -> Iterator[str]:
    from .evaluation import evaluate
    from .prediction.api import predict

    result = predict(_predict_config(model_path, recordings, out / "predictions"), report=True)
    yield f"predicted: {result.summary()} → {result.output_dir}"
    opened.append(("prediction report", result.output_dir / "report.html"))
    if references is None:
        yield "no --references given: evaluation left out"
        return
    scored = evaluate(
        result.output_dir,
        references,
        scores=result.output_dir,
        output_dir=out / "evaluation",
        report=True,
    )
    yield scored.format_text()
    opened.append(("evaluation report", out / "evaluation" / "report.html"))


def _closing_lines(plan: DemoPlan, opened: list[tuple[str, Path]]) -> Iterator[str]:
    yield ""
    yield "open these in a browser (they work offline):"
    for what, path in opened:
        if path.is_file():
            yield f"  {what}: {uri(path)}"
    if (plan.out / "predictions").is_dir():
        yield (
            "listen to the detections and mark them right or wrong: "
            f"animal-spot review {plan.out / 'predictions'}"
        )
