"""RGB stem kernels become one-channel kernels by mean or sum."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from animal_spot.errors import BadConfig
from animal_spot.models.stem import adapt_stem_weight, one_channel_conv


def test_mean_and_sum_adapt_rgb_kernels_to_one_channel():
    weight = torch.randn(8, 3, 7, 7)
    mean = adapt_stem_weight(weight, "mean")
    total = adapt_stem_weight(weight, "sum")
    assert mean.shape == total.shape == (8, 1, 7, 7)
    torch.testing.assert_close(mean, (weight[:, 0] + weight[:, 1] + weight[:, 2])[:, None] / 3)
    torch.testing.assert_close(total, 3 * mean)


def test_sum_is_exact_for_a_grey_image_copied_into_three_channels():
    weight = torch.randn(8, 3, 7, 7)
    grey = torch.randn(1, 1, 20, 20)
    rgb_out = nn.functional.conv2d(grey.expand(1, 3, 20, 20), weight)
    torch.testing.assert_close(
        nn.functional.conv2d(grey, adapt_stem_weight(weight, "sum")), rgb_out
    )


def test_a_one_channel_kernel_is_returned_unchanged():
    weight = torch.randn(8, 1, 7, 7)
    assert adapt_stem_weight(weight, "sum") is weight


def test_unknown_stem_adapt_is_a_bad_config():
    with pytest.raises(BadConfig, match="stem_adapt"):
        adapt_stem_weight(torch.randn(8, 3, 7, 7), "max")


def test_one_channel_conv_keeps_kernel_stride_padding_and_bias():
    conv = one_channel_conv(nn.Conv2d(3, 16, 5, stride=3, padding=2, bias=True))
    assert conv.weight.shape == (16, 1, 5, 5)
    assert (conv.stride, conv.padding) == ((3, 3), (2, 2))
    assert conv.bias is not None
