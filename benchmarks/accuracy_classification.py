"""Clip classification under shift: Watkins-10 species and Bengalese finch syllables.

Watkins-10: split by ``source_id`` with groups that share audio merged (as ``prepare`` does),
every clip resampled to 5 kHz and 50–2500 Hz kept, so the empty band above a file's own
Nyquist cannot give its class away; the test split is also scored at ±6 dB, beside a baseline
that sees only each file's native sample rate. Bengalese finch: every syllable of
``syllables.csv`` a clip centred in a 0.3 s window, split by song.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accuracy_common import (
    Recipe,
    balanced_accuracy,
    bootstrap_interval,
    macro_f1,
    per_class_accuracy,
    predict_clips,
    train_once,
    with_seed,
)
from animal_spot import audio
from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.manifest import Clip, class_names
from animal_spot.data.prepare import read_source, split_and_audit
from animal_spot.data.splits import split_by_group

WATKINS = ExperimentConfig(
    audio=AudioConfig(sample_rate_hz=5000),
    spectrogram=SpectrogramConfig(
        n_fft=256,
        hop_length=64,
        n_freq_bins=64,
        fmin_hz=50,
        fmax_hz=2500,
        sequence_len_ms=1000,
    ),
    model=ModelConfig(backbone="resnet", resnet=18),
    train=TrainConfig(epochs_per_eval=1, batch_size=16),
)
FINCH_WINDOW_S = 0.3
FINCH = ExperimentConfig(
    audio=AudioConfig(sample_rate_hz=32000),
    spectrogram=SpectrogramConfig(
        n_fft=512,
        hop_length=128,
        n_freq_bins=64,
        fmin_hz=500,
        fmax_hz=10000,
        sequence_len_ms=FINCH_WINDOW_S * 1000,
    ),
    model=ModelConfig(backbone="resnet", resnet=18),
    train=TrainConfig(epochs_per_eval=1, batch_size=32),
)
SHIFT_GAINS_DB = (-6, 6)


@dataclass
class ClassificationRun:
    """One recipe, one seed: test figures at 0 dB and at each shifted gain."""

    recipe: str
    seed: int
    classes: list[str]
    n_test: int = 0
    balanced: dict[int, float] = field(default_factory=dict)
    f1: dict[int, float] = field(default_factory=dict)
    per_class: list[float] = field(default_factory=list)
    interval: tuple[float, float] = (float("nan"), float("nan"))
    best_epoch: int = 0
    seconds: float = 0.0


def watkins_splits(data: Path) -> tuple[dict[str, list[Clip]], dict[str, int]]:
    """Group split with shared-audio merging, and each file's native rate."""
    clips, problems = read_source(
        csv=data / "labels.csv",
        path_column="file",
        label_column="class_code",
        group_column="source_id",
    )
    for problem in problems:
        print(f"    prepare: {problem}")
    splits, _, dropped, merges = split_and_audit(clips, seed=0)
    print(f"    watkins: {len(merges)} pairs of groups merged, {len(dropped)} clips dropped")
    rates = {str(c.path): audio.info(c.path).sample_rate_hz for s in splits.values() for c in s}
    return splits, rates


def rate_baseline(splits: dict[str, list[Clip]], rates: dict[str, int]) -> tuple[float, float]:
    """Balanced accuracy and macro-F1 of the majority training class of each native rate."""
    classes = class_names([c for s in splits.values() for c in s])
    by_rate: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for clip in splits["train"]:
        by_rate[rates[str(clip.path)]][clip.label] += 1
    overall = collections.Counter(c.label for c in splits["train"]).most_common(1)[0][0]
    truth = np.asarray([classes.index(c.label) for c in splits["test"]])
    guess = []
    for clip in splits["test"]:
        counter = by_rate.get(rates[str(clip.path)])
        guess.append(classes.index(counter.most_common(1)[0][0] if counter else overall))
    guessed = np.asarray(guess)
    n = len(classes)
    return balanced_accuracy(truth, guessed, n), macro_f1(truth, guessed, n)


def finch_splits(data: Path, max_songs: int | None = None) -> dict[str, list[Clip]]:
    """Every syllable a clip centred in the window, labelled by its type, grouped by song."""
    clips = []
    songs: set[str] = set()
    with (data / "syllables.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            songs.add(row["wav"])
            if max_songs is not None and len(songs) > max_songs:
                break
            centre = (float(row["onset_s"]) + float(row["offset_s"])) / 2
            start = max(0.0, centre - FINCH_WINDOW_S / 2)
            path = data / "Wave" / row["wav"]
            clips.append(
                Clip(path, f"syl{row['label']}", row["wav"], start, start + FINCH_WINDOW_S)
            )
    return split_by_group(clips, (0.7, 0.15, 0.15), 0)


def run_classification(
    task: str, recipe: Recipe, seed: int, splits, base: ExperimentConfig, work: Path, args
) -> ClassificationRun:
    classes = class_names([c for s in splits.values() for c in s])
    run = ClassificationRun(recipe.name, seed, classes, n_test=len(splits["test"]))
    config = recipe.apply(base)
    run_dir = work / task / recipe.name.replace(" ", "_") / f"seed{seed}"
    epochs = args.watkins_epochs if task == "watkins" else args.finch_epochs
    epochs = int(recipe.overrides.get("train.max_train_epochs", epochs))  # e.g. a cheap head
    config = dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train,
            model_dir=run_dir,
            max_train_epochs=epochs,
            early_stopping_patience_epochs=epochs,
        ),
        data=dataclasses.replace(config.data, cache_dir=args.cache_dir),
    )
    start = time.perf_counter()
    trained = train_once(with_seed(config, seed, "model"), splits)
    run.best_epoch = int(trained.metrics["best_epoch"])
    truth = np.asarray([classes.index(c.label) for c in splits["test"]])
    for gain in (0, *SHIFT_GAINS_DB):
        guessed = predict_clips(trained.model_path, splits["test"], classes, gain_db=gain)
        run.balanced[gain] = balanced_accuracy(truth, guessed, len(classes))
        run.f1[gain] = macro_f1(truth, guessed, len(classes))
        if gain == 0:
            run.per_class = per_class_accuracy(truth, guessed, len(classes))
            run.interval = bootstrap_interval(truth, guessed, len(classes))
    run.seconds = time.perf_counter() - start
    print(
        f"    {task} {recipe.name} seed {seed}: balanced accuracy {run.balanced[0]:.3f} "
        f"[{run.interval[0]:.3f}, {run.interval[1]:.3f}], macro-F1 {run.f1[0]:.3f}; at "
        + ", ".join(f"{g:+d} dB {run.balanced[g]:.3f}" for g in SHIFT_GAINS_DB)
        + f"; best epoch {run.best_epoch}, {run.seconds:.0f} s",
        flush=True,
    )
    return run
