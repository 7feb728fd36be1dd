"""ClipDataset: a manifest's clips → (spectrogram ``(1, F, T)``, class index); knows no model.

Per clip: cached power STFT → [augment] → compression → dB/normalisation → pad/crop to the
window → [SpecAugment]. Augmentation and random offsets happen only for a training set with
augmentation on; each item draws from a generator seeded by (seed, epoch, index), so results
do not depend on the number of DataLoader workers.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import audio
from ..config import AudioConfig, AugmentConfig, SpectrogramConfig
from ..conventions import AUDIO_SUFFIXES as AUDIO_SUFFIXES
from ..conventions import is_audio_name
from ..errors import BadData
from ..frontend.augment import Augmenter, NoiseBank, seeded_rng, spec_augment
from ..frontend.cache import SpectrogramCache
from ..frontend.spectrogram import Frontend, fit_frames
from .manifest import Clip

# Normalisations computed over the frames of a whole window, not frame by frame.
WINDOW_NORMALIZATIONS = frozenset({"pcen", "per_window"})

MAX_WARNINGS = 20  # per-entry warnings before the rest are only counted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioScan:
    """What a folder search found: recordings, and entries left out with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _is_audio_name(name: str) -> bool:
    return is_audio_name(name)


def _scan_entry(entry: os.DirEntry[str], scan: AudioScan, folders: list[Path]) -> None:
    """Sort one folder entry into files, skipped or folders to search; never opens it."""
    is_audio = _is_audio_name(entry.name)
    if not is_audio and not entry.is_symlink() and not entry.is_dir(follow_symlinks=False):
        return  # notes, tables: no stat needed
    path = Path(entry.path)
    try:
        mode = entry.stat().st_mode  # follows links
    except OSError as err:
        if entry.is_symlink() and is_audio:
            scan.skipped.append((path, f"{_link_reason(err)}, not a recording"))
        elif entry.is_symlink():
            scan.skipped.append((path, f"{_link_reason(err)}; not searched"))
        elif is_audio:
            scan.skipped.append((path, f"cannot read ({err.strerror})"))
        return
    if stat.S_ISDIR(mode):
        if is_audio:
            scan.skipped.append((path, "is a folder, not a recording"))
        folders.append(path)
    elif is_audio:
        if stat.S_ISREG(mode):
            scan.files.append(path)
        else:
            scan.skipped.append((path, f"is {audio.file_kind(mode)}, not a recording"))


def _link_reason(err: OSError) -> str:
    if err.errno == errno.ELOOP:
        return "a symbolic link loop"
    if isinstance(err, FileNotFoundError):
        return "a dangling symbolic link"
    return f"a link that cannot be followed ({err.strerror})"


_SEEN_FOLDER = "links to a folder searched already (a link loop or a second link)"


def scan_audio(folder: Path, recursive: bool = True) -> AudioScan:
    """Audio files under ``folder`` (case-insensitive suffixes, sorted), and what was left out.

    Links are followed, but each folder is searched once, so a link loop ends. Folders that
    cannot be read, dangling links, FIFOs and folders named like recordings are left out
    with a reason; no entry is ever opened, so a FIFO cannot block the search.
    """
    scan = AudioScan()
    seen: set[tuple[int, int]] = set()
    folders = [folder]
    while folders:
        current = folders.pop()
        try:
            status = current.stat()
            if (status.st_dev, status.st_ino) in seen:
                scan.skipped.append((current, _SEEN_FOLDER))
                continue
            seen.add((status.st_dev, status.st_ino))
            with os.scandir(current) as entries:
                found: list[Path] = []
                for entry in entries:
                    _scan_entry(entry, scan, found)
        except OSError as err:
            scan.skipped.append((current, f"folder not searched: {audio.os_reason(err)[0]}"))
            continue
        if recursive:
            folders.extend(sorted(found, reverse=True))
    scan.files.sort()
    scan.skipped.sort()
    return scan


def list_audio(folder: Path, recursive: bool = True) -> list[Path]:
    """Audio files under ``folder`` (case-insensitive suffixes), sorted; logs what it left out.

    One WARNING line per entry left out (`scan_audio`), the first ``MAX_WARNINGS`` of them,
    then a count.
    """
    scan = scan_audio(folder, recursive)
    warn_skipped(scan.skipped)
    return scan.files


def warn_skipped(skipped: Sequence[tuple[Path, str]], what: str = "left out") -> None:
    """Log one WARNING per ``(path, reason)``, the first `MAX_WARNINGS`, then how many more."""
    for path, reason in skipped[:MAX_WARNINGS]:
        log.warning("%s %s: %s", what, path, reason)
    if len(skipped) > MAX_WARNINGS:
        log.warning("%s %d more files (%d in all)", what, len(skipped) - MAX_WARNINGS, len(skipped))


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
        cache_audio: bool = False,
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
            SpectrogramCache(cache_dir, audio_config, spectrogram_config, keep_audio=cache_audio)
            if cache_dir
            else None
        )
        self.seed = seed
        self.epoch = 0
        self.augment = augment_config if is_train and augment_config is not None else None
        self.augmenter: Augmenter | None = None
        if self.augment is not None and self.augment.is_active:
            self.augmenter = Augmenter(
                self.augment, self.frontend.compress, self._noise_bank(self.augment)
            )

    def _noise_bank(self, config: AugmentConfig) -> NoiseBank | None:
        """Noise to mix in: ``noise_dir`` files (with ``--augmentation``), the noise clips."""
        noise: list[Clip] = []
        if config.noise_dir is not None and (config.enabled or config.mix_noise_clips):
            files = list_audio(Path(config.noise_dir))
            if not files:
                raise BadData("no audio files in the noise folder", path=config.noise_dir)
            noise.extend(Clip(path, "noise", "noise") for path in files)
        if config.mix_noise_clips:
            noise.extend(c for c in self.clips if c.label.lower() == "noise")
            if not noise:
                raise BadData(
                    "--mix_noise_clips found no clips labelled noise in the training split",
                    fix="add noise clips (prepare --noise_per_selection/--background_dir) "
                    "or give --noise_dir",
                )
        if not noise:
            return None
        load = functools.lru_cache(maxsize=256)(lambda i: self.power(noise[i]))
        return NoiseBank(len(noise), load)

    def set_epoch(self, epoch: int) -> None:
        """New augmentation draws each epoch (called by the training loop)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def power(self, clip: Clip, context_s: float = 0.0) -> torch.Tensor:
        """Full-band power STFT of a clip ``(F_stft, T)``, from the cache when there is one.

        ``context_s`` widens a clip cut from a longer recording by that much on each side
        (within the file), for random time shifts.
        """
        start_s, end_s = clip.start_s, clip.end_s
        if context_s > 0 and start_s is not None and end_s is not None:
            start_s, end_s = max(0.0, start_s - context_s), end_s + context_s

        def read() -> np.ndarray:
            return audio.read(
                clip.path,
                self.audio_config.sample_rate_hz,
                start_s=start_s or 0.0,
                end_s=end_s,
                quality=self.audio_config.resample_quality,
            )

        def power_of(samples: np.ndarray) -> np.ndarray:
            return self.frontend.power(torch.from_numpy(samples)).numpy()

        if self.cache is None:
            return torch.from_numpy(power_of(read()))
        array = self.cache.get_or_compute(
            clip.path, lambda: power_of(read()), start_s, end_s, read=read, power_of=power_of
        )
        return torch.from_numpy(array)

    def spectrogram(self, index: int) -> torch.Tensor:
        """The model input for clip ``index``: ``(1, n_freq, n_frames)``.

        Normalisations that look at the whole window (PCEN, per-window medians) see exactly the
        frames of the window, as in prediction: the crop comes first. 0/1-dB is pointwise and
        min-max keeps ANIMAL-SPOT's order (whole clip, then crop).
        """
        n_frames = self.frontend.n_frames
        if self.augmenter is None:
            compressed = self.frontend.compress(self.power(self.clips[index]))
            return self._fit(compressed, n_frames, None)[None]
        assert self.augment is not None
        rng = seeded_rng(self.seed, self.epoch, index)
        power = self.power(self.clips[index], self.augment.time_shift_s)
        compressed = self.augmenter(power, n_frames, rng)
        gap = abs(compressed.shape[-1] - n_frames)
        spec = self._fit(compressed, n_frames, int(rng.integers(0, gap)) if gap else 0)
        if self.augment.spec_augment:
            spec = spec_augment(
                spec,
                rng,
                time_masks=self.augment.time_masks,
                time_mask_fraction=self.augment.time_mask_fraction,
                freq_masks=self.augment.freq_masks,
                freq_mask_fraction=self.augment.freq_mask_fraction,
            )
        return spec[None]

    def _fit(self, compressed: torch.Tensor, n_frames: int, offset: int | None) -> torch.Tensor:
        """Normalise and crop/pad to the window, in the order the normalisation needs."""
        if self.frontend.config.norm in WINDOW_NORMALIZATIONS and compressed.shape[-1] > n_frames:
            compressed = fit_frames(compressed, n_frames, offset)
        return fit_frames(self.frontend.normalize(compressed), n_frames, offset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.spectrogram(index), self.labels[index]
