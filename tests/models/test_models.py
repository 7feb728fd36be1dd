"""Registry sweep: every registered model builds, runs forward and backward, and embeds."""

from __future__ import annotations

import pytest
import torch

from animal_spot.backbones import BACKBONES
from animal_spot.config import ModelConfig
from animal_spot.errors import BadConfig
from animal_spot.models import AudioClassifier, build_model, list_models

SLOW = {"convnext_base", "convnext_large", "resnet101", "resnet152"}
NUM_CLASSES = 5
# Models whose input is a spectrogram (birdnet's is a BirdNET embedding: tests/models/
# test_embedding_head.py).
SPECTROGRAM_MODELS = [name for name in list_models() if name != "birdnet"]


def config_for(name: str, **kwargs) -> ModelConfig:
    """The ModelConfig whose ``.name`` is ``name``."""
    if name.startswith("convnext_"):
        return ModelConfig(backbone="convnext", convnext=name.removeprefix("convnext_"), **kwargs)
    return ModelConfig(backbone="resnet", resnet=int(name.removeprefix("resnet")), **kwargs)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
        for name in SPECTROGRAM_MODELS
    ],
)
def model(request) -> AudioClassifier:
    """Each registered model, built once per module with a fixed seed."""
    torch.manual_seed(0)
    return build_model(config_for(request.param), NUM_CLASSES)


def test_list_models_names_every_resnet_and_convnext_size_and_the_birdnet_head():
    assert list_models() == [
        "birdnet",
        "convnext_base",
        "convnext_large",
        "convnext_small",
        "convnext_tiny",
        "resnet101",
        "resnet152",
        "resnet18",
        "resnet34",
        "resnet50",
    ]


def test_every_registered_model_runs_forward_and_backward(model):
    model.train()
    x = torch.randn(2, 1, 128, 128)
    logits = model(x)
    assert logits.shape == (2, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    stem = dict(model.named_parameters())[model.stem_key]  # the one-channel conv learns too
    assert stem.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_forward_head_of_forward_features_equals_forward_for_every_model(model):
    model.eval()
    x = torch.randn(2, 1, 128, 128)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.ndim == 4
        assert features.shape[:2] == (2, model.num_features)
        torch.testing.assert_close(model.forward_head(features), model(x), rtol=0, atol=0)


def test_embed_returns_pooled_penultimate_features_for_every_model(model):
    model.eval()
    x = torch.randn(2, 1, 128, 128)
    with torch.no_grad():
        embedding = model.embed(x)
        features = model.forward_features(x)
        assert embedding.shape == (2, model.num_features)
        torch.testing.assert_close(model.forward_head(features, pre_logits=True), embedding)


def test_every_model_takes_spectrograms_of_any_size_from_32_by_32(model):
    model.eval()
    with torch.no_grad():
        for n_freq, n_frames in [(32, 32), (33, 57)]:
            logits = model(torch.randn(1, 1, n_freq, n_frames))
            assert logits.shape == (1, NUM_CLASSES)


def test_reset_classifier_changes_the_number_of_outputs(model):
    model.eval()
    model.reset_classifier(7)
    try:
        assert model.num_classes == 7
        with torch.no_grad():
            assert model(torch.randn(1, 1, 64, 64)).shape == (1, 7)
    finally:
        model.reset_classifier(NUM_CLASSES)


def test_build_model_builds_the_network_the_config_names():
    model = build_model(ModelConfig(backbone="resnet", resnet=34), 2)
    assert model.name == "resnet34"
    assert model.num_classes == 2
    assert model.num_features == 512


def test_build_model_refuses_zero_classes():
    with pytest.raises(BadConfig, match="num_classes"):
        build_model(ModelConfig(), 0)


def test_unknown_backbone_is_a_bad_config_listing_the_registered_ones():
    with pytest.raises(BadConfig) as caught:
        ModelConfig(backbone="resnett")
    message = str(caught.value)
    assert "resnett" in message
    assert all(name in message for name in BACKBONES.names())
    assert BACKBONES.names() == ["birdnet", "convnext", "resnet"]


@pytest.mark.parametrize(
    ("options", "named"),
    [({"resnet": 19}, "model.resnet = 19"), ({"backbone": "convnext", "convnext": "huge"}, "huge")],
)
def test_a_size_the_backbone_does_not_build_is_refused_by_its_own_check(options, named):
    with pytest.raises(BadConfig, match=named):
        ModelConfig(**options)
