"""``--jit_load``: a TorchScript export (``export``, ``train --jit_save``) predicting as a model.

ANIMAL-SPOT's ``predict.py --jit_load`` took a TorchScript file; this takes the ones animal-spot
writes, whose ``frontend.json`` (an extra file inside) gives the front end, the classes and the
thresholds, so they predict as the ``model.pt`` they came from did.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..bundle import ModelBundle, first_line
from ..config import AudioConfig, ExperimentConfig, SpectrogramConfig, from_dict
from ..errors import AnimalSpotError, BadModel
from ..models import AudioClassifier


class TorchScriptNetwork(AudioClassifier):
    """A TorchScript export run as a network of this package: its output is the logits.

    It has no separate feature map, so ``--latent_extract`` and ``--fast`` are refused for it.
    """

    def __init__(self, scripted: torch.nn.Module, num_classes: int) -> None:
        super().__init__("torchscript", num_classes)
        self.scripted = scripted

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.scripted(x)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        if pre_logits:
            raise AnimalSpotError(
                "a TorchScript export gives logits only", fix="predict from the model.pt instead"
            )
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scripted(x)


def load_torchscript(path: str | Path) -> ModelBundle:
    """A bundle of a TorchScript file written by `export` (or ``train --jit_save``).

    Its front end, classes and thresholds come from the ``frontend.json`` it carries. The file's
    graph runs (TorchScript, no Python is evaluated); give only files of your own.

    Raises:
        BadModel: not a TorchScript file of this package.
    """
    path = Path(path)
    extra = {"frontend.json": ""}
    try:
        scripted = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        description = json.loads(extra["frontend.json"])
        frontend = description["frontend"]
        config = ExperimentConfig(
            audio=from_dict(AudioConfig, frontend["audio"], "[audio]"),
            spectrogram=from_dict(SpectrogramConfig, frontend["spectrogram"], "[spectrogram]"),
        )
        classes = [str(name) for name in description["classes"]]
    except (RuntimeError, ValueError, KeyError, TypeError, OSError) as err:
        raise BadModel(
            f"not a TorchScript export of animal-spot ({first_line(err)})",
            path=path,
            fix="give a file written by animal-spot export or train --jit_save",
        ) from None
    return ModelBundle(
        config=config,
        classes=classes,
        model=TorchScriptNetwork(scripted.eval(), len(classes)),
        thresholds={str(k): float(v) for k, v in (description.get("thresholds") or {}).items()},
        norm_stats=dict(description.get("norm_stats") or {}),
        provenance={"torchscript": str(path)},
    )


__all__ = ["TorchScriptNetwork", "load_torchscript"]
