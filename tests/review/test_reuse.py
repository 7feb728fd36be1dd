"""Verdict tables read back: as training clips by prepare, as references by evaluate."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from animal_spot.data.prepare import prepare
from animal_spot.evaluation import evaluate
from animal_spot.review import Review

from .conftest import Folder, find, write_predictions

# (recording, start_s) → verdict, label: 2 correct, 2 relabelled, 3 wrong.
VERDICTS = {
    ("a.wav", 0.2): ("wrong", None),
    ("a.wav", 1.0): ("correct", None),
    ("a.wav", 3.0): ("relabel", "upsweep"),
    ("a.wav", 5.0): ("wrong", None),
    ("a.wav", 6.0): ("correct", None),
    ("site2/b.wav", 1.5): ("relabel", "tone"),
    ("site2/b.wav", 3.5): ("wrong", None),
}


def review_all(review: Review) -> None:
    for (recording, start_s), (verdict, label) in VERDICTS.items():
        review.mark(find(review, recording, start_s), verdict, label)


def test_prepare_reads_the_verdicts_as_clips_with_the_reviewed_labels(folder: Folder, tmp_path):
    review_all(folder.open())
    result = prepare(
        tmp_path / "data",
        raven_dir=folder.reviewed,
        audio_dir=folder.audio,
        window_s=1.0,
        split=(1.0, 0.0, 0.0),
    )
    with (result.out_dir / "train.csv").open(newline="") as handle:
        clips = list(csv.DictReader(handle))
    by_recording = Counter((Path(c["path"]).name, c["label"]) for c in clips)
    assert by_recording == {
        ("a.wav", "tone"): 2,
        ("a.wav", "upsweep"): 1,
        ("a.wav", "noise"): 2,
        ("b.wav", "tone"): 1,
        ("b.wav", "noise"): 1,
    }
    noise = next(c for c in clips if c["label"] == "noise" and Path(c["path"]).name == "b.wav")
    assert float(noise["start_s"]) == pytest.approx(3.0)  # widened to the 1 s window, in the file
    assert float(noise["end_s"]) == pytest.approx(4.0)


# Per predicted class: (true positives, false positives) against the verdicts; a relabelled
# detection is a false positive of its class and a miss of the class it was given.
EXPECTED = {"tone": (2, 3), "upsweep": (0, 2)}


def check_figures(result) -> None:
    for label, (tp, fp) in EXPECTED.items():
        figures = result.per_class[label]
        assert (figures.true_positives, figures.false_positives) == (tp, fp), label
    assert result.per_class["upsweep"].false_negatives == 1
    assert result.per_class["tone"].false_negatives == 1
    assert result.overall.true_positives == 2 and result.overall.false_positives == 5


def test_evaluate_takes_verdict_tables_kept_apart_as_references(tmp_path):
    folder = write_predictions(tmp_path)
    review = folder.open(out_dir=tmp_path / "verdicts")
    review_all(review)
    result = evaluate(folder.predictions, tmp_path / "verdicts", output_dir=tmp_path / "ev")
    assert {r.name for r in result.recordings} == {"a", "b"}
    check_figures(result)


def test_evaluate_takes_the_default_verdict_folder_inside_the_predictions(folder: Folder, tmp_path):
    review_all(folder.open())
    result = evaluate(folder.predictions, folder.reviewed, output_dir=tmp_path / "ev")
    check_figures(result)
