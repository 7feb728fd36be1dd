"""Sharded prediction: the plan, the shard a process is, and shards that equal one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.shards import Shard, assign, resolve_shard
from tests.conftest import write_wav
from tests.prediction.conftest import save_random_model

DURATIONS_S = (9.0, 6.0, 4.0, 3.0, 2.0, 1.0)
THRESHOLD = "0.3"  # a random network's scores spread around 0.5: events in every recording


def test_the_plan_balances_audio_not_files_and_every_process_makes_the_same_one():
    durations = [(f"r{i}.wav", d) for i, d in enumerate((60.0, 1, 1, 1, 1, 1, 1, 50, 2, 2))]
    shards = assign(durations, 2)
    loads = [sum(d for (_, d), s in zip(durations, shards, strict=True) if s == k) for k in (0, 1)]
    assert sorted(loads) == [60.0, 60.0]  # 60 alone; 50 + 2 + 2 + six 1 s files
    assert assign(list(reversed(durations)), 2) == list(reversed(shards))  # order-free
    many = [(f"n{i}", float(i % 7 + 1)) for i in range(100)]
    loads4 = [0.0] * 4
    for (_, d), s in zip(many, assign(many, 4), strict=True):
        loads4[s] += d
    assert max(loads4) - min(loads4) <= 7.0  # within the longest recording
    assert assign([("a", 0.0), ("b", 0.0)], 3) == [0, 1]  # more shards than recordings


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("2/4", {}, Shard(1, 4)),
        ("1/1", {}, None),
        (None, {}, None),
        (None, {"RANK": "1", "WORLD_SIZE": "2"}, Shard(1, 2)),
        (None, {"RANK": "0", "WORLD_SIZE": "1"}, None),
        ("auto", {"RANK": "2", "WORLD_SIZE": "3"}, Shard(2, 3)),
        (
            "auto",
            {
                "SLURM_ARRAY_TASK_ID": "5",
                "SLURM_ARRAY_TASK_MIN": "4",
                "SLURM_ARRAY_TASK_COUNT": "3",
            },
            Shard(1, 3),
        ),
        ("3/4", {"RANK": "0", "WORLD_SIZE": "2"}, Shard(2, 4)),  # the flag wins
    ],
)
def test_a_process_knows_its_shard_from_the_flag_or_the_environment(text, environ, expected):
    assert resolve_shard(text, environ) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "two/4", "1-4", "auto"])
def test_a_shard_that_cannot_be_is_refused_in_one_line(text):
    with pytest.raises(BadConfig) as caught:
        resolve_shard(text, {})
    assert "\n" not in str(caught.value) and "--shard" in str(caught.value)


def test_the_config_refuses_a_malformed_shard():
    with pytest.raises(BadConfig, match=r"must lie in 1\.\.4"):
        PredictConfig(shard="5/4")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, one_thread) -> Path:
    """A model, six recordings of 1–9 s in two folders, one unreadable file, one-process output."""
    root = tmp_path_factory.mktemp("shards")
    save_random_model(root / "model.pt")
    for i, duration_s in enumerate(DURATIONS_S):
        write_wav(
            root / "recs" / f"sub{i % 2}" / f"r{i}.wav",
            duration_s,
            sample_rate_hz=8000,
            calls=[(0.5, 0.4, 1000.0)],
            seed=i,
        )
    (root / "recs" / "bad.wav").write_bytes(b"RIFF, but no audio")
    # The reference: one process with one thread, as each shard has (other thread counts
    # sum in another order and move scores in the sixth decimal).
    subprocess.run(_module(_command(root, "one")), env=_env(), check=True)
    return root


def _config(root: Path, output: str, shard: str | None = None) -> PredictConfig:
    return PredictConfig(
        model_path=(root / "model.pt",),
        input_file=root / "recs",
        output_dir=root / output,
        threshold=float(THRESHOLD),
        shard=shard,
    )


def _command(root: Path, output: str, *extra: str) -> list[str]:
    return [
        "animal-spot",
        "--quiet",
        "predict",
        "--model_path",
        str(root / "model.pt"),
        "--input_file",
        str(root / "recs"),
        "--output_dir",
        str(root / output),
        "--threshold",
        THRESHOLD,
        *extra,
    ]


def _env() -> dict[str, str]:
    # One thread a process: two processes on two cores must not oversubscribe them.
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "ANIMAL_SPOT_REPORT": "0",
        "ANIMAL_SPOT_NATIVE_BF16": "0",
    }


def _module(command: list[str]) -> list[str]:
    return [sys.executable, "-m", "animal_spot", *command[1:]]


def _assert_same_as_one_process(root: Path, output: str) -> None:
    reference = root / "one"
    names = sorted(
        p.relative_to(reference).as_posix()
        for p in reference.rglob("*")
        if p.name.endswith((".selections.txt", ".scores.csv"))
    )
    assert len(names) == 2 * len(DURATIONS_S) + 1  # six of each, and all.selections.txt
    for name in names:
        assert (root / output / name).read_bytes() == (reference / name).read_bytes(), name
    errors = (root / output / "errors.csv").read_text(encoding="utf-8").splitlines()
    assert len(errors) == 2 and "bad.wav" in errors[1]  # reported by one shard only


def test_two_shard_processes_write_what_one_process_writes_and_the_last_merges(folder):
    shards = [
        subprocess.Popen(_module(_command(folder, "two", "--shard", f"{i}/2")), env=_env())
        for i in (1, 2)
    ]
    assert [shard.wait(timeout=300) for shard in shards] == [0, 0]
    _assert_same_as_one_process(folder, "two")
    assert sorted(p.name for p in (folder / "two" / "shards").iterdir()) == ["1-of-2", "2-of-2"]
    # `merge` rebuilds the combined table from the shards alone, byte for byte.
    (folder / "two" / "all.selections.txt").unlink()
    merged = subprocess.run(_module(["animal-spot", "merge", str(folder / "two")]), env=_env())
    assert merged.returncode == 0
    _assert_same_as_one_process(folder, "two")


def test_shards_under_torchrun_take_their_rank_from_the_environment(folder):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "animal_spot",
        *_command(folder, "torchrun")[1:],
    ]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_same_as_one_process(folder, "torchrun")
    assert sorted(p.name for p in (folder / "torchrun" / "shards").iterdir()) == [
        "1-of-2",
        "2-of-2",
    ]


def test_merge_before_every_shard_is_done_says_which_shard_is_missing(folder):
    first = predict(_config(folder, "half", "1/2"), progress=False, report=False)
    assert first.combined_table is None and not (folder / "half" / "all.selections.txt").exists()
    early = subprocess.run(
        _module(["animal-spot", "merge", str(folder / "half")]),
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert early.returncode == 2
    assert early.stderr.count("\n") == 1 and "shard(s) 2 of 2 have not finished" in early.stderr
    second = predict(_config(folder, "half", "2/2"), progress=False, report=False)
    assert second.combined_table == folder / "half" / "all.selections.txt"
    _assert_same_as_one_process(folder, "half")
    assert len(first.predicted) + len(second.predicted) == len(DURATIONS_S)


def test_a_killed_shard_resumes_where_it_stopped(folder, tmp_path):
    # Long recordings, so that the shard is killed between two of them.
    recs = tmp_path / "recs"
    for i in range(6):
        write_wav(recs / f"long{i}.wav", 40.0, sample_rate_hz=8000, seed=10 + i)
    command = _command(folder, "unused", "--shard", "1/2")
    command[command.index("--input_file") + 1] = str(recs)
    command[command.index("--output_dir") + 1] = str(tmp_path / "out")
    shard = subprocess.Popen(_module(command), env=_env())
    tables = tmp_path / "out"
    deadline = time.monotonic() + 240
    while not list(tables.glob("*.selections.txt")) and time.monotonic() < deadline:
        time.sleep(0.02)
    shard.send_signal(signal.SIGKILL)
    shard.wait()
    finished = {p.name for p in tables.glob("*.selections.txt")}
    assert 1 <= len(finished) < 3  # killed part way through its three recordings
    resumed = predict(
        PredictConfig(
            model_path=(folder / "model.pt",),
            input_file=recs,
            output_dir=tables,
            threshold=float(THRESHOLD),
            shard="1/2",
        ),
        progress=False,
        report=False,
    )
    assert {p.name.replace(".wav", ".selections.txt") for p in resumed.skipped} == finished
    assert len(resumed.skipped) + len(resumed.predicted) == 3
