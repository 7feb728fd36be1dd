"""Call-free recordings, seconds flagged per hour, and detector labels against typed references."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import write_table
from animal_spot.evaluation import evaluate
from animal_spot.evaluation.matching import match_events
from animal_spot.evaluation.metrics import count_by_class, count_overall, covered_s
from tests.conftest import write_wav

RATE_HZ = 1000
CALLS = [Event(10.0, 11.0, "upcall"), Event(30.0, 31.5, "upcall")]


@pytest.fixture
def night(tmp_path: Path) -> Path:
    """rec1 (60 s, two calls, one false 1 s event) and quiet1 (120 s, no calls, a 100 s event)."""
    write_wav(tmp_path / "audio" / "rec1.wav", 60.0, sample_rate_hz=RATE_HZ)
    write_wav(tmp_path / "background" / "quiet1.wav", 120.0, sample_rate_hz=RATE_HZ)
    write_table(CALLS, tmp_path / "references" / "rec1.Table.1.selections.txt")
    predicted = [Event(10.1, 11.0, "upcall"), Event(30.0, 31.0, "upcall"), Event(50, 51, "upcall")]
    write_table(predicted, tmp_path / "predicted" / "rec1.selections.txt")
    quiet = [Event(5.0, 105.0, "upcall"), Event(110.0, 111.0, "upcall")]
    write_table(quiet, tmp_path / "predicted" / "quiet1.selections.txt")
    return tmp_path


def test_call_free_recordings_make_every_event_false_and_count_their_hours(night):
    result = evaluate(
        night / "predicted",
        night / "references",
        audio_dir=night / "audio",
        background=night / "background",
    )
    overall = result.overall
    assert (overall.true_positives, overall.false_positives, overall.false_negatives) == (2, 3, 0)
    assert result.duration_s == pytest.approx(180.0)
    assert overall.false_positives_per_hour == pytest.approx(3 / 0.05)
    # The 100 s event weighs 100 s, not "one false positive".
    assert overall.false_positive_s == pytest.approx(102.0)
    assert overall.false_positive_s_per_hour == pytest.approx(102.0 / 0.05)
    assert overall.flagged_s == pytest.approx(0.9 + 1.0 + 1.0 + 101.0)
    quiet = next(r for r in result.recordings if r.name == "quiet1")
    assert quiet.is_background and quiet.reference_table is None
    assert quiet.duration_source == "audio header"
    assert result.per_recording["quiet1"].false_positive_s_per_hour == pytest.approx(101 * 30)
    assert "(1 call-free)" in result.format_text()
    assert "FP s/h" in result.format_text()


def test_without_background_the_tables_left_out_are_counted_in_one_warning(night, caplog):
    with caplog.at_level(logging.WARNING, logger="animal_spot.evaluation.run"):
        result = evaluate(night / "predicted", night / "references", audio_dir=night / "audio")
    assert [r.name for r in result.recordings] == ["rec1"]
    assert result.overall.false_positives == 1
    assert result.duration_s == pytest.approx(60.0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("1 predicted tables had no reference table and were left out")
    assert "--background" in warnings[0]
    assert result.notes == warnings


def test_background_given_as_predicted_tables_needs_no_reference_folder(night):
    only = evaluate(
        night / "predicted",
        None,
        background=[night / "background", night / "predicted" / "quiet1.selections.txt"],
    )
    assert [r.name for r in only.recordings] == ["quiet1"]
    assert only.overall.false_positives == 2 and only.overall.true_positives == 0
    assert only.overall.false_positives_per_hour == pytest.approx(60.0)  # 2 in 120 s


def test_a_background_recording_without_predictions_is_listed_as_left_out(night):
    write_wav(night / "background" / "quiet2.wav", 10.0, sample_rate_hz=RATE_HZ)
    result = evaluate(night / "predicted", night / "references", background=night / "background")
    assert ("quiet2", "background recording without predictions") in result.unpaired


def test_detector_predictions_against_typed_references_are_matched_class_agnostically(night):
    detector = [Event(10.1, 11.0, "target"), Event(30.0, 31.0, "target")]
    write_table(detector, night / "detector" / "rec1.selections.txt")
    result = evaluate(night / "detector", night / "references")
    assert result.overall.true_positives == 2
    assert result.settings["is_class_agnostic"] is True
    assert len(result.notes) == 1 and "--class_agnostic" in result.notes[0]
    assert "upcall" in result.notes[0]
    write_table([Event(10, 11, "target")], night / "typed" / "rec1.Table.1.selections.txt")
    exact = evaluate(night / "detector", night / "typed")
    assert exact.notes == [] and exact.settings["is_class_agnostic"] is False


def test_covered_seconds_count_overlaps_once_and_overall_unites_the_labels():
    assert covered_s([Event(0, 2, "a"), Event(1, 3, "a"), Event(5, 6, "a")]) == pytest.approx(4)
    assert covered_s([]) == 0
    predicted = [Event(0, 10, "a"), Event(5, 12, "b"), Event(20, 21, "b")]
    matching = match_events(predicted, [Event(20, 21, "b")])
    per_class = count_by_class([matching])
    assert per_class["a"].false_positive_s == pytest.approx(10)
    assert per_class["b"].false_positive_s == pytest.approx(7)
    assert per_class["b"].flagged_s == pytest.approx(8)
    overall = count_overall([matching], duration_s=3600)
    assert overall.false_positive_s == pytest.approx(12)  # 0–12 s, the overlap once
    assert overall.false_positive_s_per_hour == pytest.approx(12)
    assert overall.flagged_s_per_hour == pytest.approx(13)


def test_evaluate_command_takes_background_and_writes_flagged_seconds(night):
    out = night / "out"
    done = subprocess.run(
        [
            sys.executable, "-m", "animal_spot", "evaluate",
            "--predictions", night / "predicted", "--references", night / "references",
            "--background", night / "background", "--audio_dir", night / "audio",
            "--output_dir", out,
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads((out / "evaluation.json").read_text())
    assert figures["overall"]["false_positive_s"] == pytest.approx(102.0)
    assert figures["settings"]["background"] == [str(night / "background")]
    assert [r["is_background"] for r in figures["recordings"]] == [True, False]
    rows = {row["class"]: row for row in csv.DictReader((out / "evaluation.csv").open())}
    assert float(rows["overall"]["false_positive_s_per_hour"]) == pytest.approx(2040.0)
    assert float(rows["overall"]["flagged_s_per_hour"]) == pytest.approx(103.9 * 20)
    assert "FP s/h" in done.stdout and "WARNING" not in done.stderr
    bare = subprocess.run(
        [
            sys.executable, "-m", "animal_spot", "evaluate",
            "--predictions", night / "predicted", "--references", night / "references",
            "--output_dir", night / "bare",
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bare.returncode == 0, bare.stderr
    assert bare.stderr.count("left out") == 1 and "--background" in bare.stderr
