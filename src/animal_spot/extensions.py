"""Where other programs' files plug into the core: readers of their models, configs and split
files, and writers of their per-recording outputs (``animal_spot.legacy`` fills them in).

This module imports nothing heavy, so that registering costs nothing: a reader imports what it
needs when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .registry import Registry

if TYPE_CHECKING:
    from .bundle import ModelBundle
    from .config import ExperimentConfig, PredictConfig
    from .data.manifest import Clip
    from .prediction.predictor import FileScores


@dataclass(frozen=True)
class ModelReader:
    """Reads another program's model file into a bundle.

    Attributes:
        claims: whether a loaded dict is this reader's kind of file.
        read: ``(content, path, sequence_len_ms=…, min_max_norm=…)`` → bundle; the two options
            fill in what such a file does not store.
    """

    claims: Callable[[Mapping[str, Any]], bool]
    read: Callable[..., ModelBundle]


@dataclass(frozen=True)
class RecordingOutput:
    """One more file per recording, written after its selection table.

    Attributes:
        flag: the ``PredictConfig`` field (a bool) that asks for it, e.g. ``legacy_log``.
        write: ``(scores, bundle, config, selection table, duration_s)`` → writes the file
            beside the table.
    """

    flag: str
    write: Callable[[FileScores, ModelBundle, PredictConfig, Path, float], None]


# ``bundle.load_model`` asks each whether it claims a file that is not a model.pt.
MODEL_READERS: Registry[ModelReader] = Registry("model reader")
# ``config.load_config`` hands them every config file not named .toml: path → config.
CONFIG_READERS: Registry[Callable[[Path], ExperimentConfig]] = Registry("config reader")
# ``data.prepare.load_splits`` asks each for a folder's split: folder → splits, or None.
SPLIT_READERS: Registry[Callable[[Path], dict[str, list[Clip]] | None]] = Registry("split reader")
# ``predict`` writes each one asked for, after a recording's selection table.
RECORDING_OUTPUTS: Registry[RecordingOutput] = Registry("recording output")
