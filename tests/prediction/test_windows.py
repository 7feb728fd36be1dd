"""Window placement over frame streams: starts, the tail window, short recordings, block sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from animal_spot.errors import BadConfig
from animal_spot.prediction.windows import (
    WindowGrid,
    slide,
    total_frames,
    window_starts,
)

DEFAULT_GRID = WindowGrid.from_seconds(44100, 1024, 172, window_s=1.0, hop_s=0.5)


def frames(n: int, n_freq: int = 3) -> torch.Tensor:
    """Frames whose value is their own index, so a window shows where it came from."""
    return torch.arange(n, dtype=torch.float32).expand(n_freq, n).clone()


def blocks_of(x: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    out, at = [], 0
    for size in sizes:
        out.append(x[:, at : at + size])
        at += size
    if at < x.shape[-1]:
        out.append(x[:, at:])
    return out


def test_default_grid_holds_the_trained_256_frames_and_rounds_each_start_to_a_frame():
    assert DEFAULT_GRID.window_frames == 256
    starts = window_starts(20_000, DEFAULT_GRID)
    # 0.5 s = 128.2 frames: each start is rounded on its own, so no drift builds up
    assert starts[:4].tolist() == [0, 128, 256, 385]
    assert starts[100] == round(100 * 0.5 * 44100 / 172)


def test_window_times_are_the_real_spans_of_their_samples():
    start_s, end_s = DEFAULT_GRID.span_s(385, 256)
    assert start_s == pytest.approx(385 * 172 / 44100)
    assert end_s - start_s == pytest.approx((255 * 172 + 1024) / 44100)


def test_a_last_window_ends_at_the_end_of_the_recording_when_the_hop_stops_short():
    grid = WindowGrid(1000, 100, 10, window_frames=20, hop_s=0.1)  # hop of 10 frames
    assert window_starts(55, grid).tolist() == [0, 10, 20, 30, 35]
    assert window_starts(50, grid).tolist() == [0, 10, 20, 30]  # already ends at the end


def test_a_recording_shorter_than_one_window_gives_one_window_of_all_its_frames():
    grid = WindowGrid(1000, 100, 10, window_frames=20, hop_s=0.1)
    assert window_starts(7, grid).tolist() == [0]
    assert window_starts(0, grid).tolist() == []
    (window,) = list(slide([frames(4), frames(3)], grid))
    assert window.frames.shape == (3, 7)


def test_total_frames_follow_the_uncentred_stft():
    assert total_frames(1024 + 172 * 10, 1024, 172) == 11
    assert total_frames(1024 + 172 * 10 + 171, 1024, 172) == 11
    assert total_frames(500, 1024, 172) == 1
    assert total_frames(0, 1024, 172) == 0


@pytest.mark.parametrize("sizes", [[1000], [1, 2, 3], [255, 257, 1], [37] * 30, [300] * 4])
def test_sliding_over_blocks_gives_the_same_windows_whatever_the_block_sizes(sizes):
    x = frames(1000)
    expected = window_starts(1000, DEFAULT_GRID)
    got = list(slide(blocks_of(x, sizes), DEFAULT_GRID))
    assert [int(w.frames[0, 0]) for w in got] == expected.tolist()
    for window, start in zip(got, expected, strict=True):
        assert torch.equal(window.frames, x[:, start : start + 256])
        assert window.start_s == pytest.approx(start * 172 / 44100)


def test_sliding_keeps_memory_bounded_by_a_window_and_a_block():
    grid = WindowGrid(1000, 100, 10, window_frames=20, hop_s=0.1)
    kept = []

    def stream():
        for i in range(200):
            kept.append(i)
            yield torch.full((1, 50), float(i))

    windows = slide(stream(), grid)
    for _ in range(500):
        next(windows)
    # 500 windows of hop 10 = 5000 frames = 100 blocks: the generator has read only what it needed
    assert len(kept) <= 102


def test_a_hop_shorter_than_one_frame_is_refused_with_the_frame_length():
    with pytest.raises(BadConfig, match="shorter than one STFT frame"):
        WindowGrid.from_seconds(44100, 1024, 172, window_s=1.0, hop_s=0.001)


def test_every_frame_of_a_recording_lies_in_some_window():
    grid = WindowGrid.from_seconds(16000, 512, 128, window_s=0.5, hop_s=0.37)
    for n in (1, 62, 63, 100, 1234):
        covered = np.zeros(n, dtype=bool)
        for start in window_starts(n, grid):
            covered[start : start + grid.window_frames] = True
        assert covered.all()
