"""Backbones are one registry: a new one is one registration, and every list reads from it."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import animal_spot.backbones as backbones
from animal_spot.backbones import BACKBONES
from animal_spot.config import ModelConfig
from animal_spot.errors import BadConfig

SOURCE = Path(__file__).resolve().parents[1] / "src" / "animal_spot"

# One file, as a user would add it: its network, its options check, its defaults.
TINY_BACKBONE = """
from animal_spot.backbones import Backbone, TrainingDefaults, register
from animal_spot.errors import BadConfig
from animal_spot.registry import Lazy


def build(config, num_classes):
    import torch
    from torch import nn

    from animal_spot.models import AudioClassifier

    class Tiny(AudioClassifier):
        def __init__(self):
            super().__init__("tiny", num_classes)
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4, num_classes)
            self.num_features = 4

        def forward_features(self, x):
            return torch.relu(self.conv(x))

        def forward_head(self, features, pre_logits=False):
            pooled = features.mean((2, 3))
            return pooled if pre_logits else self.fc(pooled)

    return Tiny()


def check(config):
    if config.pretrained:
        raise BadConfig("the tiny backbone has no pretrained weights")


register(
    Backbone(
        name="tiny",
        summary="a four-channel toy",
        build=Lazy("tiny_backbone:build"),
        defaults=TrainingDefaults(lr=1e-3, beta1=0.8, lr_patience_epochs=3),
        network_names=("tiny",),
        network_name=lambda config: "tiny",
        check=check,
    )
)
"""

PROBE = """
import json, torch
import tiny_backbone  # the one new file
from animal_spot.cli import build_parser
from animal_spot.config import ExperimentConfig, ModelConfig
from animal_spot.errors import BadConfig
from animal_spot.models import build_model, list_models
from animal_spot.training.fit import resolved_hyperparameters

config = ExperimentConfig(model=ModelConfig(backbone="tiny"))
model = build_model(config.model, 3)
logits = model(torch.zeros(2, 1, 32, 32))
try:
    ModelConfig(backbone="tiny", pretrained="hub")
    refused = ""
except BadConfig as err:
    refused = str(err)
import argparse
verbs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
train = verbs.choices["train"]
backbone_flag = next(a for a in train._actions if "--backbone" in a.option_strings)
print(json.dumps({
    "shape": list(logits.shape),
    "names": list_models(),
    "hyper": resolved_hyperparameters(config),
    "refused": refused,
    "metavar": backbone_flag.metavar,
    "help": backbone_flag.help,
}))
"""


def test_a_backbone_in_one_file_is_built_trained_with_its_defaults_and_offered_by_the_cli(
    tmp_path,
):
    (tmp_path / "tiny_backbone.py").write_text(textwrap.dedent(TINY_BACKBONE))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["shape"] == [2, 3]
    assert "tiny" in seen["names"] and "resnet18" in seen["names"]
    assert seen["hyper"]["base_lr"] == pytest.approx(1e-3)
    assert seen["hyper"]["lr"] == pytest.approx(1e-3 * 16)  # per clip × the default batch 16
    assert seen["hyper"]["beta1"] == pytest.approx(0.8)
    assert seen["hyper"]["lr_patience_epochs"] == 3
    assert "no pretrained weights" in seen["refused"]
    assert seen["metavar"] == "{birdnet,convnext,resnet,tiny}"
    assert "tiny: a four-channel toy" in seen["help"]


def test_every_file_of_the_backbones_package_registers_the_backbone_it_is_named_after():
    files = sorted(m.name for m in pkgutil.iter_modules(backbones.__path__))
    assert files == BACKBONES.names() == ["birdnet", "convnext", "resnet"]


def test_no_module_outside_the_backbones_compares_a_backbone_name():
    """Behaviour differs by what a backbone declares (`reads_spectrograms`, its hooks), never
    by an if on its name outside its own file and the network that implements it."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith(("backbones/", "legacy/")):
            continue
        text = path.read_text(encoding="utf-8")
        for name in BACKBONES.names():
            for pattern in (f'backbone == "{name}"', f'backbone != "{name}"'):
                if pattern in text:
                    offenders.append(f"{relative}: {pattern}")
    assert offenders == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backbone": "birdnet", "pretrained": "hub"}, "BirdNET is pretrained already"),
        ({"backbone": "resnet", "max_pool": 3}, "model.max_pool = 3"),
        ({"backbone": "resnet", "conv_kernel_size": 4}, "must be odd"),
    ],
)
def test_each_backbone_checks_its_own_options(options, message):
    with pytest.raises(BadConfig, match=message):
        ModelConfig(**options)


def test_backbone_defaults_are_the_forks_per_backbone_training_settings():
    """The fork's training scripts: ResNet lr 5e-6 β1 0.5 patience 8, ConvNeXt 1e-6 0.9 10."""
    resnet, convnext = BACKBONES.get("resnet").defaults, BACKBONES.get("convnext").defaults
    assert (resnet.lr, resnet.beta1, resnet.lr_patience_epochs) == (5e-6, 0.5, 8)
    assert (convnext.lr, convnext.beta1, convnext.lr_patience_epochs) == (1e-6, 0.9, 10)
