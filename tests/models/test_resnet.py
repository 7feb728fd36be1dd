"""ResNet: ANIMAL-SPOT's stem options on top of torchvision's network and parameter names."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from animal_spot.config import ModelConfig
from animal_spot.models import ResNetClassifier, build_model


@pytest.mark.parametrize("depth", [18, 50])
@pytest.mark.parametrize(("max_pool", "stride"), [(0, 32), (1, 32), (2, 16)])
def test_max_pool_option_sets_the_feature_map_stride(depth, max_pool, stride):
    model = build_model(ModelConfig(resnet=depth, max_pool=max_pool), 3).eval()
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, 1, 96, 64))
    assert features.shape == (1, model.num_features, 96 // stride, 64 // stride)


def test_max_pool_0_strides_the_first_basic_block_with_a_new_shortcut():
    model = build_model(ModelConfig(resnet=18, max_pool=0), 3)
    block = model.layer1[0]
    assert isinstance(model.maxpool, nn.Identity)
    assert block.conv1.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)
    assert block.downsample[0].weight.shape == (64, 64, 1, 1)
    assert model.fresh_keys == ("layer1.0.downsample.",)


def test_max_pool_0_strides_the_3x3_conv_and_existing_shortcut_of_a_bottleneck():
    model = build_model(ModelConfig(resnet=50, max_pool=0), 3)
    block = model.layer1[0]
    assert block.conv1.stride == (1, 1)
    assert block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)
    assert model.fresh_keys == ()


def test_conv_kernel_size_5_gives_a_5x5_stem_with_padding_2():
    model = build_model(ModelConfig(conv_kernel_size=5), 3)
    assert model.conv1.weight.shape == (64, 1, 5, 5)
    assert model.conv1.stride == (2, 2)
    assert model.conv1.padding == (2, 2)
    assert model.conv1.bias is None
    with torch.no_grad():
        assert model.eval().forward_features(torch.randn(1, 1, 64, 64)).shape == (1, 512, 2, 2)


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_has_torchvision_parameter_names_and_outputs(depth):
    """Same keys as torchvision's model, and the same logits once its stem reads one channel."""
    torch.manual_seed(0)
    model = ResNetClassifier(depth, 4).eval()
    with torch.device("meta"):  # no init cost: every tensor comes from ``model``
        reference = getattr(torchvision.models, f"resnet{depth}")(weights=None, num_classes=4)
        reference.conv1 = nn.Conv2d(1, 64, 7, stride=2, padding=3, bias=False)
    reference.load_state_dict(model.state_dict(), strict=True, assign=True)
    reference.eval()
    x = torch.randn(2, 1, 96, 80)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_resnet_embedding_is_512_wide_for_basic_blocks_and_2048_for_bottlenecks():
    assert ResNetClassifier(18, 2).num_features == 512
    assert ResNetClassifier(50, 2).num_features == 2048
