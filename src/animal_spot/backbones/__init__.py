"""The networks a config can name, one file per backbone in this package.

Each file registers a `Backbone` in `BACKBONES`: its options check, its training defaults,
what it reads and where its builder is. The files are light (builders are `Lazy`), so that the
config, the CLI's choices and the docs read the names without importing torch. Adding a
backbone is one new file here; every module of this package is imported with it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..registry import Lazy, Registry

if TYPE_CHECKING:
    from ..config import ModelConfig

SPECTROGRAM_PREDICTOR = Lazy("animal_spot.prediction.predictor:Predictor")


@dataclass(frozen=True, kw_only=True)
class TrainingDefaults:
    """What ``train`` uses where the config leaves ``lr``, ``beta1`` or the patience unset."""

    lr: float  # base learning rate per clip (× batch size)
    beta1: float
    lr_patience_epochs: int


def _no_check(config: ModelConfig) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Backbone:
    """One kind of network.

    Attributes:
        summary: a few words for ``--help`` and the docs.
        build: ``(ModelConfig, num_classes)`` → the network (an ``AudioClassifier``).
        defaults: the training defaults of this backbone.
        network_names: every network it builds (``resnet18`` …); ``network_name`` picks one.
        network_name: the name of the network a config builds (ImageNet files, messages).
        check: raises ``BadConfig`` for options this backbone cannot use.
        reads_spectrograms: False for a frozen extractor of its own (BirdNET reads waveform
            windows): no spectrogram front end, no ``--fast``, int8, export or legacy windows.
        predictor: the class that scores recordings with it (`Predictor`'s arguments).
        datasets: ``(config, splits, classes)`` → the training datasets when it does not
            train on spectrogram clips (None: the spectrogram ``ClipDataset``).
    """

    name: str
    summary: str
    build: Callable[..., Any]
    defaults: TrainingDefaults
    network_names: tuple[str, ...]
    network_name: Callable[[ModelConfig], str]
    check: Callable[[ModelConfig], None] = _no_check
    reads_spectrograms: bool = True
    predictor: Callable[..., Any] = SPECTROGRAM_PREDICTOR
    datasets: Callable[..., Any] | None = None


BACKBONES: Registry[Backbone] = Registry("backbone")


def register(backbone: Backbone) -> Backbone:
    BACKBONES.add(backbone.name, backbone)
    return backbone


def backbone_of(config: ModelConfig) -> Backbone:
    """The registered backbone ``config.backbone`` names (BadConfig with the names if none)."""
    return BACKBONES.get(config.backbone)


def network_names() -> list[str]:
    """Every network the registered backbones build, sorted (``birdnet`` … ``resnet50``)."""
    return sorted(name for b in BACKBONES for name in BACKBONES.get(b).network_names)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
