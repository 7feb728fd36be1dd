"""The names and numbers every verb shares: which files are audio, which class means "nothing
here", the threshold when none was chosen, and seconds ↔ frames of a spectrogram."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

# Every suffix libsndfile reads (case ignored); prepare, predict, evaluate and mine all use it.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp3", ".w64")
NOISE_CLASS = "noise"  # the class of clips without a call (any case)
TARGET_CLASS = "target"  # every other class, merged, in a binary detector
DEFAULT_THRESHOLD = 0.5  # a class's detection threshold until one is chosen
# The time a window's score speaks for in events: its own hop around its centre, or all of it.
EventSpan = Literal["centre", "window"]


def is_audio_name(name: str | Path) -> bool:
    """Whether a file name ends in an audio suffix (case ignored)."""
    return Path(name).suffix.casefold() in AUDIO_SUFFIXES


def is_noise(label: str) -> bool:
    """Whether a class name means noise (``noise``, ``Noise``, …)."""
    return label.casefold() == NOISE_CLASS


def noise_index(classes: Sequence[str]) -> int | None:
    """The output index of the noise class, if the classes hold one."""
    return next((i for i, c in enumerate(classes) if is_noise(c)), None)


def frames_per_second(sample_rate_hz: int, hop_length: int) -> float:
    """Spectrogram frames per second of audio."""
    return sample_rate_hz / hop_length


def seconds_to_frames(seconds: float, sample_rate_hz: int, hop_length: int) -> int:
    """Whole frames in ``seconds`` (rounded down: a training window's frame count)."""
    return int(seconds * sample_rate_hz / hop_length)


def frames_to_seconds(frames: float, sample_rate_hz: int, hop_length: int) -> float:
    """Seconds of audio that ``frames`` hops span."""
    return frames * hop_length / sample_rate_hz
