"""`animal-spot demo` runs the whole chain in a fresh folder, as `make demo` does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.bundle import load_model
from animal_spot.synthetic import synthesize_clips


def demo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    env.pop("ANIMAL_SPOT_REPORT", None)  # a user's shell: reports on
    command = [sys.executable, "-m", "animal_spot", "demo", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    cwd = tmp_path_factory.mktemp("fresh")
    done = demo(cwd, "--quick", "--out", "out")
    assert done.returncode == 0, done.stderr[-3000:]
    return cwd / "out", done.stdout


def test_demo_prepares_trains_predicts_evaluates_and_reports(quick_demo):
    out, stdout = quick_demo
    for name in ("click", "noise", "tone", "upsweep"):
        assert (out / "spectrograms" / f"{name}.png").stat().st_size > 1000
    metrics = json.loads((out / "runs" / "demo" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.5  # four classes: chance is 0.25
    assert (out / "predictions" / "site1.selections.txt").is_file()
    evaluation = json.loads((out / "evaluation" / "evaluation.json").read_text())
    assert evaluation["overall"]["recall"] >= 0.5
    for report in ("runs/demo", "predictions", "evaluation"):
        assert (out / report / "report.html").stat().st_size > 10_000
    assert "trained ResNet-18" in stdout and "overall" in stdout


def test_thresholds_come_from_the_calibration_recording_not_the_scored_one(quick_demo):
    out, stdout = quick_demo
    stored = load_model(out / "runs" / "demo" / "model.pt").thresholds
    calibration = json.loads((out / "calibration" / "evaluation" / "evaluation.json").read_text())
    assert [r["name"] for r in calibration["recordings"]] == ["site0"]
    chosen = {k: v["threshold"] for k, v in calibration["thresholds"].items()}
    assert chosen and stored == pytest.approx(chosen)
    assert "on the calibration recording only" in stdout


def test_demo_says_where_each_output_is_and_how_to_open_it(quick_demo):
    out, stdout = quick_demo
    uris = re.findall(r"file://\S+report\.html", stdout)
    assert len(uris) == 3
    assert all(Path(u.removeprefix("file://")).is_file() for u in uris)
    assert f"animal-spot review {out.resolve()}" in stdout or "animal-spot review" in stdout


def test_demo_on_the_users_own_clips(tmp_path):
    made = synthesize_clips(
        tmp_path / "mine", classes=("tone", "noise"), clips_per_class=12, n_tapes=6
    )
    done = demo(tmp_path, "--quick", "--data", str(made.folder), "--out", "out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "front end from" in done.stdout and "suggested.toml" in done.stdout
    assert (tmp_path / "out" / "runs" / "demo" / "report.html").is_file()
    assert "no --recordings given" in done.stdout
    assert not (tmp_path / "out" / "predictions").exists()


def test_recordings_without_data_is_a_one_line_error(tmp_path):
    done = demo(tmp_path, "--recordings", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--data" in done.stderr
