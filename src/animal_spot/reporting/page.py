"""``write_run_report``: one self-contained ``report.html`` per run (inline CSS, PNG data URIs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_open
from ..data.manifest import Clip
from . import figures
from .cases import Mistake, worst_mistakes
from .html import STYLE as STYLE
from .html import document, esc, image, section, table
from .run import RunInfo, data_fingerprint, read_curves, read_run
from .scoring import SplitScores, score_test_split

REPORT_NAME = "report.html"


def _figure(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def summary_section(run: RunInfo) -> str:
    test = run.metrics.get("test", {})
    rows: list[tuple[Any, Any]] = [
        ("run", run.run_dir.name),
        ("run directory", run.run_dir.resolve()),
        ("task", run.config.train.task),
        ("classes", ", ".join(run.classes)),
        ("epochs run", run.metrics.get("epochs_run")),
        ("best epoch (counted from 0)", run.metrics.get("best_epoch")),
        ("best validation accuracy", _figure(run.metrics.get("best_val_accuracy"))),
    ]
    for key, name in (
        ("accuracy", "test accuracy"),
        ("mean_per_class_accuracy", "test mean per-class accuracy"),
        ("f1", "test macro-F1"),
    ):
        if key in test:
            rows.append((name, _figure(test[key])))
    rows.append(("data folder", run.data_dir.resolve() if run.data_dir else "not found"))
    rows.append(("data fingerprint (SHA-256 of the manifests)", data_fingerprint(run.data_dir)))
    return section("summary", "Summary", table(rows))


def curves_section(run: RunInfo) -> str:
    curves = read_curves(run.run_dir)
    if not curves.by_epoch and not curves.lr_by_step:
        return section("curves", "Training curves", "<p>No TensorBoard values found.</p>")
    return section("curves", "Training curves", image(figures.curve_figure(curves), "curves"))


def confusion_section(scores: SplitScores | None) -> str:
    if scores is None or not len(scores.labels):
        return section("confusion", "Confusion matrix (test)", "<p>No test split to score.</p>")
    counts, rates = figures.confusion_figures(scores.confusion(), scores.classes)
    body = image(counts, "confusion counts") + image(rates, "confusion row-normalised")
    return section("confusion", "Confusion matrix (test)", body)


def per_class_values(scores: SplitScores) -> dict[str, list[float]]:
    """Per-class accuracy (correct share of each true class), precision and recall."""
    matrix = scores.confusion().astype(float)
    hits = np.diag(matrix)
    recall = hits / matrix.sum(1).clip(min=1)
    precision = hits / matrix.sum(0).clip(min=1)
    return {
        "accuracy": recall.tolist(),  # this package's per-class accuracy is the class's recall
        "precision": precision.tolist(),
        "recall": recall.tolist(),
    }


def per_class_section(scores: SplitScores | None) -> str:
    title = "Per-class accuracy, precision, recall (test)"
    if scores is None or not len(scores.labels):
        return section("per-class", title, "<p>No test split to score.</p>")
    values = per_class_values(scores)
    rows = "".join(
        f"<tr><td>{esc(name)}</td>"
        + "".join(f"<td>{values[m][k]:.3f}</td>" for m in values)
        + f"<td>{int((scores.labels == k).sum())}</td></tr>"
        for k, name in enumerate(scores.classes)
    )
    header = (
        "<tr><th>class</th><th>accuracy</th><th>precision</th><th>recall</th><th>clips</th></tr>"
    )
    chart = image(figures.per_class_figure(values, scores.classes), "per-class bars")
    return section("per-class", title, f"{chart}<table>{header}{rows}</table>")


def histogram_section(scores: SplitScores | None) -> str:
    title = "Score histograms per class (test)"
    if scores is None or not len(scores.labels):
        return section("histograms", title, "<p>No test split to score.</p>")
    uri = figures.histogram_figure(scores.scores, scores.labels, scores.classes)
    return section("histograms", title, image(uri, "score histograms"))


def _case(scores: SplitScores, mistake: Mistake) -> str:
    clip = scores.clips[mistake.index]
    spectrogram = scores.dataset.spectrogram(mistake.index)[0].numpy()
    uri = figures.spectrogram_thumbnail(spectrogram, scores.dataset.frontend, clip)
    span = (
        f"{clip.start_s or 0.0:.2f}–{clip.end_s:.2f} s" if clip.end_s is not None else "whole file"
    )
    caption = (
        f"<b>{esc(clip.path.name)}</b> ({span})<br>true {esc(mistake.true_class)}, "
        f"predicted {esc(mistake.predicted_class)}, score {mistake.score:.3f}"
        f"<br><small>{esc(clip.path)}</small>"
    )
    return f'<div class="case">{image(uri, "spectrogram")}<br>{caption}</div>'


def mistakes_section(scores: SplitScores | None) -> str:
    title = "Worst false positives and false negatives (test)"
    if scores is None or not len(scores.labels):
        return section("mistakes", title, "<p>No test split to score.</p>")
    false_positives, false_negatives = worst_mistakes(scores)
    parts = []
    for name, found in (("False positives", false_positives), ("False negatives", false_negatives)):
        cases = "".join(_case(scores, m) for m in found) or "<p>None.</p>"
        parts.append(f'<h3>{name}</h3><div class="cases">{cases}</div>')
    return section("mistakes", title, "".join(parts))


def _finding_text(value: Any) -> str:
    if isinstance(value, list):
        shown = "; ".join(json.dumps(v, default=str) for v in value[:5])
        return f"{len(value)}" + (f": {shown}" if shown else "") + (" …" if len(value) > 5 else "")
    return json.dumps(value, default=str)


def audit_section(run: RunInfo) -> str:
    if run.audit is None:
        return section("audit", "Data audit", "<p>No audit.json in the data folder.</p>")
    rows = [(key, _finding_text(value)) for key, value in sorted(run.audit.items())]
    return section("audit", "Data audit", table(rows))


def config_section(run: RunInfo) -> str:
    return section("config", "Config (config.toml)", f"<pre>{esc(run.config_text)}</pre>")


def render(run: RunInfo, scores: SplitScores | None) -> str:
    """The whole page."""
    sections = [
        summary_section(run),
        curves_section(run),
        confusion_section(scores),
        per_class_section(scores),
        histogram_section(scores),
        mistakes_section(scores),
        audit_section(run),
        config_section(run),
    ]
    return document(f"Training run: {run.run_dir.name}", sections)


def write_run_report(run_dir: str | Path, test_clips: Sequence[Clip] | None = None) -> Path:
    """Write ``run_dir/report.html`` atomically and return its path.

    ``test_clips`` are the test split as trained on (``train`` passes them); without them the
    split is read from the run's data folder. Scoring the test split is the only heavy step.
    """
    run = read_run(run_dir)
    scores = score_test_split(run, test_clips)
    page = render(run, scores)
    path = run.run_dir / REPORT_NAME
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
    return path
