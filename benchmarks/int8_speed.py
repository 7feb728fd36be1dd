"""int8 prediction against fp32 (PyTorch and ONNX Runtime) on the exact path, end to end.

A ResNet-18 with seeded random weights at the fork's defaults (44.1 kHz, n_fft 1024, hop 172,
256 bins, 1 s windows, 0.5 s hop) scores one synthesised recording three ways, in interleaved
rounds: fp32 under PyTorch, fp32 under ONNX Runtime, and the int8 network ONNX Runtime's static
quantizer makes from it (calibrated on synthetic 1 s clips). Prints × real time per round, the
ratios, the CPU's int8 instructions, and how the int8 windows agree with fp32 (argmax and the
largest probability difference; random weights put every score near 0.5, so agreement here
is a harder test than on a trained model, whose figures `predict --precision int8` checks).

    python benchmarks/int8_speed.py [--minutes 10] [--rounds 2] [--batch_size 32]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from animal_spot.bundle import ModelBundle
from animal_spot.config import ExperimentConfig, ModelConfig
from animal_spot.models import build_model
from animal_spot.prediction.int8 import quantize
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.runtime import limit_threads, tune_malloc

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_flags() -> str:
    try:
        words = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return "unknown"
    return " ".join(flag for flag in FLAGS if flag in words) or "none of " + ", ".join(FLAGS)


def recording(path: Path, minutes: float, rate: int) -> None:
    rng = np.random.default_rng(0)
    n = int(minutes * 60 * rate)
    samples = 0.01 * rng.standard_normal(n)
    t = np.arange(rate // 2) / rate
    for start in rng.integers(0, n - rate, size=int(minutes * 20)):  # 20 calls a minute
        samples[start : start + len(t)] += 0.3 * np.sin(2 * np.pi * rng.uniform(1e3, 8e3) * t)
    sf.write(str(path), samples.astype(np.float32), rate, subtype="PCM_16")


def calibration_inputs(predictor: Predictor, n: int) -> np.ndarray:
    """Spectrograms of ``n`` synthetic 1 s clips (noise, some with a tone), model-shaped."""
    rng = np.random.default_rng(1)
    rate = predictor.frontend.sample_rate_hz
    clips = []
    for i in range(n):
        samples = 0.01 * rng.standard_normal(predictor.frontend.window_samples())
        if i % 2:
            t = np.arange(len(samples)) / rate
            samples += 0.3 * np.sin(2 * np.pi * rng.uniform(1e3, 8e3) * t)
        clips.append(predictor.frontend(torch.from_numpy(samples.astype(np.float32)))[None])
    return torch.stack(clips).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--calibration_clips", type=int, default=64)
    args = parser.parse_args()
    tune_malloc()
    threads = limit_threads()
    torch.manual_seed(0)
    config = ExperimentConfig(model=ModelConfig(backbone="resnet", resnet=18))
    bundle = ModelBundle(config, ["noise", "target"], build_model(config.model, 2).eval())
    options = {"hop_s": 0.5, "batch_size": args.batch_size, "precision": "32"}
    torch_path = Predictor(bundle, **options)
    calibration = calibration_inputs(torch_path, args.calibration_clips)
    started = time.perf_counter()
    model = bundle.model.cpu().eval().to(memory_format=torch.contiguous_format)
    network = quantize(model, calibration)
    quantize_s = time.perf_counter() - started
    paths = {
        "fp32 torch": torch_path,
        "fp32 onnx": Predictor(bundle, runtime="onnx", **options),
        "int8 onnx": Predictor(bundle, int8=network, **options),
    }
    print(f"CPU int8 instructions: {cpu_flags()}; {threads} threads; torch {torch.__version__}")
    print(f"quantized in {quantize_s:.1f} s on {len(calibration)} calibration clips")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "rec.wav"
        recording(wav, args.minutes, config.audio.sample_rate_hz)
        audio_s = args.minutes * 60
        probs: dict[str, np.ndarray] = {}
        rows = []
        for round_number in range(1, args.rounds + 1):
            speeds = {}
            for name, predictor in paths.items():
                started = time.perf_counter()
                probs[name] = predictor.score_file(wav).track.probs
                speeds[name] = audio_s / (time.perf_counter() - started)
            rows.append((round_number, speeds))
    print(f"{args.minutes:g} min at 44.1 kHz, batch {args.batch_size}: × real time")
    print("| round | fp32 torch | fp32 onnx | int8 onnx | int8 ÷ fp32 torch | int8 ÷ fp32 onnx |")
    print("|--:|--:|--:|--:|--:|--:|")
    for round_number, speeds in rows:
        print(
            f"| {round_number} | {speeds['fp32 torch']:.1f} | {speeds['fp32 onnx']:.1f} | "
            f"{speeds['int8 onnx']:.1f} | {speeds['int8 onnx'] / speeds['fp32 torch']:.2f} | "
            f"{speeds['int8 onnx'] / speeds['fp32 onnx']:.2f} |"
        )
    reference, quantized = probs["fp32 torch"], probs["int8 onnx"]
    agreement = float(np.mean(reference.argmax(1) == quantized.argmax(1)))
    print(
        f"int8 against fp32 over {len(reference)} windows: argmax agreement {agreement:.2%}, "
        f"largest probability difference {np.abs(reference - quantized).max():.4f} "
        f"(fp32 scores spread {reference[:, 1].std():.4f})"
    )


if __name__ == "__main__":
    main()
