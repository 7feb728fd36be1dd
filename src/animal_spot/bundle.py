"""ModelBundle: one ``model.pt`` that predicts alone (weights, every config, classes, thresholds).

The file holds only tensors and plain values, so ``torch.load(path, weights_only=True)`` opens
it and nothing in it can run code. A model rebuilt from it needs no flags repeated.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .atomic import atomic_path
from .config import ExperimentConfig, experiment_from_dict, frontend_dict, to_dict
from .conventions import DEFAULT_THRESHOLD, noise_index
from .errors import BadConfig, BadModel
from .extensions import MODEL_READERS
from .models import AudioClassifier, build_model

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "config", "classes", "state_dict")
FRAMING = "framing"  # provenance key: how the model's training front end cut its windows
PER_WINDOW = "per_window"  # one STFT per window, cut from the samples (ANIMAL-SPOT's way)


@dataclass
class ModelBundle:
    """A trained network with everything prediction needs to use it as it was trained."""

    config: ExperimentConfig
    classes: list[str]
    model: AudioClassifier
    thresholds: dict[str, float] = field(default_factory=dict)
    norm_stats: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def noise_class(self) -> str | None:
        """The class that means "nothing here" (``noise``, any case), if the model has one."""
        index = noise_index(self.classes)
        return None if index is None else self.classes[index]

    def threshold_for(self, label: str, default: float = DEFAULT_THRESHOLD) -> float:
        return self.thresholds.get(label, default)

    def to_dict(self) -> dict[str, Any]:
        """The file's content: primitives and tensors only."""
        return {
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "config": to_dict(self.config),
            "frontend": frontend_dict(self.config.audio, self.config.spectrogram),
            "model": to_dict(self.config.model),
            "classes": list(self.classes),
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "norm_stats": {k: float(v) for k, v in self.norm_stats.items()},
            "provenance": self.provenance,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
        }

    def save(self, path: str | Path) -> Path:
        """Write ``model.pt`` atomically and return its path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            torch.save(self.to_dict(), tmp)
        return path


def first_line(err: BaseException) -> str:
    """An exception's first line, at most 200 characters (its type when the message is empty)."""
    lines = str(err).strip().splitlines()
    return lines[0][:200] if lines else type(err).__name__


def load_weights_only(path: Path, *, map_location: Any, what: str, fix: str) -> Any:
    """``torch.load(weights_only=True)``; any failure (damaged or unsafe file) is BadModel."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for unsafe or broken files
        raise BadModel(f"{what} ({first_line(err)})", path=path, fix=fix) from None


def default_provenance() -> dict[str, Any]:
    """Who made a model, when, with what: strings only."""
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "package_version": __version__,
        "torch_version": str(torch.__version__),  # TorchVersion would break weights_only
        "host": platform.node(),
    }


def _check_layout(content: dict[str, Any], source: str | Path) -> None:
    """The keys and kinds of a ``model.pt`` dict, before anything is built from them."""
    missing = [k for k in REQUIRED_KEYS if k not in content]
    if missing:
        raise BadModel(f"not an animal-spot model (missing {', '.join(missing)})", path=source)
    kinds = {"config": dict, "classes": list, "state_dict": dict}
    kinds |= dict.fromkeys(("thresholds", "norm_stats", "provenance"), dict)
    wrong = [k for k, kind in kinds.items() if k in content and not isinstance(content[k], kind)]
    version = content["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        wrong.append("format_version")
    if wrong:
        raise BadModel(f"not an animal-spot model (damaged {', '.join(wrong)})", path=source)
    if version > FORMAT_VERSION:
        raise BadModel(
            f"written by a newer animal-spot (format {version})",
            path=source,
            fix="upgrade animal-spot",
        )


def bundle_from_dict(content: dict[str, Any], source: str | Path = "<memory>") -> ModelBundle:
    """Rebuild a bundle from a loaded ``model.pt`` dict."""
    _check_layout(content, source)
    values = dict(content["config"])
    # Files written before normalisation was a choice used ANIMAL-SPOT's 0/1-dB scale.
    spectrogram = values.get("spectrogram", {})
    if isinstance(spectrogram, dict):
        values["spectrogram"] = {"normalization": "db", **spectrogram}
    try:
        config = experiment_from_dict(values, where=str(source))
    except BadConfig as err:
        raise BadModel(f"its config cannot be read ({err})", path=source) from None
    # Weights come from the file itself, never again from a pretrained source.
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, pretrained=None))
    classes = [str(c) for c in content["classes"]]
    provenance = dict(content.get("provenance", {}))
    if provenance.get("legacy_layout"):  # converted before the layout was a model option
        config, provenance = _with_time_major_layout(config, provenance)
    with torch.device("meta"):  # no random init and no second copy: the file has every tensor
        model = build_model(config.model, len(classes))
    try:
        model.load_state_dict(content["state_dict"], assign=True)
        thresholds = {str(k): float(v) for k, v in content.get("thresholds", {}).items()}
        norm_stats = {str(k): float(v) for k, v in content.get("norm_stats", {}).items()}
    except (RuntimeError, TypeError, ValueError, AttributeError) as err:
        raise BadModel(
            f"weights do not fit its architecture ({first_line(err)})", path=source
        ) from None
    model.eval()
    return ModelBundle(
        config=config,
        classes=classes,
        model=model,
        thresholds=thresholds,
        norm_stats=norm_stats,
        provenance=provenance,
    )


def _with_time_major_layout(
    config: ExperimentConfig, provenance: dict[str, Any]
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """The model options and framing that older files said with ``legacy_layout``."""
    # ANIMAL-SPOT's networks had no LayerNorm before the final Linear (ConvNeXt's option;
    # the others do not read it).
    model = dataclasses.replace(config.model, time_major=True, head_norm=False)
    return dataclasses.replace(config, model=model), {FRAMING: PER_WINDOW, **provenance}


def load_model(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    sequence_len_ms: float | None = None,
    min_max_norm: bool | None = None,
) -> ModelBundle:
    """Load a ``model.pt`` (or a file a registered reader claims) safely, ``weights_only=True``.

    ``sequence_len_ms`` and ``min_max_norm`` are used only by a reader whose files lack them
    (``None``: the reader's default, said in a one-line warning).
    """
    path = Path(path)
    if not path.is_file():
        raise BadModel("model file not found", path=path, fix="give the model.pt of a training run")
    content = load_weights_only(
        path,
        map_location=map_location,
        what="cannot be loaded safely",
        fix="only model.pt files from animal-spot or ANIMAL-SPOT .pk files are accepted",
    )
    if not isinstance(content, dict):
        raise BadModel("not a model file (no dict inside)", path=path)
    for name in MODEL_READERS:
        reader = MODEL_READERS.get(name)
        if reader.claims(content):
            return reader.read(
                content, path, sequence_len_ms=sequence_len_ms, min_max_norm=min_max_norm
            )
    if not all(k in content for k in REQUIRED_KEYS) and not MODEL_READERS.names():
        raise BadModel(
            "not an animal-spot model.pt",
            path=path,
            fix="give a model.pt; other programs' files load after `import animal_spot.legacy`",
        )
    return bundle_from_dict(content, path)
