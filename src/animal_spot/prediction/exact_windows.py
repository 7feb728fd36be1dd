"""ANIMAL-SPOT's own prediction windows: cut from the samples, each with its own front end.

ANIMAL-SPOT's ``predict.py`` cuts window ``i`` as the ``⌈sequence_len·sr⌉`` samples from
``i·⌈hop·sr⌉``, only where the window lies wholly inside the recording (at least one window: a
recording shorter than one is one window of all its samples). Each window then goes through the
whole front end alone: pre-emphasis (its first sample kept), the uncentred STFT, frequency
compression, dB and normalisation over that window, and every frame it gives goes to the
network, neither padded nor cropped to the trained length (1 s at 44.1 kHz with n_fft 1024 and
hop 172: 251 frames). Models converted from a ``.pk`` predict this way, so that their scores
are ANIMAL-SPOT's; `windows` is the frame-grid scheme of models trained here.

`cut` streams: it holds at most one window plus one block of samples, and reads the file once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import BadConfig


@dataclass(frozen=True, slots=True)
class SampleGrid:
    """Window and hop in samples, as ANIMAL-SPOT rounds them (both up)."""

    sample_rate_hz: int
    window_samples: int
    hop_samples: int

    @classmethod
    def from_seconds(cls, sample_rate_hz: int, window_s: float, hop_s: float) -> SampleGrid:
        window, hop = math.ceil(window_s * sample_rate_hz), math.ceil(hop_s * sample_rate_hz)
        if window < 1 or hop < 1:
            raise BadConfig(f"a window of {window_s} s every {hop_s} s holds no sample")
        return cls(sample_rate_hz, window, hop)


def cut(blocks: Iterable[np.ndarray], grid: SampleGrid) -> Iterator[tuple[int, np.ndarray]]:
    """``(first sample, samples)`` of every window over consecutive blocks of a recording."""
    window, hop = grid.window_samples, grid.hop_samples
    buffer = np.zeros(0, dtype=np.float32)
    base = 0  # sample number of buffer[0]
    n_samples = 0
    index = 0  # next window
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        n_samples += len(block)
        while (start := index * hop) + window <= n_samples:
            yield start, buffer[start - base : start - base + window]
            index += 1
        keep_from = min(index * hop, n_samples)
        buffer = buffer[keep_from - base :]
        base = keep_from
    if index == 0 and n_samples > 0:  # shorter than one window: all of it (base is still 0)
        yield 0, buffer


__all__ = ["SampleGrid", "cut"]
