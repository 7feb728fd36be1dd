"""A predict folder's prediction.json and report.html, from a real run of a trained model."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import pytest

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import read_table
from animal_spot.cli import main
from animal_spot.reporting import prediction as report_module
from animal_spot.reporting.prediction import hourly_counts, render
from animal_spot.reporting.predictions import (
    PredictedRecording,
    PredictionFolder,
    read_prediction_folder,
    start_time,
)

from .conftest import (
    HOSTILE,
    RECORDINGS,
    Chain,
    assert_real_png,
    assert_self_contained,
    embedded_pngs,
    predict_into,
    section_ids,
)

SECTIONS = [
    "summary",
    "classes",
    "recordings",
    "hourly",
    "timelines",
    "score-tracks",
    "top-detections",
    "errors",
]
SUMMARY_KEYS = {
    "input", "output_dir", "models", "classes", "thresholds", "recordings", "errors", "hours",
    "wall_s", "x_real_time", "n_events", "written",
}  # fmt: skip
RECORDING_KEYS = {"name", "path", "duration_s", "selections", "scores", "n_events", "status"}


def summary(folder: Path) -> dict:
    return json.loads((folder / "prediction.json").read_text(encoding="utf-8"))


def page(chain: Chain) -> str:
    return (chain.predictions / "report.html").read_text(encoding="utf-8")


def test_prediction_json_holds_every_key_with_paths_that_lead_to_the_outputs(chain: Chain):
    values = summary(chain.predictions)
    assert set(values) == SUMMARY_KEYS
    assert values["input"] == str(chain.inputs.absolute())
    assert values["output_dir"] == str(chain.predictions.absolute())
    assert values["models"] == [str(chain.model.absolute())]
    assert values["classes"] == ["noise", HOSTILE]
    assert values["thresholds"] == {"noise": 0.5, HOSTILE: 0.5}
    assert [r["name"] for r in values["recordings"]] == sorted(f"{n}.wav" for n, *_ in RECORDINGS)
    for entry, (name, duration_s, _) in zip(values["recordings"], sorted(RECORDINGS), strict=True):
        assert set(entry) == RECORDING_KEYS
        assert entry["path"] == str((chain.inputs / f"{name}.wav").absolute())
        assert entry["duration_s"] == pytest.approx(duration_s)
        assert entry["status"] == "predicted"
        table = read_table(chain.predictions / entry["selections"])
        assert entry["n_events"] == len(table)
        assert (chain.predictions / entry["scores"]).is_file()
    assert (
        values["n_events"]
        == chain.predicted.n_events
        == sum(r["n_events"] for r in values["recordings"])
    )
    assert [e["file"] for e in values["errors"]] == [str(chain.inputs / "broken.wav")]
    total_s = sum(duration_s for _, duration_s, _ in RECORDINGS)
    assert values["hours"] == pytest.approx(total_s / 3600)
    assert values["wall_s"] > 0
    assert values["x_real_time"] == pytest.approx(total_s / values["wall_s"])
    assert datetime.fromisoformat(values["written"]).tzinfo is not None


def test_names_in_prediction_json_are_those_of_the_combined_tables_begin_file(chain: Chain):
    lines = (chain.predictions / "all.selections.txt").read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("Begin File")
    files = {line.split("\t")[column] for line in lines[1:]}
    named = {r["name"] for r in summary(chain.predictions)["recordings"] if r["n_events"]}
    assert files == named


def test_a_resumed_run_keeps_earlier_recordings_as_done_before(chain: Chain, tmp_path: Path):
    first = summary(chain.predictions)
    out = tmp_path / "again"
    predict_into(chain.model, chain.inputs, out, report=False)
    predict_into(chain.model, chain.inputs, out, report=False)
    values = summary(out)
    assert {r["status"] for r in values["recordings"]} == {"done before"}
    assert [r["duration_s"] for r in values["recordings"]] == [
        r["duration_s"] for r in first["recordings"]
    ]
    assert values["hours"] == 0 and values["x_real_time"] is None
    assert values["n_events"] == first["n_events"]


def test_the_report_has_every_section_with_a_heading(chain: Chain):
    assert section_ids(page(chain)) == SECTIONS


def test_every_embedded_image_is_a_real_png(chain: Chain):
    images = embedded_pngs(page(chain))
    # hourly, a timeline and a score track per recording, at least one top detection
    assert len(images) >= 1 + 2 * len(RECORDINGS) + 1
    for data in images:
        assert_real_png(data)


def test_the_report_needs_nothing_from_outside(chain: Chain):
    assert_self_contained(page(chain))


def test_labels_and_names_are_html_escaped(chain: Chain):
    text = page(chain)
    assert HOSTILE not in text
    assert "&lt;script&gt;x" in text


def test_the_report_shows_the_run_and_the_inputs_left_out(chain: Chain):
    text = page(chain)
    assert "× real time" in text and "broken.wav" in text
    assert "Recording start times are unknown" in text
    for name, *_ in RECORDINGS:
        assert f"<h3>{name}.wav</h3>" in text


def test_the_top_detections_are_the_highest_scored_events(chain: Chain):
    folder = read_prediction_folder(chain.predictions)
    top = report_module.top_detections(folder, HOSTILE)
    every = sorted((e.score or 0.0 for r in folder.recordings for e in r.events), reverse=True)
    assert [e.score for _, e in top] == every[: report_module.MAX_TOP]


def test_no_report_flag_and_environment_switch_leave_the_report_out(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "1")
    flags = ["--model_path", str(chain.model), "--input_file", str(chain.inputs / "dawn.wav")]
    assert main(["predict", *flags, "--output_dir", str(tmp_path / "flag"), "--no_report"]) == 0
    assert (tmp_path / "flag" / "prediction.json").is_file()
    assert not (tmp_path / "flag" / "report.html").exists()
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "0")
    predict_into(chain.model, chain.inputs / "dawn.wav", tmp_path / "quiet")
    assert not (tmp_path / "quiet" / "report.html").exists()
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "1")
    predict_into(chain.model, chain.inputs / "dawn.wav", tmp_path / "loud")
    assert (tmp_path / "loud" / "report.html").is_file()


def test_a_failing_report_is_a_warning_and_the_prediction_stands(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
):
    def broken(folder: Path) -> Path:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report_module, "write_prediction_report", broken)
    with caplog.at_level(logging.WARNING):
        result = predict_into(chain.model, chain.inputs / "dawn.wav", tmp_path, report=True)
    assert result.predicted and (tmp_path / "prediction.json").is_file()
    assert (tmp_path / "dawn.selections.txt").is_file()
    assert not (tmp_path / "report.html").exists()
    assert any("no report written (drawing failed)" in r.getMessage() for r in caplog.records)


def test_the_report_verb_writes_a_prediction_folders_report(chain: Chain, tmp_path, capsys):
    folder = tmp_path / "copy"
    predict_into(chain.model, chain.inputs / "dawn.wav", folder, report=False)
    assert main(["report", str(folder)]) == 0
    assert f"wrote {folder / 'report.html'}" in capsys.readouterr().out
    assert section_ids((folder / "report.html").read_text(encoding="utf-8")) == SECTIONS


def test_the_report_verb_names_what_it_accepts_in_one_line(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("nothing to report")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "prediction.json" in err and "evaluation.json" in err and "model.pt" in err


def test_hours_of_day_come_from_start_times_in_the_names():
    assert start_time("site3/20240501_221500.wav") == datetime(2024, 5, 1, 22, 15, 0)
    assert start_time("night.wav") is None and start_time("20241399_000000.wav") is None
    late = PredictedRecording(
        name="20240501_233000.wav", path=Path("x"), duration_s=7200.0, selections=Path("x"),
        scores=Path("x"), status="predicted",
        events=[Event(60.0, 61.0, "a"), Event(1900.0, 1901.0, "a"), Event(7000.0, 7001.0, "b")],
    )  # fmt: skip
    counts, label, why = hourly_counts([late], ["a", "b"])
    assert why is None and "hour of day" in label
    assert counts["a"][23] == 1 and counts["a"][0] == 1 and counts["b"][1] == 1
    assert len(counts["a"]) == 24


def test_a_big_run_draws_a_bounded_number_of_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(report_module, "MAX_DRAWN", 2)
    recordings = [
        PredictedRecording(
            name=f"r{i}.wav", path=tmp_path / f"r{i}.wav", duration_s=30.0,
            selections=tmp_path / "none", scores=tmp_path / "none", status="done before",
            events=[Event(1.0 + k, 1.5 + k, "a", score=0.5 + i / 10) for k in range(i)],
        )
        for i in range(5)
    ]  # fmt: skip
    values = {"classes": ["a"], "thresholds": {"a": 0.5}}
    folder = PredictionFolder(tmp_path, values, recordings, [])
    text = render(folder)
    assert text.count("<h3>r4.wav</h3>") == 2 and "<h3>r0.wav</h3>" not in text
    assert text.count("3 more are not") == 2  # said under the timelines and the score tracks
    assert "no score track" in text and "audio not shown" in text  # missing files, no failure


def test_an_explicit_choice_beats_the_environment(monkeypatch: pytest.MonkeyPatch):
    from animal_spot.reporting import switch
    from animal_spot.reporting.switch import REPORT_VARIABLE

    monkeypatch.setenv(REPORT_VARIABLE, "0")
    assert not switch.is_report_wanted() and switch.is_report_wanted(True)
    monkeypatch.setenv(REPORT_VARIABLE, "1")
    assert switch.is_report_wanted() and not switch.is_report_wanted(False)
