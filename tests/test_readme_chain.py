"""The README's own commands, read from the file and run in order in a shell, as a user would.

The test builds the folders the README names (``clips/``, ``labels.csv``, ``tables/`` with
``recordings/``, ``reference_tables/``, ...) from synthetic audio, then runs every ``prepare``,
the first ``train`` (held to one epoch, the one flag added), the first ``predict`` and every
``evaluate``, ``report`` and ``export`` line exactly as written. The other lines (a pretrained
ConvNeXt, BirdNET, torchrun) are checked by the parser in `test_readme_commands.py`.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table, write_table
from animal_spot.synthetic import CALL_TYPES, synthesize_clips, synthesize_recording

from .readme_commands import ROOT, Command, shell_commands

RUN_ALL = ("prepare", "evaluate", "report", "export")
RUN_FIRST = ("train", "predict")
EXTRA = {"train": ["--max_train_epochs", "1"]}  # the one change: a test cannot train for hours


def readme_chain() -> list[Command]:
    """The README commands to run, in the file's order."""
    chosen, seen = [], set()
    for command in shell_commands(ROOT / "README.md"):
        words = command.words
        if words[0] != "animal-spot" or len(words) < 2:
            continue
        verb = words[1]
        if verb in RUN_ALL or (verb in RUN_FIRST and verb not in seen):
            chosen.append(command)
        seen.add(verb)
    return chosen


def build_world(root: Path) -> None:
    """Every input the README's commands name, from synthetic audio."""
    made = synthesize_clips(
        root / "clips", classes=("tone", "upsweep", "noise"), clips_per_class=8, n_tapes=6
    )
    with (root / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "species", "source_id"])
        for path in sorted(made.folder.rglob("*.wav")):
            label, rest = path.name.split("-", 1)
            writer.writerow([path.resolve(), label, rest.split("_")[3]])  # the tape
    for index in range(3):
        calls = [(2.0 + 5.0 * k, 0.35, CALL_TYPES[(k + index) % 3]) for k in range(5)]
        name = f"night{index}"
        synthesize_recording(root / "recordings" / f"{name}.wav", 27.0, calls, seed=index)
        events = [Event(s, s + d, kind) for s, d, kind in calls]
        for folder in ("tables", "reference_tables"):
            write_table(events, root / folder / f"{name}.selections.txt")


def run_line(command: Command, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    words = [*command.words, *EXTRA.get(command.words[1], [])]
    return subprocess.run(
        ["bash", "-c", shlex.join(words)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def link_aliases(root: Path) -> None:
    """Names the README uses for outputs of earlier steps (a dated run, a bare model.pt)."""
    links = {
        "runs/20250101-120000": "resnet18",
        "model.pt": "runs/resnet18/model.pt",
        "val_pred": "predictions",
        "val_tables": "reference_tables",
    }
    for name, target in links.items():
        path = root / name
        if not path.exists() and (path.parent / target).exists():
            path.symlink_to(target)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_readme_chain_runs_as_written(tmp_path: Path):
    chain = readme_chain()
    verbs = [c.words[1] for c in chain]
    assert verbs.count("prepare") >= 3 and {"train", "predict", "evaluate"} <= set(verbs)
    build_world(tmp_path)
    bin_dir = str(Path(sys.executable).parent)  # where the installed `animal-spot` lives
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "2"}
    for command in chain:
        link_aliases(tmp_path)
        done = run_line(command, tmp_path, env)
        assert done.returncode == 0, f"{command.where}\n{done.stderr[-2000:]}"
    model = tmp_path / "runs" / "resnet18" / "model.pt"
    assert model.is_file()
    metrics = json.loads((tmp_path / "runs" / "resnet18" / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1
    tables = sorted((tmp_path / "predictions").glob("night*.selections.txt"))
    assert len(tables) == 3
    assert all(isinstance(read_table(t), list) for t in tables)
    if "report" in verbs:
        assert (tmp_path / "runs" / "resnet18" / "report.html").stat().st_size > 10_000
    if "export" in verbs:
        assert list(tmp_path.glob("**/*.frontend.json"))
