"""ClipDataset: a manifest's clips → (spectrogram ``(1, F, T)``, class index); knows no model.

Per clip: cached power STFT → [augment] → compression → dB/normalisation → pad/crop to the
window. Augmentation and random offsets happen only for a training set with augmentation on;
each item draws from a generator seeded by (seed, epoch, index), so results do not depend on
the number of DataLoader workers.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import audio
from ..config import AudioConfig, AugmentConfig, SpectrogramConfig
from ..errors import BadData
from ..frontend.augment import Augmenter, NoiseBank, seeded_rng
from ..frontend.cache import SpectrogramCache
from ..frontend.spectrogram import Frontend, fit_frames
from .manifest import Clip

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


def list_audio(folder: Path, recursive: bool = True) -> list[Path]:
    """Audio files under ``folder`` (case-insensitive suffixes), sorted."""
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in folder.glob(pattern) if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
    )


class ClipDataset(Dataset[tuple[torch.Tensor, int]]):
    """Spectrogram windows of labelled clips, ready for a model."""

    def __init__(
        self,
        clips: Sequence[Clip],
        classes: Sequence[str],
        audio_config: AudioConfig,
        spectrogram_config: SpectrogramConfig,
        augment_config: AugmentConfig | None = None,
        *,
        is_train: bool = False,
        cache_dir: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.clips = list(clips)
        self.classes = list(classes)
        self.class_index = {name: i for i, name in enumerate(self.classes)}
        unknown = sorted({c.label for c in self.clips} - set(self.class_index))
        if unknown:
            raise BadData(f"labels {unknown} are not among the classes {self.classes}")
        self.labels = [self.class_index[c.label] for c in self.clips]
        self.audio_config = audio_config
        self.frontend = Frontend(audio_config, spectrogram_config)
        self.cache = (
            SpectrogramCache(cache_dir, audio_config, spectrogram_config) if cache_dir else None
        )
        self.seed = seed
        self.epoch = 0
        self.augmenter: Augmenter | None = None
        if is_train and augment_config is not None and augment_config.enabled:
            self.augmenter = Augmenter(
                augment_config, self.frontend.compress, self._noise_bank(augment_config)
            )

    def _noise_bank(self, config: AugmentConfig) -> NoiseBank | None:
        if config.noise_dir is None:
            return None
        files = list_audio(Path(config.noise_dir))
        if not files:
            raise BadData("no audio files in the noise folder", path=config.noise_dir)
        load = functools.lru_cache(maxsize=64)(
            lambda i: self.power(Clip(files[i], "noise", "noise"))
        )
        return NoiseBank(len(files), load)

    def set_epoch(self, epoch: int) -> None:
        """New augmentation draws each epoch (called by the training loop)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def power(self, clip: Clip) -> torch.Tensor:
        """Full-band power STFT of a clip ``(F_stft, T)``, from the cache when there is one."""

        def compute() -> np.ndarray:
            samples = audio.read(
                clip.path,
                self.audio_config.sample_rate_hz,
                start_s=clip.start_s or 0.0,
                end_s=clip.end_s,
                quality=self.audio_config.resample_quality,
            )
            return self.frontend.power(torch.from_numpy(samples)).numpy()

        if self.cache is None:
            return torch.from_numpy(compute())
        array = self.cache.get_or_compute(clip.path, compute, clip.start_s, clip.end_s)
        return torch.from_numpy(array)

    def spectrogram(self, index: int) -> torch.Tensor:
        """The model input for clip ``index``: ``(1, n_freq, n_frames)``."""
        power = self.power(self.clips[index])
        n_frames = self.frontend.n_frames
        if self.augmenter is None:
            spec = self.frontend.normalize(self.frontend.compress(power))
            return fit_frames(spec, n_frames)[None]
        rng = seeded_rng(self.seed, self.epoch, index)
        spec = self.frontend.normalize(self.augmenter(power, n_frames, rng))
        gap = abs(spec.shape[-1] - n_frames)
        offset = int(rng.integers(0, gap)) if gap else 0
        return fit_frames(spec, n_frames, offset)[None]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.spectrogram(index), self.labels[index]
