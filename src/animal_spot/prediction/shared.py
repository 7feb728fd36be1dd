"""``--fast``: the backbone runs once per block of audio; each window pools its own columns.

Overlapping windows share most of their frames, so running the backbone on every window
recomputes the same convolutions ``window / hop`` times. Here the backbone sees a whole block
(the windows starting in 8 s, plus 64 frames of context on both sides), its last feature map
is cut into columns (one per ``stride`` frames, 32 for ResNet and ConvNeXt), and each window's
head pools the columns under it (its start rounded to a column). The window grid and times are
the exact path's.

This is a different detector, not a copy of the exact path: a column sees context beyond its
window where per-window scoring sees zero padding, a window's start moves by up to half a
column, and min-max normalisation (if the model uses it) is taken per block. On trained models
the scores differ (docs/cpu-performance-notes.md §2); judge it by event-level precision and
recall against the exact path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from .. import audio
from ..conventions import frames_per_second
from .pipeline import Ensemble, OneModel, Scorer, Single, Wrapper, average_tracks
from .predictor import FileScores, Predictor, Progress, Select, unscored_row
from .runtime import FreeMemoryKeeper
from .scores import ScoreTrack
from .windows import window_starts

Part = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # window starts, probs, embeddings
# 8 s: as fast as 30 s blocks (the 2 × 64 context frames add 6 % to a block's frames) and
# 226 MiB lighter at the defaults with malloc untuned (benchmarks/RESULTS.md, "Against the
# peers").
BLOCK_S = 8.0
CONTEXT_FRAMES = 64  # context beyond a window's frames: enough for identical scores (§2)


def feature_stride(predictor: Predictor) -> int:
    """Frames per column of the model's last feature map (measured on a dummy input)."""
    width = 512
    x = torch.zeros(1, 1, predictor.frontend.n_freq_out, width, device=predictor.device)
    with torch.inference_mode():
        columns = predictor.model.forward_features(x).shape[-1]
    return max(1, round(width / columns))


class SharedOverlap(OneModel):
    """One Predictor's model with shared overlap; answers like a Scorer of that model."""

    def __init__(self, predictor: Predictor, block_s: float = BLOCK_S) -> None:
        super().__init__(predictor)
        self.stride = feature_stride(predictor)
        grid = predictor.grid
        frames_per_s = frames_per_second(grid.sample_rate_hz, grid.hop_length)
        self.block_frames = max(1, round(block_s * frames_per_s / self.stride)) * self.stride

    def _frames(self, path: str | Path) -> Iterator[torch.Tensor]:
        p = self.predictor
        blocks = audio.stream(
            path,
            p.frontend.sample_rate_hz,
            block_s=p.block_s,
            quality=p.bundle.config.audio.resample_quality,
        )
        for power in p.frontend.stream_power(blocks):
            yield p.frontend.normalize(p.frontend.compress(power))  # (F, T) per block

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores:
        name = name if name is not None else Path(path).name
        grid, width = self.predictor.grid, self.predictor.grid.window_frames
        buffer = torch.zeros(self.predictor.frontend.n_freq_out, 0)
        base = 0  # frame of buffer[:, 0], a multiple of the stride
        core_end = self.block_frames  # windows starting before it go into the next pass
        parts: list[Part] = []
        next_window = 0
        keeper = FreeMemoryKeeper()
        for block in self._frames(path):
            buffer = torch.from_numpy(np.concatenate([buffer.numpy(), block.numpy()], axis=-1))
            while base + buffer.shape[-1] >= core_end + width + CONTEXT_FRAMES:
                starts = []
                while (start := grid.start_frame(next_window)) < core_end:
                    starts.append(start)
                    next_window += 1
                parts.append(self._score(buffer, base, starts, latent))
                keeper.after_pass()  # each block's buffers differ in size: see there
                core_end += self.block_frames
                # keep the frames of the windows to come, the tail window's included
                keep = self._floor(grid.start_frame(next_window - 1) + 1 - CONTEXT_FRAMES)
                buffer, base = buffer[:, max(base, keep) - base :], max(base, keep)
                if on_progress is not None:
                    on_progress(grid.span_s(starts[-1], 1)[0])
        total = base + buffer.shape[-1]
        done = grid.start_frame(next_window - 1) if next_window else -1
        tail = [int(s) for s in window_starts(total, grid) if s > done]
        if tail:
            parts.append(self._score(buffer, base, tail, latent))
        if on_progress is not None:
            on_progress(grid.span_s(total, 0)[0])
        return self._track(name, parts, total, select, latent)

    def _floor(self, frame: int) -> int:
        return max(0, frame // self.stride * self.stride)

    def _score(self, buffer: torch.Tensor, base: int, starts: list[int], latent: bool) -> Part:
        """Backbone over the windows' frames and context; each window's head on its columns."""
        p, width = self.predictor, self.predictor.grid.window_frames
        first = max(base, self._floor(starts[0] - CONTEXT_FRAMES))
        last = min(base + buffer.shape[-1], starts[-1] + width + CONTEXT_FRAMES)
        # NumPy copies the strided slice; torch's strided copies are slow on a few CPU cores
        frames = np.ascontiguousarray(buffer.numpy()[:, first - base : last - base])
        x = torch.from_numpy(frames)[None, None].to(p.device)  # (1, 1, F, L)
        n_cols = max(1, round(width / self.stride))
        with (
            torch.inference_mode(),
            torch.autocast(p.device.type, dtype=torch.bfloat16, enabled=p.is_bf16),
        ):
            if p.onnx is not None:  # --runtime onnx: the backbone under ONNX Runtime too
                features = torch.from_numpy(p.onnx.features(x))
            else:
                features = p.model.forward_features(x)  # (1, C, h, w)
            w = features.shape[-1]
            columns = features[0].permute(2, 0, 1).contiguous()  # (w, C, h)
            firsts = [
                min(max(0, round((s - first) / self.stride)), max(0, w - n_cols)) for s in starts
            ]
            index = torch.tensor(firsts)[:, None] + torch.arange(min(n_cols, w))
            pooled = columns[index.to(columns.device)].permute(0, 2, 3, 1)  # (B, C, h, n_cols)
            logits = p.model.forward_head(pooled)
            embedding = p.model.forward_head(pooled, pre_logits=True) if latent else None
        probs = logits.float().softmax(-1).cpu().numpy().astype(np.float64)
        emb = None if embedding is None else embedding.float().cpu().numpy()
        return np.asarray(starts), probs, emb

    def _track(
        self, name: str, parts: list[Part], total: int, select: Select | None, latent: bool
    ) -> FileScores:
        grid, width = self.predictor.grid, self.predictor.grid.window_frames
        if not parts:
            return FileScores(ScoreTrack.empty(name, self.classes), None, 0.0)
        starts = np.concatenate([s for s, _, _ in parts])
        probs = np.concatenate([pr for _, pr, _ in parts])
        spans = np.array([grid.span_s(int(s), min(width, total - int(s))) for s in starts])
        embeddings = np.concatenate([e for _, _, e in parts]) if latent else None
        if select is not None:  # scored anyway (the backbone ran), reported as unscored
            skip = ~np.array([select(s, e) for s, e in spans], dtype=bool)
            probs[skip] = unscored_row(self.classes)
            if embeddings is not None:
                embeddings[skip] = np.nan
        track = ScoreTrack(name, spans[:, 0], spans[:, 1], probs, self.classes)
        return FileScores(track, embeddings, float(spans[-1, 1]))


class FastEnsemble(Wrapper):
    """Shared-overlap members averaged window by window (each member reads the audio)."""

    def __init__(self, ensemble: Ensemble, block_s: float = BLOCK_S) -> None:
        super().__init__(ensemble)
        self.ensemble = ensemble
        self.members = [SharedOverlap(p, block_s) for p in ensemble.predictors]

    def score_file(self, path: str | Path, name: str | None = None, **kwargs: object) -> FileScores:
        parts = [m.score_file(path, name, **kwargs) for m in self.members]  # type: ignore[arg-type]
        frame_s = max(p.grid.hop_length / p.grid.sample_rate_hz for p in self.ensemble.predictors)
        return average_tracks(parts, [1] * len(parts), path, frame_s)


def make_fast(scorer: Scorer, block_s: float = BLOCK_S) -> Scorer:
    """The shared-overlap version of a single model or an ensemble (``block_s`` of frames
    through the backbone at once)."""
    if isinstance(scorer, Single):
        return SharedOverlap(scorer.predictor, block_s)
    if isinstance(scorer, Ensemble):
        return FastEnsemble(scorer, block_s)
    raise TypeError(f"--fast cannot wrap a {type(scorer).__name__}")
