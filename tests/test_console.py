"""Progress lines when stderr is not a terminal, the per-run log file, and --quiet."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from animal_spot import console
from animal_spot.synthetic import synthesize_clips


@pytest.fixture(autouse=True)
def _loud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(console.QUIET_VARIABLE, raising=False)
    console.set_quiet(False)


def test_progress_in_a_log_prints_whole_lines_periodically_and_at_the_end(capsys):
    bar = console.progress(4, "steps", unit="clip", interval_s=0.05)
    for _ in range(4):
        time.sleep(0.08)
        bar.update()
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(lines)  # a log file gets lines, not a redrawn bar
    assert lines[-1].startswith("steps: 100%") and "4/4" in lines[-1]
    assert 2 <= len(lines) <= 5  # one per update at most, the closing one not repeated
    assert len(set(lines)) == len(lines)


def test_a_step_shorter_than_the_interval_prints_nothing(capsys):
    with console.progress(1000, "quick", interval_s=60) as bar:
        bar.update(1000)
    assert capsys.readouterr().err == ""


def test_quiet_silences_progress_and_status_lines(capsys):
    console.set_quiet(True)
    bar = console.progress(2, "steps", interval_s=0.0)
    bar.update(2)
    bar.close()
    console.say("a status line")
    logging.getLogger("animal_spot.test").warning("a warning still shows")
    assert capsys.readouterr().err == ""  # the warning goes to logging, not the console logger
    assert not console.is_interactive()


def test_run_log_holds_info_lines_while_the_console_keeps_warnings(tmp_path, capsys):
    log = logging.getLogger("animal_spot.test")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.NOTSET)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with console.run_log(tmp_path / "runs" / "r" / "train.log") as path:
            console.say("settings: resnet18")
            log.info("an info line")
            log.warning("a warning")
    finally:
        root.removeHandler(handler)
    text = path.read_text(encoding="utf-8")
    assert "settings: resnet18" in text and "an info line" in text and "a warning" in text
    err = capsys.readouterr().err
    assert "an info line" not in err  # the console stayed at WARNING
    assert "a warning" in err and "settings: resnet18" in err
    log.info("after the run")
    assert "after the run" not in path.read_text(encoding="utf-8")  # the file was let go


def test_a_failed_run_leaves_no_folder_holding_only_its_log(tmp_path):
    target = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError), console.run_log(target / "prepare.log"):
        raise RuntimeError("bad source")
    assert not (tmp_path / "new").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "animal_spot.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_prepare_writes_its_log_and_quiet_keeps_stderr_empty(tmp_path):
    made = synthesize_clips(tmp_path / "clips", classes=("tone", "noise"), clips_per_class=6)
    loud = _cli("prepare", "--clips_dir", str(made.folder), "--out", str(tmp_path / "a"))
    assert loud.returncode == 0, loud.stderr
    log = (tmp_path / "a" / "prepare.log").read_text(encoding="utf-8")
    assert "INFO" in log  # timed records of the run
    quiet = _cli(
        "prepare", "--quiet", "--clips_dir", str(made.folder), "--out", str(tmp_path / "b")
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "train" in quiet.stdout  # results are still printed
    before = _cli(
        "--quiet", "prepare", "--clips_dir", str(made.folder), "--out", str(tmp_path / "c")
    )
    assert before.returncode == 0 and before.stderr == ""
