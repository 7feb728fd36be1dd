"""The spectrogram front end: pure, batched torch functions and the ``Frontend`` that composes them.

Order (ANIMAL-SPOT §2): pre-emphasis → STFT power → [augment] → frequency compression → [noise
mix] → dB → normalise → pad/crop. Normalisation is ANIMAL-SPOT's absolute 0/1-dB scale, min-max,
or one of two that a recorder's gain does not change: PCEN and per-window row medians.
Shapes: waveforms ``(..., n_samples)``, spectrograms ``(..., n_freq, n_frames)``.
``Frontend.power`` stops before augmentation (the cached stage), ``Frontend.finish`` does the rest.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from ..config import AudioConfig, SpectrogramConfig, window_frames
from ..conventions import frames_per_second


def preemphasis(samples: torch.Tensor, coefficient: float = 0.98) -> torch.Tensor:
    """y[0] = x[0], y[n] = x[n] − c·x[n−1]: ``(..., n) → (..., n)``."""
    if coefficient == 0 or samples.shape[-1] < 2:
        return samples
    return torch.cat([samples[..., :1], samples[..., 1:] - coefficient * samples[..., :-1]], dim=-1)


@functools.lru_cache(maxsize=16)
def _scaled_hann(n_fft: int) -> torch.Tensor:
    # Periodic Hann ÷ √Σw²: scaling the window scales the spectrum, saving a pass over the power.
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    return (window / window.square().sum().sqrt()).float()


def power_stft(samples: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """|STFT|² of a periodic Hann window, uncentred, scaled by 1/Σw²: ``(..., n) → (..., F, T)``.

    Frames = 1 + ⌊(n − n_fft)/hop⌋ as in ANIMAL-SPOT; a signal shorter than ``n_fft`` is
    zero-padded to one frame instead of failing.
    """
    if samples.shape[-1] < n_fft:
        samples = torch.nn.functional.pad(samples, (0, n_fft - samples.shape[-1]))
    window = _scaled_hann(n_fft).to(samples.device, samples.dtype)
    lead = samples.shape[:-1]
    flat = samples.reshape(-1, samples.shape[-1])
    spec = torch.stft(flat, n_fft, hop_length, window=window, center=False, return_complex=True)
    parts = torch.view_as_real(spec)  # (batch, F, T, 2)
    power = parts[..., 0].square() + parts[..., 1].square()
    return power.reshape(*lead, *power.shape[-2:])


def linear_bin_range(n_fft: int, sample_rate_hz: int, fmin_hz: float, fmax_hz: float) -> range:
    """The STFT bins ANIMAL-SPOT keeps: [⌊n·fmin/sr⌋, min(n−1, ⌈n·fmax/sr⌉)), upper excluded."""
    low = math.floor(n_fft * fmin_hz / sample_rate_hz)
    high = min(n_fft - 1, math.ceil(n_fft * fmax_hz / sample_rate_hz))
    return range(low, high)


def nearest_indices(n_in: int, n_out: int) -> torch.Tensor:
    """Nearest-neighbour resize indices, src = ⌊k·n_in/n_out⌋ (not interpolation)."""
    return torch.div(torch.arange(n_out) * n_in, n_out, rounding_mode="floor")


@functools.lru_cache(maxsize=16)
def linear_indices(
    n_fft: int, sample_rate_hz: int, fmin_hz: float, fmax_hz: float, n_freq_bins: int
) -> torch.Tensor:
    """STFT bin index of each output row of the linear compression."""
    kept = linear_bin_range(n_fft, sample_rate_hz, fmin_hz, fmax_hz)
    if len(kept) == 0:
        raise ValueError(f"no STFT bin lies in [{fmin_hz}, {fmax_hz}] Hz at n_fft {n_fft}")
    return kept.start + nearest_indices(len(kept), n_freq_bins)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale: 2595·log10(1 + f/700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    n_fft: int, sample_rate_hz: int, fmin_hz: float, fmax_hz: float, n_mels: int
) -> torch.Tensor:
    """Triangular HTK filters with peak 1, unnormalised: ``(n_mels, n_fft//2 + 1)``.

    ``n_mels + 2`` points evenly spaced in mel from fmin to fmax (≤ sr/2) land on STFT bins
    ⌊(n_fft+1)·f/sr⌋; filter m rises from point m−1 to m and falls to m+1. Points that fall on
    the same bin give a one-bin filter rather than a division by zero.
    """
    fmax_hz = min(fmax_hz, sample_rate_hz / 2)
    mels = np.linspace(hz_to_mel(fmin_hz), hz_to_mel(fmax_hz), n_mels + 2)
    bins = np.floor((n_fft + 1) * mel_to_hz(mels) / sample_rate_hz).astype(int)
    n_bins = n_fft // 2 + 1
    bins = np.clip(bins, 0, n_bins - 1)
    bank = np.zeros((n_mels, n_bins), dtype=np.float32)
    k = np.arange(n_bins)
    for m in range(1, n_mels + 1):
        left, centre, right = bins[m - 1], bins[m], bins[m + 1]
        if centre > left:
            rising = (k >= left) & (k < centre)
            bank[m - 1, rising] = (k[rising] - left) / (centre - left)
        if right > centre:
            falling = (k >= centre) & (k <= right)
            bank[m - 1, falling] = (right - k[falling]) / (right - centre)
        bank[m - 1, centre] = 1.0
    return torch.from_numpy(bank)


@functools.lru_cache(maxsize=4)
def _dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    # Unnormalised DCT-II: C[k, n] = 2·cos(π·k·(2n+1)/(2N)), rows 1..n_out (coefficient 0 dropped).
    n = torch.arange(n_in, dtype=torch.float64)
    k = torch.arange(1, n_out + 1, dtype=torch.float64)[:, None]
    return (2 * torch.cos(math.pi * k * (2 * n + 1) / (2 * n_in))).float()


N_MFCC = 32


def compress(power: torch.Tensor, config: SpectrogramConfig, sample_rate_hz: int) -> torch.Tensor:
    """Frequency compression of ``[fmin, fmax]``: ``(..., F_stft, T) → (..., n_freq_bins, T)``.

    ``mfcc`` gives ``N_MFCC`` cepstral rows (coefficients 1..32 of the log mel spectrum).
    """
    n_fft = 2 * (power.shape[-2] - 1)
    args = (n_fft, sample_rate_hz, float(config.fmin_hz), float(config.fmax_hz), config.n_freq_bins)
    if config.freq_compression == "linear":
        return power.index_select(-2, linear_indices(*args).to(power.device))
    mel = torch.matmul(mel_filterbank(*args).to(power.device, power.dtype), power)
    if config.freq_compression == "mel":
        return mel
    log_mel = 10 * torch.log10(mel)
    log_mel = torch.where(torch.isfinite(log_mel), log_mel, torch.zeros_like(log_mel))
    dct = _dct_matrix(config.n_freq_bins, min(N_MFCC, config.n_freq_bins - 1))
    return torch.matmul(dct.to(power.device, power.dtype), log_mel)


def to_db(power: torch.Tensor, min_level_db: float = -100.0) -> torch.Tensor:
    """10·log10(power), floored at ``min_level_db`` (no reference)."""
    return 10 * torch.log10(power.clamp_min(10 ** (min_level_db / 10)))


def normalize_db(
    db: torch.Tensor, ref_level_db: float = 20.0, min_level_db: float = -100.0
) -> torch.Tensor:
    """ANIMAL-SPOT's 0/1-dB scaling: clamp((dB − ref − min)/(−min), 0, 1)."""
    return ((db - ref_level_db - min_level_db) / -min_level_db).clamp(0.0, 1.0)


def normalize_min_max(x: torch.Tensor) -> torch.Tensor:
    """Per spectrogram: subtract the minimum, divide by the maximum (skipped when it is 0)."""
    flat = x.flatten(-2)
    shifted = x - flat.min(-1).values[..., None, None]
    peak = shifted.flatten(-2).max(-1).values[..., None, None]
    return torch.where(peak > 0, shifted / torch.where(peak > 0, peak, 1), shifted)


def normalize_per_window(db: torch.Tensor, scale_db: float = 20.0) -> torch.Tensor:
    """Each frequency row minus its median over the window's frames, in units of ``scale_db``.

    A constant gain (or a stationary colouring of the background, as from another recorder
    or site) shifts a row's dB values and its median alike, so the output does not change.
    """
    return (db - db.median(-1, keepdim=True).values) / scale_db


def pcen_smoothing(time_constant_s: float, frames_per_s: float) -> float:
    """The one-pole smoother's coefficient for a time constant (librosa's formula)."""
    t_frames = time_constant_s * frames_per_s
    return (math.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)


@functools.lru_cache(maxsize=16)
def _smoother_weights(n: int, smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
    # M[t] = (1−s)^(t+1)·M[−1] + Σ_{k≤t} s(1−s)^(t−k)·E[k]: one matmul instead of a frame loop.
    t = torch.arange(n, dtype=torch.float64)
    lag = t[:, None] - t[None, :]
    weights = torch.where(lag >= 0, smoothing * (1 - smoothing) ** lag.clamp(min=0), 0.0)
    return weights.T.float(), ((1 - smoothing) ** (t + 1)).float()


PCEN_CHUNK_FRAMES = 256  # bounds the smoother's matrix for long blocks (--fast)


def smooth_energy(energy: torch.Tensor, smoothing: float) -> torch.Tensor:
    """One-pole smoothing along time, started from each row's median: ``(..., F, T)``.

    Starting from the median rather than the first frame (librosa) keeps a window that opens
    on a call from dividing the call by itself; it is also unchanged by a constant gain.
    """
    state = energy.median(-1).values
    out = []
    for begin in range(0, energy.shape[-1], PCEN_CHUNK_FRAMES):
        chunk = energy[..., begin : begin + PCEN_CHUNK_FRAMES]
        weights, decay = _smoother_weights(chunk.shape[-1], smoothing)
        smoothed = chunk @ weights.to(chunk) + state[..., None] * decay.to(chunk)
        out.append(smoothed)
        state = smoothed[..., -1]
    return torch.cat(out, dim=-1)


def pcen(
    energy: torch.Tensor,
    smoothing: float,
    *,
    gain: float = 0.98,
    bias: float = 2.0,
    power: float = 0.5,
    eps: float = 1e-10,
) -> torch.Tensor:
    """Per-channel energy normalisation (Wang et al. 2017): ``(..., F, T) → (..., F, T)``.

    (E / (eps + M)^gain + bias)^power − bias^power with M the smoothed energy: the automatic
    gain control divides out the background level of each row, so a gain g changes the output
    only by a factor near g^(1 − gain).
    """
    smoothed = smooth_energy(energy, smoothing)
    controlled = energy / (eps + smoothed) ** gain
    return (controlled + bias) ** power - bias**power


def fit_frames(x: torch.Tensor, n_frames: int, offset: int | None = None) -> torch.Tensor:
    """Crop or zero-pad the time axis to ``n_frames``: ``(..., F, T) → (..., F, n_frames)``.

    ``offset`` is where the clip starts in the padded output (pad) or where the crop starts in
    the clip (crop); ``None`` centres it (⌊gap/2⌋), as ANIMAL-SPOT does outside training.
    """
    length = x.shape[-1]
    gap = abs(n_frames - length)
    start = gap // 2 if offset is None else max(0, min(offset, gap))
    if length > n_frames:
        return x[..., start : start + n_frames]
    if length < n_frames:
        return torch.nn.functional.pad(x, (start, gap - start))
    return x


class Frontend:
    """A front-end config bound to its functions: waveform → normalised spectrogram."""

    def __init__(self, audio: AudioConfig, spectrogram: SpectrogramConfig) -> None:
        self.audio = audio
        self.config = spectrogram
        self.sample_rate_hz = audio.sample_rate_hz
        self.n_frames = window_frames(audio, spectrogram)

    @property
    def n_freq_out(self) -> int:
        """Rows of a finished spectrogram."""
        if self.config.freq_compression == "mfcc":
            return min(N_MFCC, self.config.n_freq_bins - 1)
        return self.config.n_freq_bins

    def window_samples(self) -> int:
        """Samples that make exactly ``n_frames`` frames."""
        return (self.n_frames - 1) * self.config.hop_length + self.config.n_fft

    def power(self, samples: torch.Tensor) -> torch.Tensor:
        """Full-band power STFT, the stage before augmentation: ``(..., n) → (..., F, T)``."""
        emphasised = preemphasis(samples.float(), self.config.preemphasis)
        return power_stft(emphasised, self.config.n_fft, self.config.hop_length)

    def compress(self, power: torch.Tensor) -> torch.Tensor:
        """``(..., F_stft, T) → (..., n_freq_out, T)``."""
        return compress(power, self.config, self.sample_rate_hz)

    def normalize(self, compressed: torch.Tensor) -> torch.Tensor:
        """dB and normalisation of a compressed spectrogram ``(..., F, T)``, per window.

        MFCCs skip the dB step (``per_window`` is then cepstral mean normalisation).
        """
        cfg = self.config
        if cfg.norm == "pcen":
            smoothing = pcen_smoothing(
                cfg.pcen_time_constant_s, frames_per_second(self.sample_rate_hz, cfg.hop_length)
            )
            return pcen(
                compressed,
                smoothing,
                gain=cfg.pcen_gain,
                bias=cfg.pcen_bias,
                power=cfg.pcen_power,
                eps=cfg.pcen_eps,
            )
        if cfg.freq_compression == "mfcc":
            values = compressed
        else:
            values = to_db(compressed, cfg.min_level_db)
        if cfg.norm == "min_max":
            return normalize_min_max(values)
        if cfg.norm == "per_window":
            return normalize_per_window(values, cfg.per_window_scale_db)
        if cfg.freq_compression == "mfcc":
            return values
        return normalize_db(values, cfg.ref_level_db, cfg.min_level_db)

    def finish(self, power: torch.Tensor) -> torch.Tensor:
        """Power STFT → compressed, dB, normalised spectrogram (no pad/crop)."""
        return self.normalize(self.compress(power))

    def __call__(self, samples: torch.Tensor, *, fit: bool = True) -> torch.Tensor:
        """Waveforms → spectrograms ``(..., n) → (..., n_freq_out, n_frames)`` (centred fit)."""
        spec = self.finish(self.power(samples))
        return fit_frames(spec, self.n_frames) if fit else spec

    def stream_power(self, blocks: Iterable[np.ndarray]) -> Iterator[torch.Tensor]:
        """Power STFT frames of consecutive sample blocks, each frame computed once.

        Carries the samples the next frame needs (and the last sample for pre-emphasis) across
        block boundaries, so the concatenated output equals ``power`` of the whole signal.
        Yields ``(F, T_block)`` tensors; a block too short for a new frame yields nothing.
        """
        n_fft, hop = self.config.n_fft, self.config.hop_length
        coefficient = self.config.preemphasis
        carry = torch.zeros(0)
        previous: torch.Tensor | None = None
        produced = False
        for block in blocks:
            samples = torch.as_tensor(block, dtype=torch.float32)
            if samples.numel() == 0:
                continue
            emphasised = preemphasis(samples, coefficient)
            if previous is not None and coefficient:
                emphasised[0] = samples[0] - coefficient * previous
            previous = samples[-1]
            buffer = torch.cat([carry, emphasised])
            if buffer.numel() < n_fft:
                carry = buffer
                continue
            n_frames = 1 + (buffer.numel() - n_fft) // hop
            yield power_stft(buffer[: (n_frames - 1) * hop + n_fft], n_fft, hop)
            produced = True
            carry = buffer[n_frames * hop :]
        if not produced and carry.numel():
            yield power_stft(carry, n_fft, hop)
