"""The README's Python API section, run as written in a folder holding the files it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from animal_spot.annotations.raven import read_table

from .readme_commands import ROOT, blocks
from .test_readme_chain import build_world

SECTION = "## Python API"
# The user's own config that the README loads: their data folder, a run name, where predict
# reads and writes (held to one epoch: a test cannot train for hours).
EXPERIMENT_TOML = """
[data]
data_dir = "data"
[train]
max_train_epochs = 1
run_name = "api"
[predict]
model_path = ["runs/api/model.pt"]
input_file = "recordings"
output_dir = "predictions"
"""


def api_blocks() -> list[str]:
    """The python blocks of the README's Python API section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    first_line = text[:start].count("\n") + 1
    last_line = text[:end].count("\n") + 1
    return [
        b.text
        for b in blocks(ROOT / "README.md")
        if b.language == "python" and first_line <= b.line <= last_line
    ]


def test_the_readme_python_api_runs_as_written(tmp_path: Path):
    code = api_blocks()
    assert len(code) >= 2 and "animal_spot.train(config)" in code[0]
    build_world(tmp_path)
    (tmp_path / "experiment.toml").write_text(EXPERIMENT_TOML)
    shown = "{'run': str(run.model_path), 'recordings': len(figures.recordings)}"
    script = "\n\n".join(code) + f"\nimport json; print(json.dumps({shown}))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["run"].endswith("runs/api/model.pt")
    assert said["recordings"] == 3  # the typed-config evaluate of the second block
    assert {p.name for p in (tmp_path / "data").glob("*.csv")} >= {"train.csv", "val.csv"}
    tables = sorted((tmp_path / "predictions").glob("night*.selections.txt"))
    assert len(tables) == 3 and all(isinstance(read_table(t), list) for t in tables)
