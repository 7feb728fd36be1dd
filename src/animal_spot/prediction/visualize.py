"""``--visualize``: every window's model input as an image, in one PDF per recording.

ANIMAL-SPOT's ``predict.py --visualize`` wrote the spectrograms it fed the network; this writes
them too, 16 windows a page, each in seconds and Hz with its best class and score, beside the
recording's other outputs as ``<name>.windows.pdf`` (before its selection table, so a killed run
writes it again). Each window is read again from the file, so this is for short recordings and
for checking a front end, not for a season of audio.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_pdf import PdfPages

from .. import audio
from ..atomic import atomic_path
from ..bundle import ModelBundle
from ..frontend.spectrogram import Frontend
from .scores import ScoreTrack

PER_PAGE = 16
SUFFIX = ".windows.pdf"


def write_window_pdf(
    path: Path, recording: Path, track: ScoreTrack, bundle: ModelBundle, *, fit: bool
) -> Path:
    """The PDF of ``track``'s windows of ``recording``; ``fit``: cut to the trained length."""
    frontend = Frontend(bundle.config.audio, bundle.config.spectrogram)
    spec = bundle.config.spectrogram
    n = len(track.start_s)
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        for first in range(0, max(n, 1), PER_PAGE):
            count = min(PER_PAGE, n - first)
            if count <= 0:
                break
            cols = min(4, count)
            rows = math.ceil(count / cols)
            figure, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.4 * rows), squeeze=False)
            for ax in axes.flat[count:]:
                ax.axis("off")
            for ax, i in zip(axes.flat, range(first, first + count), strict=False):
                start_s, end_s = float(track.start_s[i]), float(track.end_s[i])
                samples = audio.read(
                    recording, frontend.sample_rate_hz, start_s=start_s, end_s=end_s
                )
                image = frontend(torch.from_numpy(samples), fit=fit).numpy()
                best = int(np.argmax(track.probs[i]))
                label = f"{track.classes[best]} {track.probs[i][best]:.2f}"
                ax.imshow(
                    image,
                    origin="lower",
                    aspect="auto",
                    cmap="magma",
                    extent=(start_s, end_s, spec.fmin_hz, spec.fmax_hz),
                )
                ax.set_title(
                    f"{start_s:.2f}–{end_s:.2f} s  {label}",
                    fontsize=8,
                )
                ax.tick_params(labelsize=6)
            figure.supxlabel("time (s)", fontsize=8)
            figure.supylabel("frequency (Hz)", fontsize=8)
            figure.tight_layout()
            pdf.savefig(figure)
            plt.close(figure)
    return path


__all__ = ["SUFFIX", "write_window_pdf"]
