"""Front-end speed: hours of audio → spectrograms per second, and cold vs warm spectrogram cache.

Usage: python benchmarks/frontend.py [--hours 1] [--watkins ../shared/data/watkins10]

1. Writes a synthetic mono 16-bit WAV of ``--hours`` at 44.1 kHz, then streams it in 60 s blocks
   through read → STFT (1024/172) → 256 linear bins 500–10000 Hz → dB → 0/1 normalisation,
   with the default front end, and prints hours of audio per second of wall time.
2. One pass of ``ClipDataset`` over every Watkins clip (resampled to 44.1 kHz) with an empty
   cache (cold: decode, resample, STFT, write ``.npy``) and again (warm: read ``.npy``), and
   without a cache, and prints the times and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from animal_spot import audio
from animal_spot.config import AudioConfig, SpectrogramConfig
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import Clip
from animal_spot.frontend.spectrogram import Frontend

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write_long_wav(path: Path, hours: float, sample_rate_hz: int = 44100) -> Path:
    rng = np.random.default_rng(0)
    block = 60 * sample_rate_hz
    with sf.SoundFile(str(path), "w", sample_rate_hz, 1, subtype="PCM_16") as handle:
        for _ in range(int(hours * 60)):
            handle.write((rng.standard_normal(block) * 0.05).astype(np.float32))
    return path


def stream_spectrograms(path: Path, frontend: Frontend) -> int:
    frames = 0
    blocks = audio.stream(path, frontend.sample_rate_hz, block_s=60.0)
    for power in frontend.stream_power(blocks):
        frames += frontend.finish(power).shape[-1]
    return frames


def time_long_file(hours: float) -> None:
    frontend = Frontend(AudioConfig(), SpectrogramConfig())
    with tempfile.TemporaryDirectory() as tmp:
        path = write_long_wav(Path(tmp) / "long.wav", hours)
        start = time.perf_counter()
        frames = stream_spectrograms(path, frontend)
        seconds = time.perf_counter() - start
    print(f"long file: {hours:g} h at 44.1 kHz → {frames} frames in {seconds:.2f} s")
    print(f"  {hours / seconds:.3f} hours of audio per second ({seconds / hours:.2f} s per hour)")


def one_pass(dataset: ClipDataset) -> float:
    start = time.perf_counter()
    for index in range(len(dataset)):
        dataset[index]
    return time.perf_counter() - start


def time_cache(watkins: Path) -> None:
    with (watkins / "labels.csv").open(newline="") as handle:
        clips = [
            Clip(watkins / row["file"], row["class_code"], row["source_id"])
            for row in csv.DictReader(handle)
        ]
    classes = sorted({clip.label for clip in clips})
    with tempfile.TemporaryDirectory() as cache_dir:
        cached = ClipDataset(
            clips, classes, AudioConfig(), SpectrogramConfig(), cache_dir=cache_dir
        )
        cold = one_pass(cached)
        warm = one_pass(cached)
        size_mb = cached.cache.size_bytes() / 1e6 if cached.cache else 0.0
    uncached = one_pass(ClipDataset(clips, classes, AudioConfig(), SpectrogramConfig()))
    print(f"watkins10: {len(clips)} clips, one pass of ClipDataset (44.1 kHz, 1024/172, 256 bins)")
    print(
        f"  no cache {uncached:.2f} s, cold cache {cold:.2f} s, warm cache {warm:.2f} s "
        f"({size_mb:.0f} MB of .npy)"
    )
    print(f"  warm/cold speed-up {cold / warm:.1f}×, warm vs no cache {uncached / warm:.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--watkins", type=Path, default=SHARED / "watkins10")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"machine: {cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    time_long_file(args.hours)
    if (args.watkins / "labels.csv").is_file():
        time_cache(args.watkins)
    else:
        print(f"watkins10 not found at {args.watkins}: cache timing skipped")


if __name__ == "__main__":
    main()
