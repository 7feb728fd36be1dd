"""The report's matplotlib figures, each returned as a ``data:image/png;base64`` URI."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to PNG
import matplotlib.pyplot as plt
import numpy as np

from ..data.manifest import Clip
from ..frontend.spectrogram import Frontend, hz_to_mel, mel_to_hz
from .run import CURVE_TAGS, Curves

DPI = 90


def to_data_uri(figure: Any) -> str:
    """Render ``figure`` to PNG, close it, and return it as a data URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def curve_figure(curves: Curves) -> str:
    """Loss and accuracy per epoch (training vs validation) and the learning rate per step."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, kind in zip(axes[:2], ("loss", "accuracy"), strict=True):
        for tag, label in CURVE_TAGS.items():
            points = curves.by_epoch.get(tag, [])
            if tag.endswith(kind) and points:
                epochs, values = zip(*points, strict=True)
                ax.plot(epochs, values, marker="o", label=label)
        ax.set_xlabel("epoch (counted from 0)")
        ax.set_ylabel(kind)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    for tag, points in curves.lr_by_step.items():
        steps, values = zip(*points, strict=True)
        axes[2].plot(steps, values, label=tag.removeprefix("lr-"))
    axes[2].set_xlabel("training step")
    axes[2].set_ylabel("learning rate")
    axes[2].ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    axes[2].grid(alpha=0.3)
    fig.tight_layout()
    return to_data_uri(fig)


def _heatmap(ax: Any, values: np.ndarray, texts: list[list[str]], classes: Sequence[str]) -> None:
    vmax = max(float(values.max()), 1e-9)
    ax.imshow(values, vmin=0, vmax=vmax, cmap="Blues")
    ticks = range(len(classes))
    ax.set_xticks(ticks, list(classes), rotation=45, ha="right")
    ax.set_yticks(ticks, list(classes))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i, row in enumerate(texts):
        for j, text in enumerate(row):
            colour = "white" if values[i, j] > 0.5 * vmax else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)


def confusion_figures(matrix: np.ndarray, classes: Sequence[str]) -> tuple[str, str]:
    """Two heatmaps of the test confusion matrix: counts, and rows normalised to 1."""
    size = 2.5 + 0.5 * len(classes)
    counts_fig, ax = plt.subplots(figsize=(size, size))
    _heatmap(ax, matrix.astype(float), [[str(int(v)) for v in row] for row in matrix], classes)
    ax.set_title("counts")
    counts_fig.tight_layout()
    rates = matrix / matrix.sum(1, keepdims=True).clip(min=1)
    rates_fig, ax = plt.subplots(figsize=(size, size))
    _heatmap(ax, rates, [[f"{v:.2f}" for v in row] for row in rates], classes)
    ax.set_title("row-normalised (share of each true class)")
    rates_fig.tight_layout()
    return to_data_uri(counts_fig), to_data_uri(rates_fig)


def per_class_figure(values: dict[str, list[float]], classes: Sequence[str]) -> str:
    """Grouped bars: one group per class, one bar per measure (accuracy, precision, recall)."""
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(classes) + 2), 3.6))
    width = 0.8 / max(len(values), 1)
    x = np.arange(len(classes))
    for i, (name, heights) in enumerate(values.items()):
        ax.bar(x + (i - (len(values) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, list(classes), rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test split")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return to_data_uri(fig)


def histogram_figure(scores: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> str:
    """Per class, its score on clips of that class vs on all other clips."""
    n = len(classes)
    columns = min(n, 4)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns, 2.6 * rows), squeeze=False)
    bins = np.linspace(0, 1, 21)
    for k, name in enumerate(classes):
        ax = axes[k // columns][k % columns]
        ax.hist(scores[labels == k, k], bins=bins, alpha=0.7, label=f"true {name}")
        ax.hist(scores[labels != k, k], bins=bins, alpha=0.7, label="other classes")
        ax.set_title(f"score of {name}", fontsize=9)
        ax.set_xlabel("score")
        ax.set_ylabel("clips")
        ax.legend(fontsize=7)
    for k in range(n, rows * columns):
        axes[k // columns][k % columns].axis("off")
    fig.tight_layout()
    return to_data_uri(fig)


def spectrogram_thumbnail(spectrogram: np.ndarray, frontend: Frontend, clip: Clip) -> str:
    """A model input ``(n_freq, n_frames)`` drawn with its time in seconds and band in Hz."""
    config = frontend.config
    start_s = clip.start_s or 0.0
    duration_s = spectrogram.shape[-1] * config.hop_length / frontend.sample_rate_hz
    fig, ax = plt.subplots(figsize=(3.2, 2.2))
    low, high = config.fmin_hz, config.fmax_hz
    if config.freq_compression == "mel":  # rows are evenly spaced in mel, ticks name their Hz
        low, high = float(hz_to_mel(low)), float(hz_to_mel(high))
    elif config.freq_compression == "mfcc":
        low, high = 0.0, float(spectrogram.shape[0])
    ax.imshow(
        spectrogram,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(start_s, start_s + duration_s, low, high),
    )
    ax.set_xlabel("time (s)", fontsize=8)
    if config.freq_compression == "mel":
        ticks = np.linspace(low, high, 5)
        ax.set_yticks(ticks, [f"{float(mel_to_hz(t)):.0f}" for t in ticks])
    label = "cepstral coefficient" if config.freq_compression == "mfcc" else "frequency (Hz)"
    ax.set_ylabel(label, fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    return to_data_uri(fig)
