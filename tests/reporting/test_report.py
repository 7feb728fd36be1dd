"""A trained run's report.html: every section, embedded images only, escaped labels; quiet logs."""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib.image
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from animal_spot.data.manifest import read_manifest, write_manifest
from animal_spot.data.prepare import prepare
from animal_spot.reporting.run import read_run
from animal_spot.reporting.scoring import score_test_split
from animal_spot.synthetic import synthesize_clips
from animal_spot.training.fit import TrainResult, _write_report

SECTIONS = (
    "summary",
    "curves",
    "confusion",
    "per-class",
    "histograms",
    "mistakes",
    "audit",
    "config",
)
HOSTILE = "<script>click"  # a label that would run as code if written unescaped
SMALL_FLAGS = [
    "--sr", "16000", "--n_fft", "256", "--hop_length", "128", "--n_freq_bins", "32",
    "--fmin", "200", "--fmax", "7000", "--sequence_len", "500",
]  # fmt: skip
EPOCH_LINE = re.compile(
    r"^epoch (\d+)/2: train loss (\d+\.\d{3}), val loss (\d+\.\d{3}), "
    r"val accuracy (\d\.\d{3}), lr (\d\.\de[-+]\d+)$"
)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ANIMAL_SPOT_REPORT": "1"}
    command = [sys.executable, "-m", "animal_spot.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    run_dir: Path
    train: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """One tiny 2-epoch run (through the CLI) on synthetic calls, one label holding markup."""
    folder = tmp_path_factory.mktemp("report")
    made = synthesize_clips(
        folder / "clips", classes=("tone", "upsweep", "click"), clips_per_class=12, n_tapes=20
    )
    prepared = folder / "prepared"
    prepare(prepared, clips_dir=made.folder, seed=0)
    for name in ("train", "val", "test"):
        path = prepared / f"{name}.csv"
        clips = [
            dataclasses.replace(c, label=HOSTILE) if c.label == "click" else c
            for c in read_manifest(path)
        ]
        write_manifest(clips, path)
    model_dir = folder / "runs"
    result = cli(
        "train", "--data_dir", str(prepared), "--model_dir", str(model_dir), "--run_name", "r",
        *SMALL_FLAGS, "--max_train_epochs", "2", "--epochs_per_eval", "1", "--batch_size", "8",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return TrainedRun(model_dir / "r", result)


@pytest.fixture(scope="module")
def report(trained: TrainedRun) -> tuple[str, subprocess.CompletedProcess[str]]:
    """The report written again by the ``report`` verb, and that command's result."""
    (trained.run_dir / "report.html").unlink()
    result = cli("report", str(trained.run_dir))
    assert result.returncode == 0, result.stderr
    return (trained.run_dir / "report.html").read_text(encoding="utf-8"), result


def train_losses(run_dir: Path) -> list[float]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return [s.value for s in events.Scalars("train/loss")]


def test_train_prints_one_line_per_epoch_and_no_tip_or_repeated_line(trained: TrainedRun) -> None:
    lines = trained.train.stderr.splitlines()
    assert not [line for line in lines if "litlogger" in line or "Tip" in line]
    repeated = [line for line, n in Counter(lines).items() if n > 1 and line.strip()]
    assert repeated == []
    epochs = [EPOCH_LINE.match(line) for line in lines]
    found = [m for m in epochs if m is not None]
    assert [int(m.group(1)) for m in found] == [1, 2]
    # The printed losses are the ones TensorBoard holds for the same epochs.
    logged = train_losses(trained.run_dir)
    assert [float(m.group(2)) for m in found] == pytest.approx(logged, abs=5e-4)
    assert lines[0].startswith("training a classifier of 3 classes")
    assert "device cpu" in lines[0] or "device cuda" in lines[0]
    # The same lines, timed, in the run's own log; no progress bar drawn into a pipe.
    log = (trained.run_dir / "train.log").read_text(encoding="utf-8")
    assert sum(" INFO animal_spot.console: epoch " in line for line in log.splitlines()) == 2
    assert "\r" not in trained.train.stderr and "it/s]" not in trained.train.stderr


def test_train_writes_the_report_at_the_end(trained: TrainedRun) -> None:
    # The report fixture removes it afterwards; this test runs first in file order.
    path = trained.run_dir / "report.html"
    assert path.is_file() and path.stat().st_size > 10_000


def test_report_has_every_section_with_a_heading(
    report: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    page, _ = report
    for key in SECTIONS:
        assert re.search(rf'<section id="{key}"><h2>[^<]+</h2>', page), key


def test_every_embedded_image_is_a_real_png(
    report: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    page, _ = report
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    # curves, 2 confusion heatmaps, per-class bars, histograms, at least one mistake
    assert len(images) >= 6
    for encoded in images:
        data = base64.b64decode(encoded, validate=True)
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
        assert pixels.shape[0] >= 100 and pixels.shape[1] >= 150
        assert pixels.std() > 0.01  # not a blank canvas


def test_report_needs_nothing_from_outside(
    report: tuple[str, subprocess.CompletedProcess[str]],
) -> None:
    page, _ = report
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page.lower() and "<script" not in page.lower()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)


def test_labels_are_html_escaped(report: tuple[str, subprocess.CompletedProcess[str]]) -> None:
    page, _ = report
    assert HOSTILE not in page
    assert "&lt;script&gt;click" in page


def test_report_verb_prints_the_path_and_a_file_uri(
    trained: TrainedRun, report: tuple[str, subprocess.CompletedProcess[str]]
) -> None:
    _, result = report
    path = (trained.run_dir / "report.html").resolve()
    assert f"open it in a browser: {path.as_uri()}" in result.stdout.splitlines()


def test_scored_confusion_matrix_agrees_with_the_stored_test_accuracy(trained: TrainedRun) -> None:
    run = read_run(trained.run_dir)
    scores = score_test_split(run)
    assert scores is not None
    matrix = scores.confusion()
    assert matrix.sum() == len(read_manifest(run.data_dir / "test.csv"))  # type: ignore[operator]
    accuracy = matrix.trace() / matrix.sum()
    assert accuracy == pytest.approx(run.metrics["test"]["accuracy"], abs=1e-6)


def test_report_of_a_folder_that_is_not_a_run_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    result = cli("report", str(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and str(tmp_path) in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failing_report_is_a_warning_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "config.toml").write_text("[train]\nnot_a_field = 1\n")
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "model.pt").write_bytes(b"")
    result = TrainResult(tmp_path, tmp_path / "model.pt", {})
    with caplog.at_level(logging.WARNING):
        _write_report(tmp_path, result)
    assert any("no report written" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "report.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_run_report_renders_in_a_real_browser(
    trained: TrainedRun, report: tuple[str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    from tests.browser import console_errors, open_browser, save_screenshot

    with open_browser() as driver:
        driver.get((trained.run_dir / "report.html").resolve().as_uri())
        widths = driver.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)"
        )
        assert len(widths) >= 6 and all(width > 0 for width in widths), widths
        ids = driver.execute_script(
            "return Array.from(document.querySelectorAll('section')).map(s => s.id)"
        )
        assert ids == list(SECTIONS)
        assert console_errors(driver) == []
        shot = save_screenshot(driver, tmp_path / "run-report.png")
    assert shot.stat().st_size > 10_000
