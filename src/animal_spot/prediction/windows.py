"""Fixed-length windows over a stream of spectrogram frames, in bounded memory.

Windows start at 0 and every ``hop_s``, each start rounded to the nearest STFT frame (so no
drift accumulates, and the times reported are the rounded, real ones). A window slices
``window_frames`` frames out of the stream; a window is scored only where it lies wholly inside
the recording, plus one last window that ends at the end of the recording when the regular
ones stop short of it, so every sound is covered. A recording shorter than one window gives one
window of all its frames (the front end pads it to the trained length).

Because the STFT is uncentred and its periodic Hann window is 0 at sample 0, slicing the frames
of the whole stream equals computing each window's STFT alone: pre-emphasis differs only at a
window's first sample, which the first frame weights by 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..conventions import frames_to_seconds, seconds_to_frames
from ..errors import BadConfig


@dataclass(frozen=True, slots=True)
class WindowGrid:
    """Where windows sit on the frame axis of one front end, and their times in seconds.

    Attributes:
        sample_rate_hz: rate of the samples the STFT runs on.
        n_fft: STFT size in samples.
        hop_length: STFT hop in samples.
        window_frames: frames sliced per window (the trained count unless asked otherwise).
        hop_s: nominal distance between window starts.
    """

    sample_rate_hz: int
    n_fft: int
    hop_length: int
    window_frames: int
    hop_s: float

    def __post_init__(self) -> None:
        frame_s = frames_to_seconds(1, self.sample_rate_hz, self.hop_length)
        if self.hop_s < frame_s:
            raise BadConfig(
                f"predict.hop_s = {self.hop_s} is shorter than one STFT frame ({frame_s:.4f} s)"
            )
        if self.window_frames < 1:
            raise BadConfig("the prediction window holds no STFT frame; make it longer")

    @classmethod
    def from_seconds(
        cls,
        sample_rate_hz: int,
        n_fft: int,
        hop_length: int,
        window_s: float,
        hop_s: float,
    ) -> WindowGrid:
        """A grid whose windows hold int(window_s · sr / hop) frames (ANIMAL-SPOT's count)."""
        frames = seconds_to_frames(window_s, sample_rate_hz, hop_length)
        return cls(sample_rate_hz, n_fft, hop_length, frames, hop_s)

    @property
    def hop_frames(self) -> float:
        """The hop in frames, usually not a whole number."""
        return self.hop_s * self.sample_rate_hz / self.hop_length

    def start_frame(self, index: int) -> int:
        """First frame of regular window ``index``."""
        return round(index * self.hop_frames)

    def span_s(self, start_frame: int, n_frames: int) -> tuple[float, float]:
        """Start and end in seconds of the samples that ``n_frames`` frames from here cover."""
        start = start_frame * self.hop_length
        end = start + (n_frames - 1) * self.hop_length + self.n_fft
        return start / self.sample_rate_hz, end / self.sample_rate_hz

    def samples(self, start_frame: int, n_frames: int) -> slice:
        """The sample range that makes exactly these frames."""
        start = start_frame * self.hop_length
        return slice(start, start + (n_frames - 1) * self.hop_length + self.n_fft)


def total_frames(n_samples: int, n_fft: int, hop_length: int) -> int:
    """Frames of an uncentred STFT of ``n_samples`` (one zero-padded frame if shorter)."""
    if n_samples <= 0:
        return 0
    return 1 + max(0, n_samples - n_fft) // hop_length


def window_starts(n_frames: int, grid: WindowGrid) -> np.ndarray:
    """First frames of every window over a recording of ``n_frames`` frames, tail included."""
    width = grid.window_frames
    if n_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_frames <= width:
        return np.zeros(1, dtype=np.int64)
    starts = []
    index = 0
    while (start := grid.start_frame(index)) + width <= n_frames:
        starts.append(start)
        index += 1
    if starts[-1] + width < n_frames:
        starts.append(n_frames - width)
    return np.asarray(starts, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Window:
    """One window's frames ``(F, n)`` (a view into the stream) and its span in seconds."""

    start_s: float
    end_s: float
    frames: torch.Tensor


def slide(frame_blocks: Iterable[torch.Tensor], grid: WindowGrid) -> Iterator[Window]:
    """Windows over consecutive frame blocks ``(F, T_block)``, as `window_starts` places them.

    Keeps only the frames that windows still to come need (at most one window plus one block),
    so memory does not grow with the recording.
    """
    width = grid.window_frames
    buffer: torch.Tensor | None = None
    base = 0  # frame number of buffer[:, 0]
    index = 0  # next regular window
    last_start = -1
    for block in frame_blocks:
        buffer = block if buffer is None else _append(buffer, block)
        end = base + buffer.shape[-1]
        while (start := grid.start_frame(index)) + width <= end:
            yield _window(grid, start, buffer[:, start - base : start - base + width])
            last_start = start
            index += 1
        # keep what the next regular window or a tail window ending here would need
        keep_from = max(base, min(grid.start_frame(index), end - width))
        buffer = buffer[:, keep_from - base :]
        base = keep_from
    if buffer is None or buffer.shape[-1] == 0:
        return
    end = base + buffer.shape[-1]
    if last_start < 0:  # shorter than one window: all of it (base is still 0)
        yield _window(grid, 0, buffer)
    elif last_start + width < end:
        start = end - width
        yield _window(grid, start, buffer[:, start - base :])


def _append(buffer: torch.Tensor, block: torch.Tensor) -> torch.Tensor:
    """``buffer`` then ``block`` along time (NumPy: torch's strided copies are slow on CPU)."""
    joined = np.concatenate([buffer.numpy(), block.numpy()], axis=-1)
    return torch.from_numpy(joined)


def _window(grid: WindowGrid, start: int, frames: torch.Tensor) -> Window:
    start_s, end_s = grid.span_s(start, frames.shape[-1])
    return Window(start_s, end_s, frames)


def slide_samples(blocks: Iterable[np.ndarray], grid: WindowGrid) -> Iterator[Window]:
    """The windows `slide` makes over these samples' STFT, holding the samples instead.

    A window of frames ``[s, s + w)`` holds samples ``[s·hop, (s + w − 1)·hop + n_fft)``, so the
    times, the tail window and the short-recording rule are `slide`'s; ``Window.frames`` is
    then ``(n_samples,)``. For models that read waveforms (BirdNET embeddings). Keeps at most
    one window plus one block.
    """
    hop, n_fft, width = grid.hop_length, grid.n_fft, grid.window_frames
    span = (width - 1) * hop + n_fft
    buffer = np.zeros(0, dtype=np.float32)
    base = 0  # sample number of buffer[0]
    n_samples = 0
    index = 0  # next regular window
    last_start = -1
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, dtype=np.float32)])
        n_samples += len(block)
        complete = 1 + (n_samples - n_fft) // hop if n_samples >= n_fft else 0
        while (start := grid.start_frame(index)) + width <= complete:
            first = start * hop - base
            yield _window_of_samples(grid, start, width, buffer[first : first + span])
            last_start = start
            index += 1
        keep_frame = min(grid.start_frame(index), complete - width)
        keep_from = max(base, keep_frame * hop)
        buffer = buffer[keep_from - base :]
        base = keep_from
    n_frames = total_frames(n_samples, n_fft, hop)
    if n_frames == 0:
        return
    if last_start < 0:  # shorter than one window: all of it (base is still 0)
        yield _window_of_samples(grid, 0, n_frames, buffer[: (n_frames - 1) * hop + n_fft])
    elif last_start + width < n_frames:
        start = n_frames - width
        first = start * hop - base
        yield _window_of_samples(grid, start, width, buffer[first : first + span])


def _window_of_samples(grid: WindowGrid, start: int, n_frames: int, samples: np.ndarray) -> Window:
    start_s, end_s = grid.span_s(start, n_frames)
    return Window(start_s, end_s, torch.from_numpy(np.ascontiguousarray(samples)))
