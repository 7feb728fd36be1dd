"""Predictor: one model over one recording → window scores, streamed, batched, on CPU or GPU.

The recording is read in blocks (``audio.stream``), each block's STFT frames are computed once
(``Frontend.stream_power``) and compressed, windows are sliced out of them (``windows.slide``)
and batched; dB and normalisation run per window, then the frames are fitted to the trained
length, exactly as training prepared its clips. Memory stays flat whatever the recording's
length. Unreadable recordings raise ``BadAudio``; the caller decides whether to go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import audio
from ..bundle import ModelBundle
from ..conventions import noise_index
from ..errors import BadConfig
from ..frontend.spectrogram import Frontend, fit_frames
from ..kinds import RUNTIMES
from .exact_windows import SampleGrid, cut
from .onnx_runner import OnnxRunner
from .runtime import FreeMemoryKeeper, choose_device, prefetch, use_bf16
from .scores import ScoreTrack
from .windows import Window, WindowGrid, slide, total_frames, window_starts

log = logging.getLogger(__name__)

Select = Callable[[float, float], bool]  # (start_s, end_s) → score this window?
Progress = Callable[[float], None]  # seconds of the recording done so far


@dataclass(frozen=True)
class WindowBatch:
    """Windows since the previous batch: all their spans, and the spectrograms of those scored."""

    start_s: np.ndarray  # (n,)
    end_s: np.ndarray  # (n,)
    scored: np.ndarray  # (n,) bool: which windows x holds, in order
    x: torch.Tensor  # (n_scored, 1, n_freq, n_frames); birdnet: embeddings (n_scored, 1, 1024, 1)


@dataclass(frozen=True)
class FileScores:
    """A recording's window scores, its embeddings when asked for, and its length."""

    track: ScoreTrack
    embeddings: np.ndarray | None  # (n_windows, num_features); NaN rows for unscored windows
    duration_s: float


class Predictor:
    """A ModelBundle ready to score recordings with its own front end.

    Args:
        bundle: the model, moved to ``device`` (channels-last) in place.
        window_s: window length; None = the model's training window (``sequence_len``).
        hop_s: distance between window starts.
        batch_size: windows per forward pass; None = `default_batch_size` of the device.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (bf16 only where native), ``32`` or ``bf16`` (for ``int8``, give
            ``int8`` the network and leave this at ``32``).
        block_s: seconds of audio read and transformed at a time (5 s: a 60 s block held
            a third of a GB of STFT buffers at the defaults, and no speed is gained).
        num_workers: > 0 prepares spectrograms in a background thread while the model runs.
        runtime: ``torch``, or ``onnx`` (ONNX Runtime; CPU, fp32 only).
        legacy_windows: ANIMAL-SPOT's windows and per-window front end (`exact_windows`)
            instead of frame-aligned windows of the trained length.
        int8: the int8 ONNX backbone of this model (`int8`), run on the CPU instead of its own.
    """

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        window_s: float | None = None,
        hop_s: float = 0.5,
        batch_size: int | None = None,
        device: str = "auto",
        precision: str = "auto",
        block_s: float = 5.0,
        num_workers: int = 0,
        runtime: str = "torch",
        legacy_windows: bool = False,
        int8: bytes | None = None,
    ) -> None:
        self.bundle = bundle
        self.classes = tuple(bundle.classes)
        self.frontend = Frontend(bundle.config.audio, bundle.config.spectrogram)
        spec = bundle.config.spectrogram
        if window_s is None:
            window_s = spec.sequence_len_ms / 1000
        self.grid = WindowGrid.from_seconds(
            self.frontend.sample_rate_hz, spec.n_fft, spec.hop_length, window_s, hop_s
        )
        self.legacy_windows = legacy_windows
        self.sample_grid = SampleGrid.from_seconds(self.frontend.sample_rate_hz, window_s, hop_s)
        self.block_s = block_s
        self.num_workers = num_workers
        self.device = choose_device(device)
        self.batch_size = max(1, batch_size or default_batch_size(self.device))
        self.is_bf16 = use_bf16(precision, self.device)
        self.model = bundle.model.eval().to(self.device).to(memory_format=torch.channels_last)
        self.onnx = self._onnx_runner(runtime) if int8 is None else self._int8_runner(int8)

    def _onnx_runner(self, name: str) -> OnnxRunner | None:
        runtime = RUNTIMES.get(name)
        if runtime.runner is None:
            return None
        if runtime.on_frame_grid and self.legacy_windows:
            raise BadConfig(
                f"--runtime {name} runs the trained window length; ANIMAL-SPOT's windows vary it",
                fix="use --runtime torch, or add --no-legacy_windows",
            )
        if runtime.cpu_fp32 and (self.device.type != "cpu" or self.is_bf16):
            raise BadConfig(
                f"--runtime {name} runs on the CPU in fp32",
                fix="add --device cpu --precision 32, or use --runtime torch",
            )
        shape = (1, self.frontend.n_freq_out, self.frontend.n_frames)
        return runtime.runner(self.model, shape, torch.get_num_threads())  # type: ignore[no-any-return]

    def _int8_runner(self, int8: bytes) -> OnnxRunner:
        if self.device.type != "cpu" or self.legacy_windows:
            raise BadConfig(
                "--precision int8 runs on the CPU over windows of the trained length",
                fix="add --device cpu (and --no-legacy_windows for an ANIMAL-SPOT model)",
            )
        return OnnxRunner.from_features(int8, self.model, torch.get_num_threads())

    @property
    def band_hz(self) -> tuple[float, float]:
        """The model's frequency range: the Low/High Freq of its events."""
        spec = self.bundle.config.spectrogram
        return float(spec.fmin_hz), float(spec.fmax_hz)

    @property
    def frontend_key(self) -> tuple[object, ...]:
        """Equal for predictors whose windows and spectrograms are identical (shareable)."""
        config = self.bundle.config
        return (config.audio, config.spectrogram, self.grid, self.legacy_windows)

    # ------------------------------------------------------------------ front end
    def blocks(self, path: str | Path) -> Iterator[np.ndarray]:
        """The recording's samples at the model's rate, ``block_s`` at a time."""
        return audio.stream(
            path,
            self.frontend.sample_rate_hz,
            block_s=self.block_s,
            quality=self.bundle.config.audio.resample_quality,
        )

    def batches(self, path: str | Path, *, select: Select | None = None) -> Iterator[WindowBatch]:
        """Spectrogram batches of a recording, streamed; ``select`` skips windows' spectrograms."""
        if self.legacy_windows:
            batches = self._legacy_batches(path, select)
        else:
            blocks = self.blocks(path)
            frames = (self.frontend.compress(p) for p in self.frontend.stream_power(blocks))
            batches = self._batch(slide(frames, self.grid), select)
        return prefetch(batches) if self.num_workers > 0 else batches

    def _legacy_batches(self, path: str | Path, select: Select | None) -> Iterator[WindowBatch]:
        """ANIMAL-SPOT's windows (`exact_windows`), a batch's front end run on all at once."""
        sr = self.sample_rate_hz
        spans: list[tuple[float, float]] = []
        flags: list[bool] = []
        chosen: list[np.ndarray] = []
        for start, samples in cut(self.blocks(path), self.sample_grid):
            span = (start / sr, (start + len(samples)) / sr)
            keep = select is None or select(*span)
            spans.append(span)
            flags.append(keep)
            if keep:
                chosen.append(samples)
            if len(chosen) == self.batch_size or len(spans) >= 64 * self.batch_size:
                yield self._legacy_batch(spans, flags, chosen)
                spans, flags, chosen = [], [], []
        if spans:
            yield self._legacy_batch(spans, flags, chosen)

    def _legacy_batch(
        self, spans: list[tuple[float, float]], flags: list[bool], chosen: list[np.ndarray]
    ) -> WindowBatch:
        # Windows of one recording share a length but for a recording shorter than one window,
        # which is its only window.
        if chosen:
            x = self.frontend(torch.from_numpy(np.stack(chosen)), fit=False)[:, None]
        else:
            x = torch.zeros(0, 1, self.frontend.n_freq_out, self.frontend.n_frames)
        array = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        return WindowBatch(array[:, 0], array[:, 1], np.asarray(flags, dtype=bool), x)

    @property
    def sample_rate_hz(self) -> int:
        return self.frontend.sample_rate_hz

    def reference_batches(self, samples: np.ndarray) -> Iterator[WindowBatch]:
        """The same batches from samples in memory, each window's spectrogram computed alone.

        The slow, obviously right path: tests check that streaming gives the same scores.
        """
        signal = torch.as_tensor(samples, dtype=torch.float32)
        spec = self.frontend.config
        n_frames = total_frames(signal.numel(), spec.n_fft, spec.hop_length)
        width = min(self.grid.window_frames, n_frames)
        spans, specs = [], []
        for start in window_starts(n_frames, self.grid):
            span = self.grid.samples(int(start), width)
            spans.append(self.grid.span_s(int(start), width))
            specs.append(self.frontend(signal[span])[None])
            if len(specs) == self.batch_size:
                yield _make_batch(spans, specs)
                spans, specs = [], []
        if spans:
            yield _make_batch(spans, specs)

    def _batch(self, windows: Iterable[Window], select: Select | None) -> Iterator[WindowBatch]:
        spans: list[tuple[float, float]] = []
        chosen: list[Window] = []
        flags: list[bool] = []
        for window in windows:
            keep = select is None or select(window.start_s, window.end_s)
            spans.append((window.start_s, window.end_s))
            flags.append(keep)
            if keep:
                chosen.append(window)
            if len(chosen) == self.batch_size or len(spans) >= 64 * self.batch_size:
                yield self._finish_batch(spans, flags, chosen)
                spans, flags, chosen = [], [], []
        if spans:
            yield self._finish_batch(spans, flags, chosen)

    def _finish_batch(
        self, spans: list[tuple[float, float]], flags: list[bool], chosen: list[Window]
    ) -> WindowBatch:
        """dB, normalisation (per window) and fit to the trained frame count."""
        n_frames = self.frontend.n_frames
        if chosen and len({w.frames.shape[-1] for w in chosen}) == 1:
            # NumPy gathers the strided window views ~100× faster than torch.stack on 2 cores
            stacked = torch.from_numpy(np.stack([w.frames.numpy() for w in chosen]))  # (B, F, T)
            x = fit_frames(self.frontend.normalize(stacked), n_frames)[:, None]
        elif chosen:
            x = torch.stack(
                [fit_frames(self.frontend.normalize(w.frames), n_frames) for w in chosen]
            )
            x = x[:, None]
        else:
            x = torch.zeros(0, 1, self.frontend.n_freq_out, n_frames)
        array = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
        return WindowBatch(array[:, 0], array[:, 1], np.asarray(flags, dtype=bool), x)

    # ------------------------------------------------------------------ model
    def run(self, x: torch.Tensor, *, latent: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Class probabilities ``(B, n_classes)`` and, with ``latent``, embeddings ``(B, C)``."""
        if self.onnx is not None:
            logits_array, embedding_array = self.onnx(x)
            probs = torch.from_numpy(logits_array).softmax(-1).numpy().astype(np.float64)
            return probs, embedding_array if latent else None
        x = x.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.is_bf16),
        ):
            features = self.model.forward_features(x)
            logits = self.model.forward_head(features)
            embedding = self.model.forward_head(features, pre_logits=True) if latent else None
        probs = logits.float().softmax(-1).cpu().numpy().astype(np.float64)
        return probs, None if embedding is None else embedding.float().cpu().numpy()

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores:
        """Window scores of one recording (windows ``select`` rejects get `unscored_row`)."""
        name = name if name is not None else Path(path).name
        batches = self.batches(path, select=select)
        return collect(batches, [self], name, latent=latent, on_progress=on_progress)

    def score_samples(self, samples: np.ndarray, name: str = "<memory>") -> FileScores:
        """Window scores of samples in memory through `reference_batches` (for checking)."""
        return collect(self.reference_batches(samples), [self], name)


EXACT_SLACK = 64 << 20  # growth allowed between trims (`collect`)
WARM_BATCHES = 8


def default_batch_size(device: torch.device) -> int:
    """Windows per batch when none is given: 32 on a GPU; 8 on the CPU, where 8, 16 and 32
    run at one speed (the network is compute-bound there) and each 8 more windows hold about
    100 MB of activations at the defaults (benchmarks/RESULTS.md, "Batch size on the CPU")."""
    return 32 if device.type == "cuda" else 8


def unscored_row(classes: Sequence[str]) -> np.ndarray:
    """Scores of a window no model looked at: all on the noise class if there is one, else 0."""
    row = np.zeros(len(classes))
    noise = noise_index(classes)
    if noise is not None:
        row[noise] = 1.0
    return row


def collect(
    batches: Iterable[WindowBatch],
    predictors: Sequence[Predictor],
    name: str,
    *,
    latent: bool = False,
    on_progress: Progress | None = None,
) -> FileScores:
    """Run every predictor on each batch and average their probabilities into one track.

    Embeddings of several predictors are concatenated along the feature axis.
    """
    classes = predictors[0].classes
    starts, ends, probs, embeds = [], [], [], []
    fill = unscored_row(classes)
    width = sum(p.model.num_features for p in predictors)
    # Hours of small score arrays between the batches' buffers leave freed holes that the tuned
    # malloc keeps: a 24-hour recording peaked 1475 MiB against 1130 MiB for 3 hours. The
    # ceiling is set once the batches' buffers are in use (WARM_BATCHES).
    keeper: FreeMemoryKeeper | None = None
    for index, batch in enumerate(batches):
        if index == WARM_BATCHES:
            keeper = FreeMemoryKeeper(EXACT_SLACK, ratchet=True)
        elif keeper is not None:
            keeper.after_pass()
        rows = np.tile(fill, (len(batch.start_s), 1))
        emb = np.full((len(batch.start_s), width), np.nan, dtype=np.float32) if latent else None
        if batch.x.shape[0]:
            outputs = [p.run(batch.x, latent=latent) for p in predictors]
            rows[batch.scored] = np.mean([o[0] for o in outputs], axis=0)
            if emb is not None:
                emb[batch.scored] = np.concatenate([o[1] for o in outputs], axis=1)
        starts.append(batch.start_s)
        ends.append(batch.end_s)
        probs.append(rows)
        if emb is not None:
            embeds.append(emb)
        if on_progress is not None and len(batch.end_s):
            on_progress(float(batch.end_s[-1]))
    if not starts:
        return FileScores(ScoreTrack.empty(name, classes), _empty(latent, width), 0.0)
    track = ScoreTrack(
        name, np.concatenate(starts), np.concatenate(ends), np.concatenate(probs), classes
    )
    embeddings = np.concatenate(embeds) if latent else None
    return FileScores(track, embeddings, float(track.end_s.max()))


def _empty(latent: bool, width: int) -> np.ndarray | None:
    return np.zeros((0, width), dtype=np.float32) if latent else None


def _make_batch(spans: list[tuple[float, float]], specs: list[torch.Tensor]) -> WindowBatch:
    array = np.asarray(spans, dtype=np.float64)
    return WindowBatch(
        array[:, 0], array[:, 1], np.ones(len(spans), dtype=bool), torch.stack(specs)
    )
