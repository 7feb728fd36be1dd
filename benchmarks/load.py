"""Load: `animal-spot predict` over a folder of many short files and over one very long file.

Usage: python benchmarks/load.py [--files 1000] [--file_s 3] [--long_h 24] [--bad_percent 1]
                                 [--sr 4000] [--write] [--work DIR]

Synthesises (seeded) a folder of ``--files`` short recordings, ``--bad_percent`` of them
corrupt, and one recording of ``--long_h`` hours, written block by block so the benchmark
itself never holds it; a random-weight ResNet-18 with a small front end (``--sr``, 32 bins,
1 s windows, 1 s hop) is the model: load is about the files, not the weights. Each case runs
the installed command line in its own process, sampled every 0.1 s: wall time, × real time,
peak RSS (VmHWM) and the most file descriptors it held open; then the outputs are checked
(one table per good file, every bad file named once, the long file's windows all scored).
``--write`` appends the table to benchmarks/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from animal_spot.bundle import ModelBundle
from animal_spot.config import AudioConfig, ExperimentConfig, ModelConfig, SpectrogramConfig
from animal_spot.models import build_model

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def save_model(path: Path, sample_rate_hz: int) -> Path:
    torch.manual_seed(0)
    spectrogram = SpectrogramConfig(
        n_fft=256,
        hop_length=128,
        n_freq_bins=32,
        fmin_hz=50,
        fmax_hz=sample_rate_hz // 2 - 100,
        sequence_len_ms=1000,
    )
    config = ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=sample_rate_hz),
        spectrogram=spectrogram,
        model=ModelConfig(),
    )
    model = build_model(config.model, 2).eval()
    return ModelBundle(config, ["noise", "call"], model).save(path)


def write_folder(folder: Path, n: int, seconds: float, sr: int, bad_percent: float) -> list[str]:
    """``n`` short noisy recordings; every ``100 / bad_percent``-th is corrupt bytes. Bad names."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    every = round(100 / bad_percent) if bad_percent > 0 else 0
    bad = []
    for i in range(n):
        path = folder / f"rec{i:05d}.wav"
        if every and i % every == every - 1:
            path.write_bytes(b"RIFF" + rng.bytes(200))
            bad.append(path.name)
        else:
            sf.write(path, 0.05 * rng.standard_normal(round(seconds * sr)), sr, subtype="PCM_16")
    return bad


def write_long(path: Path, hours: float, sr: int, block_s: float = 600.0) -> Path:
    rng = np.random.default_rng(1)
    total = round(hours * 3600 * sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as handle:
        for first in range(0, total, round(block_s * sr)):
            count = min(round(block_s * sr), total - first)
            handle.write((0.05 * rng.standard_normal(count)).astype(np.float32))
    return path


def windows_scored(out: Path) -> int:
    """Rows of the scores CSVs under ``out`` (one per window; the header not counted)."""
    return sum(sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in out.rglob("*.scores.csv"))


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def watch(command: list[str]) -> dict[str, float]:
    """Run ``command``; its wall time, exit code, peak RSS (MB) and most open descriptors."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kb, fds = 0, 0
    while process.poll() is None:
        try:
            peak_kb = max(peak_kb, _status_kb(process.pid, "VmHWM:"))
            fds = max(fds, len(os.listdir(f"/proc/{process.pid}/fd")))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.1)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    return {
        "wall_s": time.perf_counter() - start,
        "rc": process.returncode,
        "rss_mb": peak_kb / 1024,
        "fds": fds,
        "stderr": stderr,
    }


def predict_command(model: Path, inputs: Path, out: Path) -> list[str]:
    script = Path(sys.executable).with_name("animal-spot")
    head = [str(script)] if script.is_file() else [sys.executable, "-m", "animal_spot"]
    return [
        *head, "predict", "--model_path", str(model), "--input_file", str(inputs),
        "--output_dir", str(out), "--hop", "1.0",
    ]  # fmt: skip


def machine() -> str:
    name = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            name = line.split(":", 1)[1].strip()
            break
    return f"{name}, {os.cpu_count()} cores, torch {torch.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file_s", type=float, default=3.0)
    parser.add_argument("--long_h", type=float, default=24.0)
    parser.add_argument("--bad_percent", type=float, default=1.0)
    parser.add_argument("--sr", type=int, default=4000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="animal-spot-load-"))
    model = save_model(work / "model.pt", args.sr)
    bad = write_folder(work / "folder", args.files, args.file_s, args.sr, args.bad_percent)
    long_file = write_long(work / "long" / "day.wav", args.long_h, args.sr)

    rows = []
    folder = watch(predict_command(model, work / "folder", work / "out_folder"))
    tables = [
        p for p in (work / "out_folder").rglob("*.selections.txt") if p.stem.startswith("rec")
    ]
    named = sum(folder["stderr"].count(name) for name in bad)
    audio_s = (args.files - len(bad)) * args.file_s
    rows.append(
        (
            f"{args.files} files of {args.file_s:g} s, {len(bad)} corrupt",
            folder,
            audio_s,
            f"exit {folder['rc']}; {len(tables)} per-file tables; "
            f"corrupt files named {named} times in stderr",
        )
    )
    long = watch(predict_command(model, long_file, work / "out_long"))
    rows.append(
        (
            f"one file of {args.long_h:g} h",
            long,
            args.long_h * 3600,
            f"exit {long['rc']}; {windows_scored(work / 'out_long')} of "
            f"{round(args.long_h * 3600)} 1-s windows scored",
        )
    )

    lines = [
        f"## Load ({datetime.date.today()}): {machine()}",
        "",
        f"`python benchmarks/load.py --files {args.files} --file_s {args.file_s:g} "
        f"--long_h {args.long_h:g} --bad_percent {args.bad_percent:g} --sr {args.sr}`: "
        "random-weight ResNet-18, 32 bins × 32 frames, 1 s windows, 1 s hop, whole `animal-spot "
        "predict` processes.",
        "",
        "| input | wall s | files/s | × real time | peak RSS MB | most open fds | outcome |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for name, result, seconds, outcome in rows:
        files_per_s = args.files / result["wall_s"] if "files" in name else 1 / result["wall_s"]
        lines.append(
            f"| {name} | {result['wall_s']:.1f} | {files_per_s:.2f} | "
            f"{seconds / result['wall_s']:.0f} | {result['rss_mb']:.0f} | {result['fds']} | "
            f"{outcome} |"
        )
    text = "\n".join(lines)
    print(text)
    if folder["rc"] != 0 or long["rc"] != 0:
        print(
            "stderr (folder):", folder["stderr"][-2000:], "\nstderr (long):", long["stderr"][-2000:]
        )
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
