"""Train ResNet-18 and ConvNeXt-Tiny on Watkins10: accuracy against a sample-rate-only baseline,
and training speed against the model-only train-step limit, cold vs warm spectrogram cache.

Usage: python benchmarks/train_watkins.py [--watkins ../shared/data/watkins10] [--out DIR]
           [--epochs 25] [--convnext_epochs 8] [--threads 1]

1. ``prepare`` reads ``labels.csv`` with ``source_id`` as the group (the Watkins cut: its two
   parts stay together), merges groups whose clips share audio, splits 70/15/15 by group and
   audits the split; the audit's rate-only baseline predicts each native sample rate's majority
   training class.
2. Every clip is resampled to 5 kHz and only 50–2500 Hz is kept, which every class's original
   rate covers (5.1–166.6 kHz), so the empty band above a file's own Nyquist cannot give its
   class away. 64 linear bins, n_fft 256, hop 64, 1 s windows → input (1, 64, 78).
3. Model-only limit: a bare Adam forward + backward + step loop on random tensors of the
   training batch's shape, measured just before and just after each model trains (the
   faster of the two is the limit: the machine is shared, so the slower one met more load).
4. ResNet-18 (the fork's defaults: 5e-6 per clip × batch, beta1 0.5) trains with an empty
   ``--cache_dir``: its first epoch fills the cache (cold: decode, resample, STFT, write), later
   epochs read it (warm). ConvNeXt-Tiny (beta1 0.9) then trains on the warm cache for fewer
   epochs, from scratch (no ImageNet file offline), so with ResNet's 5e-6 per clip rather than
   the fork's 1e-6, which assumes ImageNet weights (``--convnext_lr``). Throughput is read back from
   the run's TensorBoard scalars ``train/clips_per_s`` (training batches only, validation
   excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from animal_spot.config import (
    AudioConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
    window_frames,
)
from animal_spot.data.prepare import PrepareResult, prepare
from animal_spot.models import build_model
from animal_spot.training.fit import TrainResult, train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AUDIO = AudioConfig(sample_rate_hz=5000)
SPECTROGRAM = SpectrogramConfig(
    n_fft=256, hop_length=64, n_freq_bins=64, fmin_hz=50, fmax_hz=2500, sequence_len_ms=1000
)
BATCH_SIZE = 16


def machine() -> str:
    """CPU model, whether it has native bf16 / AMX, torch version and threads."""
    text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next(
        (line.split(":", 1)[1].strip() for line in text.splitlines() if "Model name" in line),
        platform.processor() or "unknown",
    )
    flags = next((line for line in text.splitlines() if line.startswith("Flags")), "")
    native = [flag for flag in ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if flag in flags]
    return (
        f"{model}, {len(os.sched_getaffinity(0))} CPUs, {torch.get_num_threads()} torch thread(s), "
        f"flags: {', '.join(native) or 'no avx512/avx512_bf16/amx'}, torch {torch.__version__}"
    )


def experiment(
    out: Path, name: str, model: ModelConfig, epochs: int, lr: float | None = None
) -> ExperimentConfig:
    return ExperimentConfig(
        audio=AUDIO,
        spectrogram=SPECTROGRAM,
        data=DataConfig(cache_dir=out / "cache"),
        model=model,
        train=TrainConfig(
            model_dir=out / "runs",
            run_name=name,
            max_train_epochs=epochs,
            epochs_per_eval=1,
            batch_size=BATCH_SIZE,
            lr=lr,
            early_stopping_patience_epochs=epochs,
            seed=0,
        ),
    )


def model_only_limit(config: ExperimentConfig, n_classes: int, steps: int = 30) -> float:
    """Clips per second of a bare Adam fwd + bwd + step on random input of the training shape."""
    torch.manual_seed(0)
    model = build_model(config.model, n_classes).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    shape = (BATCH_SIZE, 1, SPECTROGRAM.n_freq_bins, window_frames(AUDIO, SPECTROGRAM))
    x = torch.rand(shape)
    y = torch.randint(0, n_classes, (BATCH_SIZE,))
    times = []
    for step in range(steps + 5):
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if step >= 5:  # warm-up steps left out
            times.append(time.perf_counter() - start)
    return BATCH_SIZE / statistics.median(times)


def logged(run_dir: Path, tag: str) -> list[float]:
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return [event.value for event in events.Scalars(tag)]


def summarise(result: TrainResult, limit: float, wall_s: float, *, cold: bool) -> dict[str, Any]:
    test = result.metrics["test"]
    speeds = logged(result.run_dir, "train/clips_per_s")
    loading = logged(result.run_dir, "train/data_loading_time_s")
    epoch_s = logged(result.run_dir, "train/time_s")
    warm = statistics.median(speeds[1:]) if len(speeds) > 1 else float("nan")
    return {
        "test_accuracy": test["accuracy"],
        "test_balanced_accuracy": test["mean_per_class_accuracy"],
        "test_macro_f1": test["f1"],
        "per_class_accuracy": {
            key.split("/", 1)[1]: value
            for key, value in test.items()
            if key.startswith("per_class_accuracy/")
        },
        "best_epoch": result.metrics["best_epoch"],
        "test_epoch": result.metrics.get("test_epoch"),
        "epochs_run": result.metrics["epochs_run"],
        "best_val_accuracy": result.metrics["best_val_accuracy"],
        "model_only_limit_clips_per_s": limit,
        "cold_clips_per_s": speeds[0],
        "warm_clips_per_s": warm,
        "cold_ratio_to_limit": speeds[0] / limit,
        "warm_ratio_to_limit": warm / limit,
        "cold_data_loading_s": loading[0],
        "warm_data_loading_s": statistics.median(loading[1:]) if len(loading) > 1 else float("nan"),
        "cold_data_loading_share": loading[0] / epoch_s[0],
        "warm_data_loading_share": statistics.median(
            [wait / total for wait, total in zip(loading[1:], epoch_s[1:], strict=True)]
        )
        if len(loading) > 1
        else float("nan"),
        "train_wall_s": wall_s,
        "first_epoch_cache": "cold" if cold else "warm",
    }


def report_lines(name: str, figures: dict[str, Any]) -> list[str]:
    per_class = ", ".join(f"{k} {v:.2f}" for k, v in sorted(figures["per_class_accuracy"].items()))
    return [
        f"{name}: test balanced accuracy {figures['test_balanced_accuracy']:.3f} "
        f"(accuracy {figures['test_accuracy']:.3f}, macro F1 {figures['test_macro_f1']:.3f}); "
        f"weights of epoch {figures['test_epoch']} (the best) of {figures['epochs_run']}, "
        f"{figures['train_wall_s']:.0f} s",
        f"  per class: {per_class}",
        f"  train clips/s: first epoch ({figures['first_epoch_cache']} cache) "
        f"{figures['cold_clips_per_s']:.1f} "
        f"({figures['cold_ratio_to_limit']:.2f} of the limit, data loading "
        f"{figures['cold_data_loading_s']:.1f} s = {figures['cold_data_loading_share']:.0%} of the "
        f"epoch), later epochs (warm) "
        f"{figures['warm_clips_per_s']:.1f} ({figures['warm_ratio_to_limit']:.2f}, data loading "
        f"{figures['warm_data_loading_s']:.1f} s = {figures['warm_data_loading_share']:.0%}); "
        "model-only limit "
        f"{figures['model_only_limit_clips_per_s']:.1f} (before/after training: "
        + "/".join(f"{v:.1f}" for v in figures.get("model_only_limit_before_after", []))
        + ")",
    ]


def prepared_splits(watkins: Path, out: Path) -> tuple[PrepareResult, float]:
    start = time.perf_counter()
    result = prepare(
        out / "prepared",
        csv=watkins / "labels.csv",
        path_column="file",
        label_column="class_code",
        group_column="source_id",
        seed=0,
    )
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watkins", type=Path, default=SHARED / "watkins10")
    parser.add_argument("--out", type=Path, help="work folder (default: a new temp folder)")
    parser.add_argument("--epochs", type=int, default=25, help="ResNet-18 epochs")
    parser.add_argument("--convnext_epochs", type=int, default=8, help="ConvNeXt-Tiny epochs")
    parser.add_argument("--convnext_lr", type=float, default=5e-6, help="per clip (× batch)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: steady on a shared machine)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="train_watkins_"))
    if (out / "cache").exists() and any((out / "cache").iterdir()):
        sys.exit(f"{out / 'cache'} is not empty: the first epoch must find a cold cache")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} · {machine()}", flush=True)

    prepared, prepare_s = prepared_splits(args.watkins, out)
    sizes = {name: len(clips) for name, clips in prepared.splits.items()}
    classes = sorted({clip.label for clips in prepared.splits.values() for clip in clips})
    leakage = prepared.report.sample_rate_leakage
    assert leakage is not None
    rate_balanced = statistics.mean(leakage.class_accuracy.values())
    print(
        f"prepare: {prepare_s:.0f} s; splits {sizes}; "
        f"{len(prepared.merged_groups)} pairs of groups merged (shared audio)",
        flush=True,
    )
    print(
        f"sample-rate-only baseline on {leakage.scored_on} (n={leakage.n_scored}): accuracy "
        f"{leakage.baseline_accuracy:.3f}, balanced {rate_balanced:.3f}; chance "
        f"{leakage.chance:.3f} (majority), {1 / len(classes):.3f} (balanced)",
        flush=True,
    )

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "splits": sizes,
        "merged_group_pairs": len(prepared.merged_groups),
        "rate_baseline": {
            "accuracy": leakage.baseline_accuracy,
            "balanced_accuracy": rate_balanced,
            "per_class": leakage.class_accuracy,
            "chance": leakage.chance,
        },
    }
    runs = [
        ("resnet18", ModelConfig(backbone="resnet", resnet=18), args.epochs, None),
        (
            "convnext_tiny",
            ModelConfig(backbone="convnext", convnext="tiny"),
            args.convnext_epochs,
            args.convnext_lr,
        ),
    ]
    for index, (name, model, epochs, lr) in enumerate(runs):
        if epochs < 1:
            continue
        config = experiment(out, name, model, epochs, lr)
        before = model_only_limit(config, len(classes))
        start = time.perf_counter()
        result = train(config, prepared.splits)
        wall_s = time.perf_counter() - start
        after = model_only_limit(config, len(classes))
        figures = summarise(result, max(before, after), wall_s, cold=index == 0)
        figures["model_only_limit_before_after"] = [before, after]
        figures["lr_per_clip"] = result.metrics["hyperparameters"]["base_lr"]
        results[name] = figures
        print("\n".join(report_lines(name, figures)), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
