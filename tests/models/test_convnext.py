"""ConvNeXt: torchvision's network with a one-channel patchify stem."""

from __future__ import annotations

import pytest
import torch
import torchvision

from animal_spot.config import ModelConfig
from animal_spot.models import ConvNeXtClassifier, build_model
from animal_spot.models.stem import one_channel_conv


@pytest.fixture(scope="module")
def tiny() -> ConvNeXtClassifier:
    """One convnext_tiny with 4 classes, in eval mode, shared by the module's tests."""
    torch.manual_seed(0)
    return ConvNeXtClassifier("tiny", 4).eval()


def test_build_model_gives_convnext_a_one_channel_4x4_stride_4_stem_with_bias():
    model = build_model(ModelConfig(backbone="convnext", convnext="tiny"), 3)
    stem = model.features[0][0]
    assert stem.weight.shape == (96, 1, 4, 4)
    assert stem.stride == (4, 4)
    assert stem.bias is not None
    assert model.num_features == 768


def test_convnext_has_torchvision_parameter_names_and_outputs(tiny):
    """Same keys as torchvision's model, and the same logits once its stem reads one channel."""
    model = tiny
    with torch.device("meta"):  # no init cost: every tensor comes from ``model``
        reference = torchvision.models.convnext_tiny(weights=None, num_classes=4)
        reference.features[0][0] = one_channel_conv(reference.features[0][0])
    reference.load_state_dict(model.state_dict(), strict=True, assign=True)
    reference.eval()
    x = torch.randn(2, 1, 96, 80)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_convnext_embedding_is_layer_normed_pooled_features(tiny):
    model = tiny
    x = torch.randn(2, 1, 64, 64)
    with torch.no_grad():
        pooled = model.forward_features(x).mean(dim=(-2, -1))
        normed = torch.nn.functional.layer_norm(
            pooled, (768,), model.classifier[0].weight, model.classifier[0].bias, eps=1e-6
        )
        torch.testing.assert_close(model.embed(x), normed)
