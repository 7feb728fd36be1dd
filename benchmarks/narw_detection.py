"""NARW up-call detection: train a target/noise detector, predict 6 recordings, score the events.

Usage: python benchmarks/narw_detection.py [--data ../shared/data/narw_upcalls] [--epochs 10]

Data: 3 recordings of 15 min with North Atlantic right whale up-calls (Raven tables) and 3 of
background only (no calls), all 2 kHz. The detector trains on the calls of the first two call
recordings (each selection widened to a 2 s window, shifted copies as augmentation) and on noise
clips drawn from the same recordings outside the boxes, plus some noise clips from one
background recording; the third call recording and the other two background recordings are
held out of training entirely. Every recording is then predicted (exact path, ``--fast`` and
``--cascade``), and the events are matched one to one with the Raven selections (time IoU
≥ 0.3, or onsets within ``--onset_s``). Printed per set: recall, precision and false
positives per hour, with counts, at a few thresholds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from animal_spot import audio
from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table
from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    PredictConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip
from animal_spot.data.prepare import read_source
from animal_spot.evaluation import match_events
from animal_spot.prediction.api import predict
from animal_spot.prediction.events import from_scores
from animal_spot.prediction.scores import read_scores
from animal_spot.training.fit import train

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "narw_upcalls"
TRAIN_STEMS = ("NOPP6_EST_20090328_000000", "NOPP6_EST_20090328_001500")
NOISE_STEM = "GSC_2000-05-19_00-00-00"  # a background recording that lends noise to training
WINDOW_S = 2.0
SHIFTS_S = (-0.5, -0.25, 0.0, 0.25, 0.5)  # call clips shifted inside their window
AUDIO = AudioConfig(sample_rate_hz=2000)
SPECTROGRAM = SpectrogramConfig(
    n_fft=256,
    hop_length=64,  # 32 ms: 62 frames per 2 s window
    n_freq_bins=64,
    fmin_hz=50,
    fmax_hz=400,
    sequence_len_ms=WINDOW_S * 1000,
)


def training_clips(
    data: Path, work: Path, noise_per_selection: float, background_noise: int
) -> dict[str, list[Clip]]:
    """Calls (shifted copies) and noise of the training recordings, 85 / 15 % train / val.

    ``background_noise`` more noise clips come from one background recording (``NOISE_STEM``),
    so that the detector meets another site's noise; the other two stay held out.
    """
    tables = work / "train_tables"
    tables.mkdir()
    for stem in TRAIN_STEMS:  # the held-out recording has no table here, so it is not used
        shutil.copy(data / "raven" / f"{stem}.Table.1.selections.txt", tables)
    clips, problems = read_source(
        raven_dir=tables,
        audio_dir=data / "narw",
        window_s=WINDOW_S,
        noise_per_selection=noise_per_selection,
        margin_s=1.0,
        seed=0,
    )
    for problem in problems:
        print(f"  prepare: {problem}")
    augmented = []
    for clip in clips:
        shifts = SHIFTS_S if clip.label != "noise" else (0.0,)
        for shift in shifts:
            start = max(0.0, (clip.start_s or 0.0) + shift)
            augmented.append(dataclasses.replace(clip, start_s=start, end_s=start + WINDOW_S))
    rng = np.random.default_rng(0)
    background = data / "background" / f"{NOISE_STEM}.wav"
    if background_noise and background.is_file():
        duration_s = audio.info(background).duration_s
        for start in rng.uniform(0, duration_s - WINDOW_S, background_noise):
            start = round(float(start), 3)
            augmented.append(Clip(background, "noise", NOISE_STEM, start, start + WINDOW_S))
    order = rng.permutation(len(augmented))
    n_val = len(augmented) * 15 // 100
    return {
        "train": [augmented[i] for i in order[n_val:]],
        "val": [augmented[i] for i in order[:n_val]],
    }


def counts(clips: list[Clip]) -> str:
    labels = [c.label for c in clips]
    return ", ".join(f"{label} {labels.count(label)}" for label in sorted(set(labels)))


def evaluate(
    predicted: dict[str, list[Event]], references: dict[str, list[Event]], onset_s: float
) -> tuple[int, int, int, int]:
    """(true positives, predictions, references, false positives), class-agnostic."""
    tp = n_pred = n_ref = 0
    for stem, events in predicted.items():
        refs = [dataclasses.replace(e, label="call") for e in references.get(stem, [])]
        preds = [dataclasses.replace(e, label="call") for e in events]
        matching = match_events(preds, refs, iou_threshold=0.3, onset_tolerance_s=onset_s)
        tp += len(matching.pairs)
        n_pred += len(preds)
        n_ref += len(refs)
    return tp, n_pred, n_ref, n_pred - tp


def report(label: str, figures: tuple[int, int, int, int], hours: float) -> str:
    tp, n_pred, n_ref, fp = figures
    recall = f"{tp / n_ref:.2f} ({tp}/{n_ref})" if n_ref else "-"
    precision = f"{tp / n_pred:.2f} ({tp}/{n_pred})" if n_pred else "- (0 events)"
    return (
        f"    {label:<34} recall {recall:<14} precision {precision:<16} "
        f"FP/h {fp / hours:6.1f} ({fp} in {hours:.2f} h)"
    )


def score_sets(out: Path, recordings: dict[str, Path], refs: dict[str, list[Event]], args) -> None:
    """Events at a few thresholds from the written window scores, per recording set."""
    calls = [s for s in recordings if s in refs]
    sets = {
        "training recordings (seen)": [s for s in calls if s in TRAIN_STEMS],
        "held-out call recording": [s for s in calls if s not in TRAIN_STEMS],
        "background lending noise (seen)": [s for s in recordings if s == NOISE_STEM],
        "held-out background (no calls)": [
            s for s in recordings if s not in refs and s != NOISE_STEM
        ],
    }
    tracks = {s: read_scores(out / f"{s}.scores.csv")[0] for s in recordings}
    for threshold in args.thresholds:
        print(f"  threshold {threshold}:")
        for label, stems in sets.items():
            events = {
                s: from_scores(tracks[s], {"target": threshold}, span=args.event_span)
                for s in stems
            }
            hours = sum(float(tracks[s].end_s.max()) for s in stems) / 3600
            print(report(label, evaluate(events, refs, args.onset_s), hours))


def compare_scores(exact_dir: Path, out: Path, recordings: dict[str, Path]) -> None:
    """How far a faster path's window scores are from the exact path's, over all recordings."""
    exact = [read_scores(exact_dir / f"{s}.scores.csv")[0].probs for s in recordings]
    other = [read_scores(out / f"{s}.scores.csv")[0].probs for s in recordings]
    delta = np.abs(np.concatenate(exact) - np.concatenate(other))
    flips = sum(int((a.argmax(1) != b.argmax(1)).sum()) for a, b in zip(exact, other, strict=True))
    print(
        f"    window scores vs exact: max |Δp| {delta.max():.3f}, mean {delta.mean():.4f}, "
        f"argmax changes {flips} of {len(delta)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--noise_per_selection", type=float, default=16.0)
    parser.add_argument("--background_noise", type=int, default=120)
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--onset_s", type=float, default=0.5)
    parser.add_argument("--event_span", default="centre", choices=["centre", "window"])
    parser.add_argument("--min_max_norm", action="store_true", help="(--fast then approximates)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--work", type=Path, help="keep the run here (default: a temp folder)")
    args = parser.parse_args()
    print(f"{datetime.date.today()} · NARW up-call detector · {args.data}")
    with tempfile.TemporaryDirectory() as name:
        work = args.work or Path(name)
        work.mkdir(parents=True, exist_ok=True)
        splits = training_clips(args.data, work, args.noise_per_selection, args.background_noise)
        print(f"  clips: train {counts(splits['train'])}; val {counts(splits['val'])}")
        config = ExperimentConfig(
            audio=AUDIO,
            spectrogram=dataclasses.replace(SPECTROGRAM, min_max_norm=args.min_max_norm),
            model=ModelConfig(backbone="resnet", resnet=18),
            train=TrainConfig(
                task="detector",
                model_dir=work / "runs",
                run_name=f"narw-{time.strftime('%H%M%S')}",
                max_train_epochs=args.epochs,
                epochs_per_eval=1,
                batch_size=16,
                lr=2e-5,
                weighted_sampling=True,
                early_stopping_patience_epochs=args.epochs,
                seed=0,
            ),
        )
        start = time.perf_counter()
        trained = train(config, splits)
        metrics = trained.metrics
        print(
            f"  trained ResNet-18 in {time.perf_counter() - start:.0f} s, best epoch "
            f"{metrics['best_epoch']}, val accuracy {metrics['best_val_accuracy']:.3f}"
        )
        recordings = {p.stem: p for p in sorted(args.data.glob("*/*.wav"))}
        refs = {p.name.split(".")[0]: read_table(p) for p in (args.data / "raven").glob("*.txt")}
        audio_dir = work / "audio"
        audio_dir.mkdir(exist_ok=True)
        for path in recordings.values():
            (audio_dir / path.name).unlink(missing_ok=True)
            (audio_dir / path.name).symlink_to(path.resolve())
        for mode in ("exact", "fast", "cascade"):
            out = work / mode
            predict_config = PredictConfig(
                model_path=(trained.model_path,), input_file=audio_dir, output_dir=out,
                hop_s=args.hop, event_span=args.event_span, overwrite=True,
                fast=mode == "fast", cascade=mode == "cascade",
            )  # fmt: skip
            start = time.perf_counter()
            result = predict(predict_config, progress=False)
            seconds = time.perf_counter() - start
            print(
                f"  {mode if mode == 'exact' else '--' + mode} prediction: "
                f"{len(result.predicted)} recordings, {result.hours:.2f} h in {seconds:.0f} s "
                f"({result.hours * 3600 / seconds:.0f}× real time)"
            )
            score_sets(out, recordings, refs, args)
            if mode != "exact":
                compare_scores(work / "exact", out, recordings)


if __name__ == "__main__":
    main()
