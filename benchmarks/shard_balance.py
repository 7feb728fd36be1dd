"""How evenly `predict --shard I/N` splits real folders of recordings, against splits by count.

Reads only the headers of the recordings under the given folders (default: every folder of
``../shared/data``), makes the plan every shard makes (`shards.assign`: longest first to the
shard with the least audio), and prints for N shards the longest shard's audio over the ideal
(total / N): the time the whole run waits for its slowest shard. Beside it, two splits by file
count: every N-th file (round robin over the sorted names) and N contiguous runs of files.

    python benchmarks/shard_balance.py [FOLDER ...] [--shards 2 4 8 16]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from animal_spot import audio
from animal_spot.prediction.api import scan_recordings
from animal_spot.prediction.shards import assign

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def durations(folders: list[Path]) -> list[tuple[str, float]]:
    found = []
    for folder in folders:
        for path, name in scan_recordings(folder)[0]:
            found.append((f"{folder.name}/{name}", audio.info(path).duration_s))
    return sorted(found)


def worst_over_ideal(loads: list[float]) -> float:
    return max(loads) / (sum(loads) / len(loads))


def loads_of(durations_s: list[tuple[str, float]], owners: list[int], count: int) -> list[float]:
    loads = [0.0] * count
    for (_, duration_s), owner in zip(durations_s, owners, strict=True):
        loads[owner] += duration_s
    return loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--shards", nargs="+", type=int, default=[2, 4, 8, 16])
    args = parser.parse_args()
    folders = args.folders or sorted(p for p in SHARED.iterdir() if p.is_dir())
    found = durations(folders)
    total_h = sum(d for _, d in found) / 3600
    longest = max(d for _, d in found)
    print(f"{len(found)} recordings, {total_h:.2f} h, longest {longest:.0f} s")
    print(f"folders: {', '.join(f.name for f in folders)}")
    print("| shards | by duration (plan) | every N-th file | contiguous files |")
    print("|--:|--:|--:|--:|")
    for count in args.shards:
        n = len(found)
        plans = {
            "plan": assign(found, count),
            "round robin": [i % count for i in range(n)],
            "contiguous": [min(i * count // n, count - 1) for i in range(n)],
        }
        ratios = [worst_over_ideal(loads_of(found, owners, count)) for owners in plans.values()]
        print(f"| {count} | " + " | ".join(f"{r:.3f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
