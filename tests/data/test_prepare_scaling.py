"""prepare on many overlapping selections of one recording: time and memory grow linearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import soundfile as sf

RATE_HZ = 2000  # a right-whale recorder's rate
N_SELECTIONS = 10_000
HEADER = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"

MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from animal_spot.data.prepare import prepare
    raven_dir, audio_dir, out, warm_dir = sys.argv[1:]
    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    prepare(warm_dir + "/out", clips_dir=warm_dir)  # every lazy import done before measuring
    before_mb, start = peak_mb(), time.perf_counter()
    result = prepare(out, raven_dir=raven_dir, audio_dir=audio_dir, annotation_column="Annotation")
    seconds, grown_mb = time.perf_counter() - start, peak_mb() - before_mb
    n_clips = sum(len(clips) for clips in result.splits.values())
    print(json.dumps({"seconds": seconds, "grown_mb": grown_mb, "n_clips": n_clips}))
    """
)


def write_warm_up_clips(folder: Path) -> None:
    rng = np.random.default_rng(1)
    for i in range(6):
        samples = (0.1 * rng.standard_normal(RATE_HZ)).astype(np.float32)
        label = "up" if i % 2 else "gun"
        sf.write(str(folder / f"{label}-x_{i}_2020_T{i % 3}_0_1000.wav"), samples, RATE_HZ)


def test_ten_thousand_overlapping_selections_prepare_in_seconds_and_bounded_memory(tmp_path):
    rng = np.random.default_rng(0)
    duration_s = 120
    (tmp_path / "audio").mkdir()
    (tmp_path / "raven").mkdir()
    (tmp_path / "warm").mkdir()
    write_warm_up_clips(tmp_path / "warm")
    samples = (0.1 * rng.standard_normal(duration_s * RATE_HZ)).astype(np.float32)
    sf.write(str(tmp_path / "audio" / "rec.wav"), samples, RATE_HZ)
    # 1 s selections every 12 ms on average: each overlaps about 160 others.
    starts = np.sort(rng.uniform(0, duration_s - 1, N_SELECTIONS))
    lines = [f"{HEADER}\tAnnotation"]
    for i, start_s in enumerate(starts, start=1):
        label = "upcall" if i % 2 else "gunshot"
        lines.append(f"{i}\tSpectrogram 1\t1\t{start_s:.4f}\t{start_s + 1:.4f}\t50\t400\t{label}")
    (tmp_path / "raven" / "rec.Table.1.selections.txt").write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [sys.executable, "-c", MEASURE]
        + [str(tmp_path / name) for name in ("raven", "audio", "out", "warm")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(measured)
    assert measured["n_clips"] == N_SELECTIONS
    # Pairing every overlapping span took 4.3 GB at 2,000 selections and over 22 GB at 10,000;
    # the peak resident size is measured after a warm-up, so imports do not count.
    assert measured["grown_mb"] < 300, measured
    assert measured["seconds"] < 30, measured  # about 6 s alone on one core
