"""Training-time augmentation: gain, pitch shift, time stretch, noise mixing, SpecAugment.

Every transform is a pure function ``(spectrogram, parameters) → spectrogram`` on ``(..., F, T)``
tensors; randomness comes only from an explicit ``np.random.Generator``, so a seed reproduces a
run and each DataLoader worker can own its stream. The first four act on power spectrograms with
ANIMAL-SPOT's ranges (§3); SpecAugment masks the finished, normalised spectrogram.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..config import AugmentConfig
from .spectrogram import nearest_indices


def apply_gain(power: torch.Tensor, gain_db: float) -> torch.Tensor:
    """Scale a power spectrogram by ``gain_db`` decibels."""
    return power * 10 ** (gain_db / 10)


def pitch_shift(power: torch.Tensor, factor: float) -> torch.Tensor:
    """Move every frequency row ``b`` to ``b·factor`` (nearest), keeping the row count.

    Above 1 the lowest rows of the stretched axis are kept; below 1 the shrunk spectrum sits at
    the bottom and the rows above are filled with the spectrogram's median.
    """
    n_freq = power.shape[-2]
    n_scaled = max(1, round(n_freq * factor))
    scaled = power.index_select(-2, nearest_indices(n_freq, n_scaled).to(power.device))
    if n_scaled >= n_freq:
        return scaled[..., :n_freq, :]
    out = torch.full_like(power, float(power.median()))
    out[..., :n_scaled, :] = scaled
    return out


def time_stretch(spec: torch.Tensor, factor: float) -> torch.Tensor:
    """Resize the time axis by ``factor`` (nearest): ``T`` frames become ``round(T·factor)``."""
    n_frames = spec.shape[-1]
    n_out = max(1, round(n_frames * factor))
    return spec.index_select(-1, nearest_indices(n_frames, n_out).to(spec.device))


def mix_noise(signal: torch.Tensor, noise: torch.Tensor, snr_db: float) -> torch.Tensor:
    """S + N·(ΣS/ΣN)·10^(−SNR/10) on power spectrograms of the same shape."""
    noise_total = noise.sum()
    if noise_total <= 0:
        return signal
    return signal + noise * (signal.sum() / noise_total) * 10 ** (-snr_db / 10)


def fit_noise(noise: torch.Tensor, n_frames: int, rng: np.random.Generator) -> torch.Tensor:
    """Tile a short noise spectrogram, or crop a long one at a random offset, to ``n_frames``."""
    length = noise.shape[-1]
    if length < n_frames:
        repeats = (1,) * (noise.dim() - 1) + (math.ceil(n_frames / length),)
        return noise.repeat(*repeats)[..., :n_frames]
    start = int(rng.integers(0, length - n_frames + 1))
    return noise[..., start : start + n_frames]


def mask_stripes(
    spec: torch.Tensor, axis: int, starts: Sequence[int], widths: Sequence[int], fill: float
) -> torch.Tensor:
    """Set stripes ``[start, start + width)`` of ``axis`` to ``fill``."""
    out = spec.clone()
    for start, width in zip(starts, widths, strict=True):
        out.narrow(axis, start, min(width, spec.shape[axis] - start)).fill_(fill)
    return out


def spec_augment(
    spec: torch.Tensor,
    rng: np.random.Generator,
    *,
    time_masks: int = 2,
    time_mask_fraction: float = 0.1,
    freq_masks: int = 2,
    freq_mask_fraction: float = 0.1,
) -> torch.Tensor:
    """SpecAugment (Park et al. 2019) without warping: ``(..., F, T) → (..., F, T)``.

    Each mask's width is uniform in [0, fraction · axis length]; masked cells take the
    spectrogram's mean, which is neutral whatever the normalisation.
    """
    fill = float(spec.mean())
    for axis, count, fraction in (
        (-1, time_masks, time_mask_fraction),
        (-2, freq_masks, freq_mask_fraction),
    ):
        size = spec.shape[axis]
        widest = int(fraction * size)
        if count == 0 or widest == 0:
            continue
        widths = [int(w) for w in rng.integers(0, widest + 1, count)]
        starts = [int(rng.integers(0, size - w + 1)) for w in widths]
        spec = mask_stripes(spec, axis, starts, widths, fill)
    return spec


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A factor drawn uniformly in log space, so ×2 and ×½ are equally likely."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


@dataclass(frozen=True, slots=True)
class NoiseBank:
    """Noise recordings, loaded lazily as full-band power spectrograms by ``load(index)``."""

    count: int
    load: Callable[[int], torch.Tensor]


class Augmenter:
    """The ANIMAL-SPOT augmentation chain bound to its config and an optional noise bank."""

    def __init__(
        self,
        config: AugmentConfig,
        compress: Callable[[torch.Tensor], torch.Tensor],
        noise: NoiseBank | None = None,
    ) -> None:
        self.config = config
        self.compress = compress
        self.noise = noise if noise is not None and noise.count > 0 else None
        # ANIMAL-SPOT's chain (gain, pitch, stretch) runs only with --augmentation; noise
        # mixing also runs for --mix_noise_clips alone.
        self.is_distorting = config.enabled

    def _chance(self, rng: np.random.Generator, probability: float) -> bool:
        return probability >= 1 or rng.random() < probability

    def distort(self, power: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Gain, pitch shift and time stretch of a full-band power spectrogram."""
        cfg = self.config
        if self._chance(rng, cfg.gain_probability):
            power = apply_gain(power, int(rng.integers(cfg.gain_db[0], cfg.gain_db[1] + 1)))
        if self._chance(rng, cfg.pitch_shift_probability):
            power = pitch_shift(power, log_uniform(rng, *cfg.pitch_shift))
        if self._chance(rng, cfg.time_stretch_probability):
            power = time_stretch(power, log_uniform(rng, *cfg.time_stretch))
        return power

    def __call__(
        self, power: torch.Tensor, n_frames: int, rng: np.random.Generator
    ) -> torch.Tensor:
        """Full-band power ``(..., F, T)`` → augmented, compressed power ``(..., n_freq, T')``.

        With noise, a clip shorter than ``n_frames`` is first zero-padded at a random offset to
        ``n_frames`` so that the noise covers the whole window.
        """
        if self.is_distorting:
            power = self.distort(power, rng)
        compressed = self.compress(power)
        if self.noise is None or not self._chance(rng, self.config.noise_probability):
            return compressed
        length = compressed.shape[-1]
        if length < n_frames:
            start = int(rng.integers(0, n_frames - length + 1))
            compressed = torch.nn.functional.pad(compressed, (start, n_frames - length - start))
        noise = self._noise_like(compressed.shape[-1], rng)
        snr_db = int(rng.integers(self.config.snr_db[0], self.config.snr_db[1] + 1))
        return mix_noise(compressed, noise.to(compressed.dtype), snr_db)

    def _noise_like(self, n_frames: int, rng: np.random.Generator) -> torch.Tensor:
        assert self.noise is not None
        # Every noise file can be drawn (ANIMAL-SPOT never drew its last one).
        noise = self.noise.load(int(rng.integers(0, self.noise.count)))
        noise = fit_noise(noise, 2 * n_frames, rng)
        if self.is_distorting:
            noise = self.distort(noise, rng)
        noise = self.compress(noise)
        return fit_noise(noise, n_frames, rng)


def seeded_rng(seed: int, *keys: int | Sequence[int]) -> np.random.Generator:
    """A generator for one (seed, epoch, index) so workers draw reproducible, distinct streams."""
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))  # type: ignore[list-item]
