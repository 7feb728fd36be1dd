"""Sharded prediction: a folder of recordings split over N processes, machines or array tasks.

Every shard scans the same input, reads every recording's length from its header and makes the
same plan: recordings in decreasing duration (then by name) each go to the shard with the least
audio so far (longest-processing-time first), so shards finish close together however the
lengths vary, and the plan does not depend on what is done already. A recording that cannot be
read counts as 0 s and goes to one shard, which reports it.

A shard writes the recordings' files into the common output folder (the same names as a
one-process run, atomic and resumable as ever) and its own ``shards/I-of-N/`` folder:
``prediction.json`` (with its config), ``errors.csv`` and ``predict.log``, under its own lock,
so a killed shard is rerun with the same command. `merge` (``animal-spot merge``, or the last
shard to finish) writes the folder's ``all.selections.txt``, ``errors.csv``, ``prediction.json``
and ``report.html`` from what is done: the same combined table as one process writes.

Which shard a process is: ``--shard I/N`` (1-based); ``--shard auto`` reads torchrun's
``RANK``/``WORLD_SIZE``, else a Slurm array's ``SLURM_ARRAY_TASK_ID``/``_MIN``/``_COUNT``;
without ``--shard``, a process started by torchrun with ``WORLD_SIZE`` > 1 is sharded by rank.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadConfig

SHARDS_DIR = "shards"  # each shard's own files: shards/I-of-N/
SHARD_PATTERN = re.compile(r"(\d+)/(\d+)")
_FIX = "give --shard I/N with 1 ≤ I ≤ N (e.g. --shard 2/4), or --shard auto under torchrun/Slurm"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``."""

    index: int
    count: int

    @property
    def label(self) -> str:
        """``I-of-N``, 1-based: the shard's folder name."""
        return f"{self.index + 1}-of-{self.count}"

    def folder(self, output_dir: Path) -> Path:
        return output_dir / SHARDS_DIR / self.label

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"I/N"`` → `Shard` (``I`` 1-based).

    Raises:
        BadConfig: not of that form, or ``I`` outside 1..N.
    """
    match = SHARD_PATTERN.fullmatch(text.strip())
    if match is None:
        raise BadConfig(f"--shard {text!r} is not I/N", fix=_FIX)
    number, count = int(match[1]), int(match[2])
    if not 1 <= number <= count:
        raise BadConfig(f"--shard {text}: the shard number must lie in 1..{count}", fix=_FIX)
    return Shard(number - 1, count)


def _int(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadConfig(f"environment variable {name}={value!r} is not a whole number") from None


def _from_torchrun(environ: Mapping[str, str]) -> Shard | None:
    world_size, rank = _int(environ, "WORLD_SIZE"), _int(environ, "RANK")
    if world_size is None or rank is None or world_size < 2:
        return None
    if not 0 <= rank < world_size:
        raise BadConfig(f"RANK={rank} lies outside 0..{world_size - 1} (WORLD_SIZE={world_size})")
    return Shard(rank, world_size)


def _from_slurm_array(environ: Mapping[str, str]) -> Shard | None:
    task, count = _int(environ, "SLURM_ARRAY_TASK_ID"), _int(environ, "SLURM_ARRAY_TASK_COUNT")
    if task is None or count is None:
        return None
    index = task - (_int(environ, "SLURM_ARRAY_TASK_MIN") or 0)
    if not 0 <= index < count:
        raise BadConfig(
            f"Slurm array task {task} is not one of {count} consecutive tasks",
            fix="use a consecutive array (--array=0-N) or give --shard I/N",
        )
    return Shard(index, count)


def resolve_shard(text: str | None, environ: Mapping[str, str] | None = None) -> Shard | None:
    """This process's shard, or None for a one-process run (module docstring).

    Raises:
        BadConfig: a malformed ``--shard``, or ``auto`` where the environment names no shard.
    """
    environ = os.environ if environ is None else environ
    if text is None:
        return _from_torchrun(environ)
    if text.strip() == "auto":
        shard = _from_torchrun(environ) or _from_slurm_array(environ)
        if shard is None:
            raise BadConfig(
                "--shard auto: neither torchrun (RANK, WORLD_SIZE) nor a Slurm array "
                "(SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) set this process's shard",
                fix=_FIX,
            )
        return shard
    shard = parse_shard(text)
    return None if shard.count == 1 else shard


def assign(durations_s: Sequence[tuple[str, float]], count: int) -> list[int]:
    """The shard of each ``(name, duration_s)``, longest first to the least loaded shard.

    Equal loads go to the shard with fewer files, then the lowest number, and equal lengths by
    name, so that every process makes the same plan and 0 s files spread too.
    """
    order = sorted(range(len(durations_s)), key=lambda i: (-durations_s[i][1], durations_s[i][0]))
    loads = [(0.0, 0, shard) for shard in range(count)]  # a heap of (audio, files, shard)
    shards = [0] * len(durations_s)
    for i in order:
        load, n_files, shard = heapq.heappop(loads)
        shards[i] = shard
        heapq.heappush(loads, (load + max(durations_s[i][1], 0.0), n_files + 1, shard))
    return shards


__all__ = ["SHARDS_DIR", "SHARD_PATTERN", "Shard", "assign", "parse_shard", "resolve_shard"]
