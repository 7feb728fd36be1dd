"""evaluate's report.html and pr_curve.png, from a real prediction run against its references."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from animal_spot.cli import main
from animal_spot.evaluation import evaluate, plot_pr_curves
from animal_spot.evaluation.curves import chosen_point
from animal_spot.reporting import evaluation as report_module
from animal_spot.reporting import write_evaluation_report

from .conftest import (
    HOSTILE,
    Chain,
    assert_real_png,
    assert_self_contained,
    embedded_pngs,
    section_ids,
)

SECTIONS = [
    "summary",
    "events",
    "per-recording",
    "pr-curves",
    "fp-per-hour",
    "thresholds",
    "notes",
]


def page(chain: Chain) -> str:
    return (chain.evaluation / "report.html").read_text(encoding="utf-8")


def evaluate_again(chain: Chain, output_dir: Path, **kwargs):
    return evaluate(
        chain.predictions,
        chain.references,
        scores=chain.predictions,
        output_dir=output_dir,
        n_thresholds=11,
        **kwargs,
    )


def test_evaluate_writes_the_report_beside_its_figures(chain: Chain):
    assert chain.evaluation / "report.html" in chain.evaluated.files
    assert (chain.evaluation / "pr_curve.png").is_file()


def test_the_report_has_every_section_with_a_heading(chain: Chain):
    assert section_ids(page(chain)) == SECTIONS


def test_every_embedded_image_is_a_real_png(chain: Chain):
    images = embedded_pngs(page(chain))
    assert len(images) == 2  # the PR curves and FP per hour against recall
    for data in images:
        assert_real_png(data)


def test_the_report_needs_nothing_from_outside(chain: Chain):
    assert_self_contained(page(chain))


def test_labels_are_html_escaped(chain: Chain):
    text = page(chain)
    assert HOSTILE not in text
    assert "<td>&lt;script&gt;x</td>" in text


def test_the_report_holds_the_figures_thresholds_and_the_file_left_out(chain: Chain):
    text = page(chain)
    values = json.loads((chain.evaluation / "evaluation.json").read_text(encoding="utf-8"))
    overall = values["overall"]
    row = (
        f'<td>overall</td><td class="n">{overall["true_positives"]}</td>'
        f'<td class="n">{overall["false_positives"]}</td>'
        f'<td class="n">{overall["false_negatives"]}</td>'
    )
    assert row in text
    chosen = values["thresholds"][HOSTILE]
    assert chosen["rule"] == "max_f1" and chosen["threshold"] is not None
    assert f"{chosen['threshold']:.3f}" in text
    assert "the threshold of the highest F1" in text
    assert "extra" in text and "no reference table of this recording" in text  # unpaired
    for name in ("night", "dawn"):
        assert f"<td>{name}</td>" in text


def test_pr_curve_png_marks_the_chosen_threshold(chain: Chain, tmp_path: Path):
    result = chain.evaluated
    curve = result.curves[HOSTILE]
    threshold = result.thresholds[HOSTILE].threshold
    point = chosen_point(curve, threshold)
    choice = result.thresholds[HOSTILE]
    assert point == pytest.approx((choice.recall, choice.precision))
    plain = plot_pr_curves(result.curves, tmp_path / "plain.png")
    marked = np.asarray(matplotlib.image.imread(chain.evaluation / "pr_curve.png"))
    unmarked = np.asarray(matplotlib.image.imread(plain))
    assert marked.shape == unmarked.shape and not np.array_equal(marked, unmarked)


def test_without_a_known_duration_fp_per_hour_says_so(chain: Chain, tmp_path: Path):
    values = json.loads((chain.evaluation / "evaluation.json").read_text(encoding="utf-8"))
    values["duration_s"] = None
    (tmp_path / "evaluation.json").write_text(json.dumps(values), encoding="utf-8")
    text = write_evaluation_report(tmp_path).read_text(encoding="utf-8")
    assert section_ids(text) == SECTIONS
    assert "The duration of the audio is unknown" in text
    assert len(embedded_pngs(text)) == 1


def test_tables_alone_give_a_report_without_curves(chain: Chain, tmp_path: Path):
    evaluate(chain.predictions, chain.references, output_dir=tmp_path, report=True)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert section_ids(text) == SECTIONS
    assert "No window scores were given" in text and embedded_pngs(text) == []


def test_no_report_flag_and_environment_switch_leave_the_report_out(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "1")
    flags = ["--predictions", str(chain.predictions), "--references", str(chain.references)]
    assert main(["evaluate", *flags, "--output_dir", str(tmp_path / "flag"), "--no_report"]) == 0
    assert (tmp_path / "flag" / "evaluation.json").is_file()
    assert not (tmp_path / "flag" / "report.html").exists()
    monkeypatch.setenv("ANIMAL_SPOT_REPORT", "0")
    evaluate_again(chain, tmp_path / "quiet")
    assert not (tmp_path / "quiet" / "report.html").exists()


def test_a_failing_report_is_a_warning_and_the_evaluation_stands(
    chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
):
    def broken(folder: Path) -> Path:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(report_module, "write_evaluation_report", broken)
    with caplog.at_level(logging.WARNING):
        result = evaluate_again(chain, tmp_path, report=True)
    assert (tmp_path / "evaluation.json").is_file() and result.overall is not None
    assert not (tmp_path / "report.html").exists()
    assert tmp_path / "report.html" not in result.files
    assert any("no report written (drawing failed)" in r.getMessage() for r in caplog.records)


def test_the_report_verb_writes_an_evaluation_folders_report(chain: Chain, tmp_path, capsys):
    folder = tmp_path / "copy"
    folder.mkdir()
    shutil.copy(chain.evaluation / "evaluation.json", folder)
    assert main(["report", str(folder)]) == 0
    assert f"wrote {folder / 'report.html'}" in capsys.readouterr().out
    written = (folder / "report.html").read_text(encoding="utf-8")
    assert section_ids(written) == SECTIONS
    for data in embedded_pngs(written):
        assert_real_png(data)
