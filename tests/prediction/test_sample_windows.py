"""slide_samples: windows of raw samples on the spectrogram windows' grid, in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animal_spot.prediction.windows import WindowGrid, slide, slide_samples

GRID = WindowGrid.from_seconds(8000, 256, 128, window_s=0.5, hop_s=0.2)


def blocks_of(x: np.ndarray, size: int) -> list[np.ndarray]:
    return [x[i : i + size] for i in range(0, len(x), size)]


def frame_blocks(samples: np.ndarray, size: int, grid: WindowGrid) -> list[torch.Tensor]:
    """Frames whose value is their index (what `slide` sees), in blocks of ``size`` frames."""
    n = len(samples)
    n_frames = 1 + max(0, n - grid.n_fft) // grid.hop_length if n else 0
    frames = torch.arange(n_frames, dtype=torch.float32)[None]
    return [frames[:, i : i + size] for i in range(0, n_frames, size)]


@pytest.mark.parametrize("n_samples", [100, 256, 3999, 4000, 12345, 40000])
@pytest.mark.parametrize("block", [97, 1000, 50000])
def test_sample_windows_have_the_starts_and_times_of_the_frame_windows(n_samples, block):
    samples = np.arange(n_samples, dtype=np.float32)
    by_samples = list(slide_samples(blocks_of(samples, block), GRID))
    by_frames = list(slide(frame_blocks(samples, 7, GRID), GRID))
    assert [(w.start_s, w.end_s) for w in by_samples] == [(w.start_s, w.end_s) for w in by_frames]
    for window, reference in zip(by_samples, by_frames, strict=True):
        first = int(reference.frames[0, 0]) * GRID.hop_length
        n_frames = reference.frames.shape[-1]
        expected = samples[first : first + (n_frames - 1) * GRID.hop_length + GRID.n_fft]
        np.testing.assert_array_equal(window.frames.numpy(), expected)


def test_sample_windows_of_an_empty_stream_are_none():
    assert list(slide_samples([], GRID)) == []


def test_sample_windows_keep_memory_bounded_by_a_window_and_a_block():
    block = 800
    span = (GRID.window_frames - 1) * GRID.hop_length + GRID.n_fft
    seen = []
    for window in slide_samples(blocks_of(np.zeros(8000 * 60, np.float32), block), GRID):
        seen.append(window.frames.numel())
    assert len(seen) > 250
    assert max(seen) <= span + block
