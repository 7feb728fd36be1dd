"""The prediction report's figures: detections over time, per hour, and the score tracks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to PNG
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..annotations.event import Event
from ..prediction.scores import ScoreTrack
from .figures import to_data_uri

MAX_TRACK_POINTS = 1500  # a day of 0.5 s hops is 172,800 windows: drawn as the max per bin
WIDTH_IN = 11.0


@dataclass(frozen=True)
class TimeAxis:
    """Seconds shown in the unit that suits a recording's length."""

    scale_s: float
    label: str

    @classmethod
    def for_length(cls, length_s: float) -> TimeAxis:
        if length_s >= 2 * 3600:
            return cls(3600.0, "time in recording (h)")
        if length_s >= 120:
            return cls(60.0, "time in recording (min)")
        return cls(1.0, "time in recording (s)")


def colours(labels: Sequence[str]) -> dict[str, str]:
    """One colour per label, the same in every figure of a report."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {label: cycle[i % len(cycle)] for i, label in enumerate(labels)}


def timeline_figure(
    events: Sequence[Event], labels: Sequence[str], length_s: float, colour: Mapping[str, str]
) -> str:
    """One row per label, each event a bar over its span (and a tick, so short ones show)."""
    axis = TimeAxis.for_length(length_s)
    rows = list(labels) or ["(none)"]
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.9 + 0.38 * len(rows)))
    for row, label in enumerate(rows):
        mine = [e for e in events if e.label == label]
        spans = [(e.start_s / axis.scale_s, e.duration_s / axis.scale_s) for e in mine]
        ax.broken_barh(spans, (row - 0.3, 0.6), color=colour.get(label, "grey"))
        centres = [(e.start_s + e.end_s) / 2 / axis.scale_s for e in mine]
        ax.plot(centres, [row] * len(centres), "|", color=colour.get(label, "grey"), ms=12)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, max(length_s, 1e-3) / axis.scale_s)
    ax.set_xlabel(axis.label)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return to_data_uri(fig)


def hourly_figure(
    counts: Mapping[str, np.ndarray], bin_label: str, colour: Mapping[str, str]
) -> str:
    """Stacked bars of detections per bin (hour of day, or hour/minute of recording)."""
    n_bins = max((len(c) for c in counts.values()), default=1)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    bottom = np.zeros(n_bins)
    for label, values in counts.items():
        heights = np.pad(values.astype(float), (0, n_bins - len(values)))
        ax.bar(np.arange(n_bins), heights, bottom=bottom, label=label, color=colour.get(label))
        bottom += heights
    ax.set_xlabel(bin_label)
    ax.set_ylabel("detections")
    if n_bins <= 30:
        ax.set_xticks(range(n_bins))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.6, n_bins - 0.4)
    ax.grid(axis="y", alpha=0.3)
    if counts:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return to_data_uri(fig)


def _binned_max(track: ScoreTrack, column: int, edges_s: np.ndarray) -> np.ndarray:
    """The highest score of the windows starting in each bin (NaN where a bin holds none)."""
    index = np.clip(np.searchsorted(edges_s, track.start_s, side="right") - 1, 0, len(edges_s) - 2)
    values = np.full(len(edges_s) - 1, np.nan)
    np.fmax.at(values, index, track.probs[:, column])
    return values


def track_figure(
    track: ScoreTrack,
    labels: Sequence[str],
    thresholds: Mapping[str, float],
    length_s: float,
    colour: Mapping[str, str],
) -> str:
    """Each label's window score over time (max per bin) with its threshold dashed."""
    axis = TimeAxis.for_length(length_s)
    end_s = max(length_s, float(track.end_s.max()) if len(track) else 0.0, 1e-3)
    n_bins = int(min(MAX_TRACK_POINTS, max(len(track), 1)))
    edges_s = np.linspace(0.0, end_s, n_bins + 1)
    centres = (edges_s[:-1] + edges_s[1:]) / 2 / axis.scale_s
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.6))
    for label in labels:
        if label not in track.classes or not len(track):
            continue
        values = _binned_max(track, track.classes.index(label), edges_s)
        ax.plot(centres, values, lw=0.9, color=colour.get(label), label=label)
        if label in thresholds:
            ax.axhline(thresholds[label], ls="--", lw=0.9, color=colour.get(label))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, end_s / axis.scale_s)
    ax.set_xlabel(axis.label)
    ax.set_ylabel("score (max per bin)")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return to_data_uri(fig)
