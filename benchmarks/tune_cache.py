"""A front-end tuning study with the stage-keyed spectrogram cache against the same study without.

Synthetic three-class clips; the search space varies only the front end (bins, upper band edge,
normalisation and n_fft), so trials share decoded clips and power STFTs. Prints the wall time of
each study, the ratio, and the cache's hit rate: lookups are every spectrogram a trial's epochs
and test ask for, misses are the entries the cache holds at the end (each was computed once).

    python benchmarks/tune_cache.py [--trials 6] [--epochs 2] [--clips 30]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ANIMAL_SPOT_REPORT", "0")

from animal_spot.config import (
    AudioConfig,
    DataConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    TrainConfig,
)
from animal_spot.data.prepare import prepare
from animal_spot.synthetic import synthesize_clips
from animal_spot.tuning import TuneConfig, tune

SPACE = """["spectrogram.n_freq_bins"]
choices = [32, 64]
["spectrogram.fmax_hz"]
choices = [6000.0, 7000.0]
["spectrogram.normalization"]
choices = ["db", "per_window"]
["spectrogram.n_fft"]
choices = [256, 512]
"""


def base_config(data: Path) -> ExperimentConfig:
    return ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=16000),
        spectrogram=SpectrogramConfig(
            n_fft=256, hop_length=128, n_freq_bins=32, fmin_hz=200, fmax_hz=7000,
            sequence_len_ms=500,
        ),
        data=DataConfig(data_dir=data),
        model=ModelConfig(backbone="resnet", resnet=18),
        train=TrainConfig(batch_size=16, epochs_per_eval=1, num_workers=0, seed=0),
    )  # fmt: skip


def count_rows(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--clips", type=int, default=30, help="clips per class")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tune_cache_"))
    made = synthesize_clips(
        root / "clips", classes=("tone", "upsweep", "click"), clips_per_class=args.clips,
        n_tapes=20, seed=0,
    )  # fmt: skip
    data = root / "prepared"
    prepare(data, clips_dir=made.folder, seed=0)
    (root / "space.toml").write_text(SPACE)
    sizes = {split: count_rows(data / f"{split}.csv") for split in ("train", "val", "test")}
    seconds = {}
    for use_cache in (False, True):
        out = root / ("cached" if use_cache else "uncached")
        config = TuneConfig(
            output_dir=out, n_trials=args.trials, max_epochs=args.epochs,
            space=root / "space.toml", pruner="none", use_cache=use_cache,
        )  # fmt: skip
        started = time.perf_counter()
        tune(base_config(data), config)
        seconds[use_cache] = time.perf_counter() - started
    per_trial = args.epochs * (sizes["train"] + sizes["val"]) + sizes["test"]
    lookups = args.trials * per_trial
    cache = root / "cached" / "cache"
    power = sum(1 for _ in cache.glob("power-*/*/*.npy"))
    audio = sum(1 for _ in cache.glob("audio-*/*/*.npy"))
    print(f"clips: {sizes}; {args.trials} trials × {args.epochs} epochs; space: bins, fmax, "
          "normalisation, n_fft")  # fmt: skip
    print(f"without cache: {seconds[False]:.1f} s; with cache: {seconds[True]:.1f} s; "
          f"speed-up {seconds[False] / seconds[True]:.2f}×")  # fmt: skip
    print(f"power STFT lookups {lookups}, computed {power} (hit rate {1 - power / lookups:.3f}); "
          f"decoded clips computed {audio} (each once; {power - audio} STFTs came from cached "
          "clips)")  # fmt: skip


if __name__ == "__main__":
    main()
