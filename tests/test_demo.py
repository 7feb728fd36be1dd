"""`animal-spot demo` runs the whole chain on its synthetic example, as `make demo` does."""

from __future__ import annotations

import json
import subprocess
import sys


def test_quick_demo_prepares_trains_predicts_and_evaluates(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "animal_spot", "demo", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("click", "noise", "tone", "upsweep"):
        assert (tmp_path / "spectrograms" / f"{name}.png").stat().st_size > 1000
    metrics = json.loads((tmp_path / "runs" / "demo" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.5  # four classes: chance is 0.25
    assert (tmp_path / "predictions" / "site1.selections.txt").is_file()
    evaluation = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert evaluation["overall"]["recall"] >= 0.5
    assert "overall" in done.stdout and "trained ResNet-18" in done.stdout
