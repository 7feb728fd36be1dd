"""An excerpt of a recording around an event: its samples, a spectrogram PNG in Hz and seconds
with the events drawn over it, and a WAV to listen to. Shared by the reports and the review page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to PNG
import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf
from matplotlib.patches import Rectangle

from .. import audio
from ..annotations.event import Event

DEFAULT_PADDING_S = 1.0
# Spectrograms of excerpts use a window of ~23 ms whatever the rate: fine enough in time for
# clicks, in frequency for tonal calls, and cheap (an excerpt is seconds long).
WINDOW_S = 0.023


@dataclass(frozen=True)
class Excerpt:
    """Mono samples of ``[start_s, start_s + len/rate)`` of ``path``, at its own rate."""

    path: Path
    start_s: float
    sample_rate_hz: int
    samples: np.ndarray

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.samples) / self.sample_rate_hz


def read_excerpt(
    path: str | Path, start_s: float, end_s: float, padding_s: float = DEFAULT_PADDING_S
) -> Excerpt:
    """``[start_s - padding_s, end_s + padding_s]`` of ``path`` (cut at the file's ends).

    Raises:
        BadAudio: the file cannot be read.
    """
    path = Path(path)
    rate = audio.info(path).sample_rate_hz
    first = max(0.0, start_s - padding_s)
    samples = audio.read(path, start_s=first, end_s=end_s + padding_s)
    return Excerpt(path=path, start_s=first, sample_rate_hz=rate, samples=samples)


def wav_bytes(excerpt: Excerpt) -> bytes:
    """The excerpt as a 16-bit PCM WAV file, peak-normalised so quiet calls can be heard."""
    samples = excerpt.samples
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak > 0:
        samples = samples * (0.9 / peak)
    buffer = io.BytesIO()
    sf.write(buffer, samples, excerpt.sample_rate_hz, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _power_db(excerpt: Excerpt) -> tuple[np.ndarray, float, float]:
    """(dB power ``(freq, frames)``, seconds per frame, Hz per bin) of the excerpt."""
    rate = excerpt.sample_rate_hz
    n_fft = max(64, 1 << int(np.ceil(np.log2(WINDOW_S * rate))))
    hop = n_fft // 4
    samples = excerpt.samples
    if len(samples) < n_fft:
        samples = np.pad(samples, (0, n_fft - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, n_fft)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    return 10 * np.log10(power.T + 1e-12), hop / rate, rate / n_fft


def spectrogram_png(
    excerpt: Excerpt,
    events: Sequence[Event] = (),
    *,
    fmin_hz: float = 0.0,
    fmax_hz: float | None = None,
    title: str | None = None,
    size: tuple[float, float] = (4.2, 2.6),
    dpi: int = 90,
) -> bytes:
    """The excerpt's spectrogram (time in seconds of the recording, frequency in Hz) as PNG.

    Each event is drawn as a box over its time span and band (the whole band shown when it
    has none) with its label; 80 dB of dynamic range below the excerpt's loudest bin.
    """
    power, frame_s, bin_hz = _power_db(excerpt)
    nyquist = excerpt.sample_rate_hz / 2
    top = nyquist if fmax_hz is None else min(fmax_hz, nyquist)
    low_bin, high_bin = int(fmin_hz / bin_hz), int(np.ceil(top / bin_hz)) + 1
    shown = power[low_bin:high_bin]
    fig, ax = plt.subplots(figsize=size)
    loudest = float(shown.max()) if shown.size else 0.0
    ax.imshow(
        shown,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=loudest - 80,
        vmax=loudest,
        extent=(
            excerpt.start_s,
            excerpt.start_s + power.shape[1] * frame_s,
            low_bin * bin_hz,
            min(high_bin, power.shape[0]) * bin_hz,
        ),
    )
    for event in events:
        low = fmin_hz if event.low_hz is None else event.low_hz
        high = top if event.high_hz is None else event.high_hz
        ax.add_patch(
            Rectangle(
                (event.start_s, low),
                event.end_s - event.start_s,
                high - low,
                fill=False,
                edgecolor="cyan",
                linewidth=1.2,
            )
        )
        ax.text(event.start_s, high, event.label, color="cyan", fontsize=7, va="top")
    ax.set_xlim(excerpt.start_s, max(excerpt.end_s, excerpt.start_s + 1e-3))
    ax.set_ylim(fmin_hz, top)
    ax.set_xlabel("time in recording (s)", fontsize=8)
    ax.set_ylabel("frequency (Hz)", fontsize=8)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
