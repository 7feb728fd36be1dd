"""Prediction against the peers: ANIMAL-SPOT's predict.py and OpenSoundscape, whole processes.

One ResNet-18 with seeded random weights is built by ANIMAL-SPOT's own code and saved as its
``.pk``; ``animal-spot export --from_legacy`` turns that file into a ``model.pt`` with the same
weights, and ``animal-spot export --precision int8`` makes its int8 network (calibrated and
checked on synthetic 1 s clips the benchmark writes). OpenSoundscape builds its own ResNet-18
(one input channel, its default 257 × 171 spectrogram of 1 s at 44.1 kHz). Every tool scores one
synthesised recording at the fork's settings (44.1 kHz, n_fft 1024, hop 172, 256 bins, 1 s
windows every 0.5 s), each run a fresh process timed with ``/usr/bin/time``, the tools
interleaved in each round. Prints wall seconds, × real time, peak RSS and the ratios of each
animal-spot path to ANIMAL-SPOT (same ``max_pool``) and to OpenSoundscape in the same round.

The peers run in their own Python (the benchmark never vendors them)::

    python -m venv peers
    peers/bin/pip install torch==2.14.1 torchvision==0.29.1 opensoundscape==0.13.2 resampy
    git clone https://github.com/ChristianBergler/ANIMAL-SPOT
    python benchmarks/peers.py --animal_spot_dir ANIMAL-SPOT --peer_python peers/bin/python \\
        [--opensoundscape_python peers/bin/python] [--minutes 10] [--rounds 2] [--max_pool 2 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from animal_spot.config import SpectrogramConfig
from animal_spot.data.manifest import Clip, write_manifest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_speed import machine, write_recording

RATE = 44100
FORK = {"n_fft": 1024, "hop_length": 172, "n_freq_bins": 256}

# Runs in the peer's Python: ANIMAL-SPOT's own network classes, saved as its training saves.
BUILD_PK = """
import sys, torch
source, out, max_pool, data_opts = sys.argv[1], sys.argv[2], int(sys.argv[3]), eval(sys.argv[4])
sys.path.insert(0, source)
from models.residual_encoder import ResidualEncoder, DefaultEncoderOpts
from models.classifier import Classifier, DefaultClassifierOpts
torch.manual_seed(0)
encoder_opts = dict(DefaultEncoderOpts, resnet_size=18, max_pool=max_pool)
classifier_opts = dict(DefaultClassifierOpts, num_classes=2)
encoder, classifier = ResidualEncoder(encoder_opts), Classifier(classifier_opts)
torch.save({
    "encoderOpts": encoder_opts, "classifierOpts": classifier_opts, "dataOpts": data_opts,
    "encoderState": encoder.state_dict(), "classifierState": classifier.state_dict(),
    "classes": {"noise": 0, "target": 1},
}, out)
"""

# Runs in OpenSoundscape's Python: its CNN over the recording, 1 s clips every 0.5 s.
OPENSOUNDSCAPE = """
import sys, torch
from opensoundscape import CNN
from opensoundscape.ml.cnn_architectures import resnet18
torch.manual_seed(0)
recording, out, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
network = resnet18(2, weights=None, num_channels=1)
model = CNN(network, classes=["noise", "target"], sample_duration=1.0, sample_rate=44100,
            channels=1, height=None, width=None)
model.device = torch.device("cpu")
scores = model.predict([recording], clip_overlap=0.5, batch_size=batch_size, num_workers=0,
                       activation_layer="softmax", progress_bar=False)
scores.to_csv(out)
print(len(scores))
"""


@dataclasses.dataclass(frozen=True)
class Tool:
    """One way to score the recording: a command, and whom it is compared with."""

    name: str
    command: list[str]
    cwd: Path | None = None
    max_pool: int | None = None  # the network's (None: OpenSoundscape's own)
    kind: str = ""  # "exact" or "fast" for animal-spot's paths, "" for the peers

    @property
    def ours(self) -> bool:
        return bool(self.kind)

    @property
    def key(self) -> str:
        """Its name in the rounds' figures."""
        return key_of(self.name, self.max_pool)


def key_of(name: str, max_pool: int | None) -> str:
    return f"{name} (max_pool {max_pool})" if max_pool else name


@dataclasses.dataclass(frozen=True)
class Run:
    wall_s: float
    peak_mib: float


def data_opts() -> dict[str, object]:
    """ANIMAL-SPOT's dataOpts for the fork's front end (the rest as animal-spot's defaults)."""
    spec = dataclasses.replace(SpectrogramConfig(), **FORK)
    return {
        "sr": RATE,
        "preemphases": spec.preemphasis,
        "n_fft": spec.n_fft,
        "hop_length": spec.hop_length,
        "n_freq_bins": spec.n_freq_bins,
        "fmin": spec.fmin_hz,
        "fmax": spec.fmax_hz,
        "freq_compression": spec.freq_compression,
        "min_level_db": spec.min_level_db,
        "ref_level_db": spec.ref_level_db,
    }


def ours(*args: str) -> list[str]:
    return [sys.executable, "-m", "animal_spot", *args]


def timed(command: Sequence[str], cwd: Path | None, log: Path) -> Run:
    """Wall seconds and peak RSS of one fresh process (``/usr/bin/time``: the child's own)."""
    measure = log.with_suffix(".time")
    start = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            ["/usr/bin/time", "-o", str(measure), "-f", "%M", *command],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    wall = time.perf_counter() - start
    if done.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise SystemExit(f"{command[:4]} failed ({done.returncode}): {' | '.join(tail)}")
    peak_kib = int(measure.read_text().split()[-1])
    return Run(wall, peak_kib / 1024)


def calibration_folder(folder: Path, n: int = 48) -> Path:
    """Synthetic 1 s clips (noise; noise with a tone) as a prepared folder's val and test."""
    rng = np.random.default_rng(1)
    t = np.arange(RATE) / RATE
    splits: dict[str, list[Clip]] = {"val": [], "test": []}
    for i in range(2 * n):
        samples = 0.02 * rng.standard_normal(RATE)
        label = "target" if i % 2 else "noise"
        if label == "target":
            samples += 0.3 * np.sin(2 * np.pi * rng.uniform(1e3, 8e3) * t) * (t < 0.6)
        path = folder / "clips" / f"{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), samples.astype(np.float32), RATE, subtype="PCM_16")
        splits["val" if i < n else "test"].append(Clip(path, label, f"g{i % 4}"))
    for name, clips in splits.items():
        write_manifest(clips, folder / f"{name}.csv")
    return folder


def build_models(
    tmp: Path, source: Path, peer_python: str, max_pool: int, prepared: Path
) -> tuple[Path, Path, bool]:
    """The ``.pk`` (ANIMAL-SPOT's code), its ``model.pt``, and whether int8 passed its check."""
    pk, model = tmp / f"mp{max_pool}.pk", tmp / f"mp{max_pool}.pt"
    subprocess.run(
        [peer_python, "-c", BUILD_PK, str(source), str(pk), str(max_pool), repr(data_opts())],
        cwd=source,
        check=True,
    )
    subprocess.run(
        ours("export", "--from_legacy", str(pk), "--sequence_len", "1000", "--output", str(model)),
        check=True,
    )
    quantized = subprocess.run(
        ours("export", "--model_path", str(model), "--precision", "int8",
             "--int8_calibration_dir", str(prepared)),
        capture_output=True,
        text=True,
    )  # fmt: skip
    print(f"  int8 of max_pool {max_pool}: {(quantized.stdout + quantized.stderr).strip()}")
    return pk, model, quantized.returncode == 0


def tools(
    tmp: Path, recording: Path, args: argparse.Namespace, models: dict[int, tuple[Path, Path, bool]]
) -> list[Tool]:
    out = tmp / "out"
    (out / "as").mkdir(parents=True, exist_ok=True)
    listed: list[Tool] = []
    if args.opensoundscape_python:
        command = [args.opensoundscape_python, "-c", OPENSOUNDSCAPE, str(recording),
                   str(out / "oss.csv"), str(args.opensoundscape_batch_size)]  # fmt: skip
        listed.append(Tool("OpenSoundscape 0.13.2 ResNet-18", command))
    for max_pool, (pk, model, int8_ok) in models.items():
        predict_py = args.animal_spot_dir / "ANIMAL-SPOT" / "predict.py"
        command = [args.peer_python, str(predict_py), "--model_path", str(pk),
                   "--log_dir", str(out / "as"), "--output_dir", str(out / "as"),
                   "--input_file", str(recording), "--sequence_len", "1.0", "--hop", "0.5",
                   "--threshold", "0.5", "--batch_size", str(args.animal_spot_batch_size),
                   "--num_workers", "1", "--no_cuda"]  # fmt: skip
        listed.append(Tool("ANIMAL-SPOT predict.py", command, predict_py.parent, max_pool))
        base = ["predict", "--model_path", str(model), "--input_file", str(recording),
                "--quiet", "--overwrite"]  # fmt: skip
        paths = [
            ("exact, ANIMAL-SPOT's windows, fp32", ["--precision", "32"], "exact"),
            ("exact fp32", ["--no-legacy_windows", "--precision", "32"], "exact"),
            ("exact bf16", ["--no-legacy_windows", "--precision", "bf16"], "exact"),
            ("exact --runtime onnx", ["--runtime", "onnx", "--precision", "32"], "exact"),
            ("--fast fp32", ["--fast", "--precision", "32"], "fast"),
        ]
        if int8_ok:  # (auto: int8 now that it is stored, on a CPU with VNNI)
            paths += [
                ("exact auto", ["--no-legacy_windows"], "exact"),
                ("exact int8", ["--precision", "int8"], "exact"),
                ("--fast int8", ["--fast", "--precision", "int8"], "fast"),
            ]
        for name, flags, kind in paths:
            if args.paths and name not in args.paths:
                continue
            folder = out / f"mp{max_pool}-{len(listed)}"  # a folder each: none is skipped
            command = ours(*base, "--output_dir", str(folder), *flags)
            listed.append(Tool(name, command, None, max_pool, kind))
    return listed


def report(rounds: list[dict[str, Run]], listed: list[Tool], seconds: float) -> None:
    for index, runs in enumerate(rounds, 1):
        print(f"\nround {index}:")
        print("| tool, path | max_pool | wall s | × real time | peak RSS MiB | ÷ ANIMAL-SPOT | "
              "÷ OpenSoundscape |")  # fmt: skip
        print("|---|--:|--:|--:|--:|--:|--:|")
        oss = runs.get("OpenSoundscape 0.13.2 ResNet-18")
        for tool in listed:
            run = runs[tool.key]
            mp = "—" if tool.max_pool is None else str(tool.max_pool)
            ratio_as = ratio_oss = "—"
            if tool.ours:
                peer = runs[key_of("ANIMAL-SPOT predict.py", tool.max_pool)]
                ratio_as = f"{peer.wall_s / run.wall_s:.2f}"
                ratio_oss = f"{oss.wall_s / run.wall_s:.2f}" if oss else "—"
            print(f"| {tool.name} | {mp} | {run.wall_s:.1f} | {seconds / run.wall_s:.1f} | "
                  f"{run.peak_mib:.0f} | {ratio_as} | {ratio_oss} |")  # fmt: skip


def targets(rounds: list[dict[str, Run]], listed: list[Tool]) -> None:
    """The issue's targets, per round: int8 speed against the peers, peak RSS.

    Against OpenSoundscape the ``max_pool`` 1 network counts: it is torchvision's ResNet-18 with
    its stem's max-pool, as OpenSoundscape's is (``max_pool`` 2 drops it: 4× the compute).
    """
    print("\ntargets (per round):")
    for index, runs in enumerate(rounds, 1):
        for name, max_pool, versus, goal in (
            ("exact int8", 2, "ANIMAL-SPOT predict.py (max_pool 2)", 3.0),
            ("exact int8", 1, "OpenSoundscape 0.13.2 ResNet-18", 2.0),
            ("--fast int8", 2, "ANIMAL-SPOT predict.py (max_pool 2)", 5.0),
        ):
            run, peer = runs.get(key_of(name, max_pool)), runs.get(versus)
            if run is None or peer is None:
                continue
            ratio = peer.wall_s / run.wall_s
            verdict = "met" if ratio >= goal else "NOT met"
            print(f"  round {index}: {name} (max_pool {max_pool}) {ratio:.2f}× {versus} "
                  f"(target ≥ {goal:g}×): {verdict}")  # fmt: skip
        for tool in listed:
            if tool.ours:
                limit = 1.2e9 if tool.kind == "exact" else 1.5e9
                peak = runs[tool.key].peak_mib * 2**20
                verdict = "within" if peak <= limit else "ABOVE"
                print(f"  round {index}: {tool.name} mp{tool.max_pool} peak {peak / 1e9:.2f} GB, "
                      f"{verdict} {limit / 1e9:.1f} GB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--animal_spot_dir",
        type=Path,
        required=True,
        help="a clone of ANIMAL-SPOT (the folder holding ANIMAL-SPOT/predict.py)",
    )
    parser.add_argument(
        "--peer_python",
        default=sys.executable,
        help="Python with ANIMAL-SPOT's requirements (torch, torchvision, "
        "librosa, resampy, soundfile, matplotlib, pillow)",
    )
    parser.add_argument(
        "--opensoundscape_python",
        default=None,
        help="Python with opensoundscape==0.13.2 (default: not run)",
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max_pool", type=int, nargs="+", default=[2, 1])
    parser.add_argument(
        "--animal_spot_batch_size",
        type=int,
        default=1,
        help="predict.py's batch (1: its default and its shipped config)",
    )
    parser.add_argument(
        "--opensoundscape_batch_size",
        type=int,
        default=32,
        help="OpenSoundscape's batch (its default is 1; 32 is faster)",
    )
    parser.add_argument(
        "--paths",
        nargs="+",
        default=None,
        help="animal-spot paths to run, by their names in the table (default: all)",
    )
    args = parser.parse_args()  # fmt: skip
    if not (args.animal_spot_dir / "ANIMAL-SPOT" / "predict.py").is_file():
        raise SystemExit(f"{args.animal_spot_dir}: no ANIMAL-SPOT/predict.py; give the clone")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="animal-spot-peers-") as name:
        tmp = Path(name)
        seconds = args.minutes * 60
        recording = write_recording(tmp / "recording.wav", seconds, RATE)
        prepared = calibration_folder(tmp / "prepared")  # one set of clips calibrates each
        source = args.animal_spot_dir / "ANIMAL-SPOT"
        models = {mp: build_models(tmp, source, args.peer_python, mp, prepared)
                  for mp in args.max_pool}  # fmt: skip
        listed = tools(tmp, recording, args, models)
        rounds: list[dict[str, Run]] = []
        for index in range(args.rounds):
            runs: dict[str, Run] = {}
            for tool in listed:
                run = timed(tool.command, tool.cwd, tmp / f"log-{len(runs)}-{index}.txt")
                runs[tool.key] = run
                print(f"  round {index + 1}: {tool.key}: {run.wall_s:.1f} s, "
                      f"{run.peak_mib:.0f} MiB", flush=True)  # fmt: skip
            rounds.append(runs)
        report(rounds, listed, seconds)
        targets(rounds, listed)
        print("\n" + json.dumps([{k: dataclasses.asdict(v) for k, v in r.items()} for r in rounds]))


if __name__ == "__main__":
    main()
