"""soxr (this package) against resampy ``kaiser_best`` (ANIMAL-SPOT's predict.py) on real files.

Recordings not at a model's rate are resampled before the front end: ANIMAL-SPOT with resampy
``kaiser_best``, this package with soxr (``--resample_quality``, default HQ). This prints how
far apart the two resampled signals are, and how far apart the window probabilities of a
ResNet-18 with ANIMAL-SPOT's windows (the path a ``.pk`` takes) are on them. The network has
seeded random weights (no trained ``.pk`` ships with the data), so the figures speak for the
front end, not for a detector's decisions; the spread of the scores is printed beside them.

    pip install resampy   # not a dependency of the package
    python benchmarks/resampling.py [--files 5] [--rate 44100] [--quality HQ]

Default input: the first songs of ``../shared/data/bengalese_finch/Wave`` (32 kHz → 44.1 kHz).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from animal_spot import audio
from animal_spot.bundle import ModelBundle
from animal_spot.config import AudioConfig, ExperimentConfig, ModelConfig
from animal_spot.models import build_model
from animal_spot.prediction.predictor import Predictor

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def resampy_read(path: Path, rate: int) -> np.ndarray:
    import resampy

    samples, native = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    return resampy.resample(mono, native, rate, filter="kaiser_best").astype(np.float32)


def probabilities(predictor: Predictor, samples: np.ndarray, rate: int, folder: Path) -> np.ndarray:
    path = folder / "resampled.wav"
    sf.write(str(path), samples, rate, subtype="FLOAT")  # at the model's rate: read as it is
    return predictor.score_file(path).track.probs[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "bengalese_finch" / "Wave")
    parser.add_argument("--files", type=int, default=5)
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--quality", default="HQ")
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.wav"))[: args.files]
    torch.manual_seed(0)
    config = ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=args.rate), model=ModelConfig(backbone="resnet", resnet=18)
    )
    bundle = ModelBundle(config, ["noise", "target"], build_model(config.model, 2).eval())
    predictor = Predictor(bundle, hop_s=0.5, legacy_windows=True, precision="32")
    print(f"{len(files)} files from {args.folder}, → {args.rate} Hz, soxr {args.quality}")
    print("| file | native Hz | s | max abs sample diff | diff / signal (dB) | windows "
          "| max abs prob diff | prob spread (std) |")  # fmt: skip
    print("|---|--:|--:|--:|--:|--:|--:|--:|")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            native = sf.info(str(path)).samplerate
            ours = audio.read(path, args.rate, quality=args.quality)
            theirs = resampy_read(path, args.rate)
            n = min(len(ours), len(theirs))
            diff = ours[:n] - theirs[:n]
            ratio_db = 10 * np.log10(np.mean(diff**2) / max(np.mean(theirs[:n] ** 2), 1e-20))
            p_ours = probabilities(predictor, ours[:n], args.rate, Path(tmp))
            p_theirs = probabilities(predictor, theirs[:n], args.rate, Path(tmp))
            prob_diff = float(np.abs(p_ours - p_theirs).max())
            worst = max(worst, prob_diff)
            print(
                f"| {path.name} | {native} | {n / args.rate:.1f} | {np.abs(diff).max():.2e} "
                f"| {ratio_db:.1f} | {len(p_ours)} | {prob_diff:.2e} | {p_theirs.std():.2e} |"
            )
    print(f"largest probability difference: {worst:.2e}")


if __name__ == "__main__":
    main()
