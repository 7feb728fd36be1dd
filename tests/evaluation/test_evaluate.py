"""`evaluate` and `animal-spot evaluate` (in a subprocess) on tables and score CSVs written here."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table, write_table
from animal_spot.bundle import load_model
from animal_spot.errors import BadModel
from animal_spot.evaluation import evaluate, recording_name
from animal_spot.prediction.events import from_scores
from animal_spot.prediction.scores import write_scores

from .test_curves import REFERENCES, TRACK, small_model
from .test_matching import PREDICTIONS
from .test_matching import REFERENCES as CRAFTED_REFERENCES


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "animal_spot", "evaluate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    """The crafted tables of test_matching split over two recordings, plus one stray table."""
    predicted, reference = tmp_path / "predicted", tmp_path / "reference"
    write_table(PREDICTIONS[:2], predicted / "rec1.selections.txt")
    write_table(PREDICTIONS[2:], predicted / "rec2.selections.txt")
    write_table([Event(1.0, 2.0, "a")], predicted / "rec3.selections.txt")
    write_table(CRAFTED_REFERENCES[:2], reference / "rec1.Table.1.selections.txt")
    write_table(CRAFTED_REFERENCES[2:], reference / "sub" / "rec2.Table.1.selections.txt")
    return predicted, reference


def test_raven_tables_round_trip_through_write_and_read(tables):
    predicted, _ = tables

    assert read_table(predicted / "rec1.selections.txt") == PREDICTIONS[:2]


@pytest.mark.parametrize(
    ("name", "recording"),
    [
        ("rec1.selections.txt", "rec1"),
        ("rec1.Table.1.selections.txt", "rec1"),
        ("rec1_predict_output.log.annotation.result.txt", "rec1"),
        ("site.2024.selections.txt", "site.2024"),
    ],
)
def test_a_table_name_gives_its_recording(name, recording):
    assert recording_name(name) == recording


def test_evaluate_command_writes_the_hand_computed_figures(tables, tmp_path):
    predicted, reference = tables
    out = tmp_path / "out"

    done = run_cli(
        "--predictions", predicted, "--references", reference, "--output_dir", out,
        "--duration_s", 1800,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    figures = json.loads((out / "evaluation.json").read_text())
    overall = figures["overall"]
    assert (overall["true_positives"], overall["false_positives"]) == (2, 2)
    assert overall["false_negatives"] == 1
    assert overall["precision"] == pytest.approx(0.5)
    assert overall["recall"] == pytest.approx(2 / 3)
    assert overall["f1"] == pytest.approx(4 / 7)
    assert overall["false_positives_per_hour"] == pytest.approx(4.0)
    assert figures["per_class"]["b"]["recall"] == 1.0
    assert [r["name"] for r in figures["recordings"]] == ["rec1", "rec2"]
    assert figures["unpaired"][0]["file"].endswith("rec3.selections.txt")
    rows = {row["class"]: row for row in csv.DictReader((out / "evaluation.csv").open())}
    assert rows["a"]["true_positives"] == "1"
    assert float(rows["overall"]["f1"]) == pytest.approx(4 / 7)
    assert "overall" in done.stdout
    assert "50.0 %" in done.stdout
    assert not (out / "pr_curve.png").exists()


def test_evaluate_command_chooses_thresholds_from_scores_and_stores_them(tmp_path):
    predicted, reference = tmp_path / "predicted", tmp_path / "reference"
    write_scores([TRACK], predicted / "rec.scores.csv")
    write_table(from_scores(TRACK, {"call": 0.5}), predicted / "rec.selections.txt")
    write_table(REFERENCES, reference / "rec.Table.1.selections.txt")
    model = small_model(tmp_path / "model.pt", thresholds={"call": 0.5})
    out = tmp_path / "out"

    done = run_cli(
        "--predictions", predicted, "--references", reference, "--scores", predicted,
        "--target_precision", 0.9, "--write_thresholds", model, "--n_thresholds", 21,
        "--output_dir", out,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    figures = json.loads((out / "evaluation.json").read_text())
    # Precision reaches 0.9 only once window 6 (0.6) drops out: the first step above it is 0.65.
    assert figures["thresholds"]["call"]["threshold"] == pytest.approx(0.65)
    assert figures["thresholds"]["call"]["rule"] == "target_precision"
    assert load_model(model).thresholds["call"] == pytest.approx(0.65)
    assert figures["pr_curves"]["call"]["average_precision"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # 1 false positive in the 10 s the scores cover.
    assert figures["overall"]["false_positives_per_hour"] == pytest.approx(360.0)
    assert (out / "pr_curve.png").read_bytes().startswith(b"\x89PNG")
    assert "threshold call: 0.650" in done.stdout


def test_evaluate_api_pairs_one_table_with_another_whatever_their_names(tmp_path):
    write_table(PREDICTIONS, tmp_path / "mine.txt")
    write_table(CRAFTED_REFERENCES, tmp_path / "truth.txt")

    result = evaluate(tmp_path / "mine.txt", tmp_path / "truth.txt", onset_tolerance_s=0.8)

    assert result.overall is not None
    assert (result.overall.true_positives, result.overall.false_positives) == (3, 1)
    assert result.files == []  # no output_dir, nothing written


def test_scores_alone_give_curves_and_thresholds_but_no_table_figures(tmp_path):
    write_scores([TRACK], tmp_path / "rec.scores.csv")
    write_table(REFERENCES, tmp_path / "refs" / "rec.Table.1.selections.txt")

    result = evaluate(
        None, tmp_path / "refs", scores=tmp_path / "rec.scores.csv", events_from_scores=from_scores
    )

    assert result.overall is None
    # F1 peaks at 0.8 for every step from 0.01 to 0.30 (events change only at scores 0 and 0.3).
    assert result.thresholds["call"].threshold == pytest.approx(0.16)  # the plateau's middle
    assert result.thresholds["call"].f1 == pytest.approx(0.8)
    assert result.duration_s == 10.0


def test_thresholds_for_a_model_of_other_classes_are_refused_before_the_sweep(tmp_path):
    write_scores([TRACK], tmp_path / "rec.scores.csv")
    write_table(REFERENCES, tmp_path / "refs" / "rec.Table.1.selections.txt")
    model = small_model(tmp_path / "model.pt", classes=("noise", "upcall"))

    with pytest.raises(BadModel, match="'call'"):
        evaluate(
            None, tmp_path / "refs", scores=tmp_path, write_thresholds_to=model, n_thresholds=3
        )
    assert load_model(model).thresholds == {}


def test_a_reference_table_without_end_times_exits_2_with_one_line(tables, tmp_path):
    predicted, _ = tables
    broken = tmp_path / "broken.Table.1.selections.txt"
    broken.write_text("Selection\tBegin Time (s)\tAnnotation\n1\t1.0\ta\n")

    done = run_cli("--predictions", predicted / "rec1.selections.txt", "--references", broken)

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "End Time (s)" in done.stderr


@pytest.mark.parametrize("wrong", ["missing_folder", "scores_not_csv"])
def test_wrong_files_exit_2_with_one_line(tables, tmp_path, wrong):
    _, reference = tables
    if wrong == "missing_folder":
        args = ["--predictions", tmp_path / "nowhere", "--references", reference]
    else:
        (tmp_path / "rec1.scores.csv").write_text("when,what\n1,2\n")
        args = ["--scores", tmp_path / "rec1.scores.csv", "--references", reference]

    done = run_cli(*args, "--output_dir", tmp_path / "out")

    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert "animal-spot evaluate:" in done.stderr


def test_thresholds_without_scores_is_refused(tables):
    predicted, reference = tables

    done = run_cli("--predictions", predicted, "--references", reference, "--target_precision", 1)

    assert done.returncode == 2
    assert "--scores" in done.stderr


def test_the_combined_table_of_a_prediction_folder_is_not_taken_for_a_recording(tmp_path):
    from animal_spot.annotations.event import Event
    from animal_spot.annotations.raven import write_table
    from animal_spot.evaluation import evaluate

    events = [Event(1.0, 2.0, "call")]
    write_table(events, tmp_path / "pred" / "rec.selections.txt")
    write_table(events, tmp_path / "pred" / "all.selections.txt")
    write_table(events, tmp_path / "ref" / "rec.Table.1.selections.txt")
    result = evaluate(tmp_path / "pred", tmp_path / "ref", duration_s=3600)
    assert result.unpaired == [] and result.overall.true_positives == 1
