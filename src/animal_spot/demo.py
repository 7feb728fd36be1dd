"""The built-in example: synthetic calls → prepare and audit → spectrograms → a trained model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .annotations.event import Event
from .annotations.raven import write_table
from .config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    PredictConfig,
    SpectrogramConfig,
    TrainConfig,
)
from .data.dataset import ClipDataset
from .data.prepare import prepare
from .synthetic import CALL_TYPES, synthesize_clips, synthesize_recording

DEMO_AUDIO = AudioConfig(sample_rate_hz=16000)
DEMO_SPECTROGRAM = SpectrogramConfig(
    n_fft=512, hop_length=128, n_freq_bins=64, fmin_hz=200, fmax_hz=7000, sequence_len_ms=500
)


def demo_config(out: Path, *, epochs: int) -> ExperimentConfig:
    """A small, fast config for the synthetic set: 16 kHz, 64 bins, 0.5 s windows, ResNet-18."""
    return ExperimentConfig(
        audio=DEMO_AUDIO,
        spectrogram=DEMO_SPECTROGRAM,
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(
            model_dir=out / "runs",
            run_name="demo",
            max_train_epochs=epochs,
            epochs_per_eval=1,
            batch_size=16,
            early_stopping_patience_epochs=epochs,
            seed=0,
        ),
    )


def save_spectrogram_png(spectrogram: torch.Tensor, title: str, path: Path) -> Path:
    """One ``(1, F, T)`` spectrogram as a PNG, low frequencies at the bottom."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(spectrogram[0].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_xlabel("frame")
    ax.set_ylabel("frequency bin")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_demo(out: str | Path, *, quick: bool = False) -> Iterator[str]:
    """Run the chain in ``out`` and yield one line per step for the terminal."""
    out = Path(out)
    for previous in (out / "runs" / "demo", out / "predictions", out / "evaluation"):
        shutil.rmtree(previous, ignore_errors=True)  # a rerun starts afresh
    made = synthesize_clips(out / "clips", clips_per_class=60, seed=0)
    total = sum(made.counts.values())
    yield f"synthesised {total} clips of {', '.join(made.counts)} in {made.folder}"
    result = prepare(out / "prepared", clips_dir=made.folder, seed=0)
    yield result.format_text()
    yield f"wrote {result.out_dir}/train.csv, val.csv, test.csv and audit.json"
    classes = sorted(made.counts)
    dataset = ClipDataset(result.splits["train"], classes, DEMO_AUDIO, DEMO_SPECTROGRAM)
    for label in classes:
        index = next(i for i, clip in enumerate(dataset.clips) if clip.label == label)
        png = save_spectrogram_png(dataset[index][0], label, out / "spectrograms" / f"{label}.png")
        yield f"wrote {png}"
    from .training.fit import train

    config = demo_config(out, epochs=10 if quick else 14)
    trained = train(config, result.splits)
    test = trained.metrics.get("test", {})
    yield (
        f"trained ResNet-18: test accuracy {test.get('accuracy', float('nan')):.3f}, "
        "mean per-class "
        f"accuracy {test.get('mean_per_class_accuracy', float('nan')):.3f} (weights of epoch "
        f"{trained.metrics.get('test_epoch')} counted from 0, the best on validation)"
    )
    yield f"wrote {trained.model_path} (TensorBoard: tensorboard --logdir {trained.run_dir})"
    yield from predict_and_evaluate(out, trained.model_path, duration_s=60 if quick else 180)


def demo_recording(out: Path, duration_s: float) -> tuple[Path, Path]:
    """A recording with a call every ~3 s and its reference Raven table."""
    rng = np.random.default_rng(1)
    calls = []
    for start_s in np.arange(1.0, duration_s - 1.0, 3.0):
        kind = str(rng.choice(CALL_TYPES))
        calls.append((float(start_s + rng.uniform(0, 1)), float(rng.uniform(0.25, 0.4)), kind))
    recording = synthesize_recording(
        out / "recordings" / "site1.wav", duration_s, calls, sample_rate_hz=16000, seed=2
    )
    events = [Event(s, s + d, kind) for s, d, kind in calls]
    table = write_table(events, out / "references" / "site1.selections.txt")
    return recording, table


def predict_and_evaluate(out: Path, model_path: Path, *, duration_s: float) -> Iterator[str]:
    """Score a synthetic recording with the trained model, then evaluate against its truth."""
    from .evaluation import evaluate
    from .prediction.api import predict

    recording, table = demo_recording(out, duration_s)
    yield f"synthesised a {duration_s:.0f} s recording with calls at known times: {recording}"
    config = PredictConfig(
        model_path=(model_path,),
        input_file=recording.parent,
        output_dir=out / "predictions",
        hop_s=0.25,
        max_gap_s=0.1,
        overwrite=True,
    )
    result = predict(config, progress=False)
    yield f"predicted: {result.summary()} → {result.output_dir}"
    scored = evaluate(
        result.output_dir,
        table.parent,
        scores=result.output_dir,
        output_dir=out / "evaluation",
    )
    yield scored.format_text()
