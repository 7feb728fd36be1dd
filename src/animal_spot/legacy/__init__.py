"""ANIMAL-SPOT's files, kept outside the core: ``.pk`` models, ``key=value`` configs, split files
and prediction logs.

The core knows none of them; it offers the registries of `animal_spot.extensions`, and importing
this package fills them, so that every verb that loads a model, a config or a data folder reads
ANIMAL-SPOT's too. The ``animal-spot`` command imports it; from Python, ``import
animal_spot.legacy`` once, or call the functions below. Registering imports nothing heavy: each
reader imports its module when it is first called (a ``prepare`` never loads torch for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..conventions import DEFAULT_THRESHOLD
from ..extensions import (
    CONFIG_READERS,
    MODEL_READERS,
    RECORDING_OUTPUTS,
    SPLIT_READERS,
    ModelReader,
    RecordingOutput,
)

if TYPE_CHECKING:
    import torch

    from ..bundle import ModelBundle
    from ..config import ExperimentConfig, PredictConfig
    from ..data.manifest import Clip
    from ..prediction.predictor import FileScores

__all__ = [
    "load_any_config",
    "load_any_model",
    "splits_if_legacy",
    "write_legacy_log",
    "write_recording_log",
]


def load_any_model(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    sequence_len_ms: float | None = None,
    min_max_norm: bool | None = None,
) -> ModelBundle:
    """A ``model.pt`` or an ANIMAL-SPOT / fork ``.pk`` (``sequence_len_ms`` and
    ``min_max_norm`` fill in what a ``.pk`` does not store)."""
    from ..bundle import load_model

    return load_model(
        path, map_location, sequence_len_ms=sequence_len_ms, min_max_norm=min_max_norm
    )


def load_any_config(path: str | Path) -> ExperimentConfig:
    """A TOML config, or an ANIMAL-SPOT ``key=value`` file (any name not ending in .toml)."""
    from ..config import load_config

    return load_config(path)


def splits_if_legacy(folder: str | Path) -> dict[str, list[Clip]] | None:
    """ANIMAL-SPOT's train/val/test split of ``folder``, or None when it holds no index files."""
    from .splits import has_legacy_split, read_legacy_split

    return read_legacy_split(folder) if has_legacy_split(folder) else None


def write_legacy_log(*args: Any, **kwargs: Any) -> Path:
    """ANIMAL-SPOT's ``<name>_predict_output.log`` of one recording (`logs.write_legacy_log`)."""
    from .logs import write_legacy_log as write

    return write(*args, **kwargs)


def write_recording_log(
    scores: FileScores,
    bundle: ModelBundle,
    config: PredictConfig,
    selections: Path,
    duration_s: float,
) -> None:
    """``--legacy_log``: ``<output base>_predict_output.log`` beside a recording's outputs.

    That is ANIMAL-SPOT's name unless the base holds a ``.`` (ANIMAL-SPOT cut names at the
    first one, so ``a.x.wav`` and ``a.y.wav`` overwrote each other's logs) or was lengthened
    because stems clash (``rec.wav``, ``rec.flac``).
    """
    from ..prediction.outputs import KINDS
    from .logs import legacy_log_options, write_legacy_log

    sample_rate_hz = bundle.config.audio.sample_rate_hz
    window_s = config.window_s or bundle.config.spectrogram.sequence_len_ms / 1000
    write_legacy_log(
        scores.track,
        selections.parent,
        name=selections.name.removesuffix(KINDS["selections"]),
        model_path=config.model_path[0],
        sequence_len_s=window_s,
        hop_s=config.hop_s,
        threshold=DEFAULT_THRESHOLD if config.threshold is None else config.threshold,
        n_samples=round(duration_s * sample_rate_hz),
        **legacy_log_options(bundle),
    )


def _is_pk(content: Mapping[str, Any]) -> bool:
    """An ANIMAL-SPOT ``.pk`` holds its encoder's options and weights under these keys."""
    return "encoderState" in content or "encoderOpts" in content


def _read_pk(content: Mapping[str, Any], path: str | Path, **options: Any) -> ModelBundle:
    from .models import bundle_from_legacy

    return bundle_from_legacy(content, path, **options)


def _read_config(path: Path) -> ExperimentConfig:
    from .config_file import read_legacy_config

    return read_legacy_config(path).config


MODEL_READERS.add("animal-spot .pk", ModelReader(claims=_is_pk, read=_read_pk))
CONFIG_READERS.add("animal-spot key=value", _read_config)
SPLIT_READERS.add("animal-spot index files", splits_if_legacy)
RECORDING_OUTPUTS.add("animal-spot log", RecordingOutput("legacy_log", write_recording_log))
