"""Turn a three-channel (RGB) stem into the one-channel stem a spectrogram needs."""

from __future__ import annotations

from torch import Tensor, nn

from ..config import StemAdapt
from ..errors import BadConfig


def one_channel_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """A new conv shaped like ``conv`` (kernel, stride, padding, bias) that reads one channel.

    Its weights are PyTorch's default; the caller re-initialises them the way its network does.
    """
    return nn.Conv2d(
        1,
        conv.out_channels,
        conv.kernel_size,  # type: ignore[arg-type]  # a 2-tuple for every Conv2d
        stride=conv.stride,  # type: ignore[arg-type]
        padding=conv.padding,  # type: ignore[arg-type]
        dilation=conv.dilation,  # type: ignore[arg-type]
        bias=conv.bias is not None,
    )


def adapt_stem_weight(weight: Tensor, mode: StemAdapt = "mean") -> Tensor:
    """RGB kernels ``(C, 3, k, k)`` → one-channel kernels ``(C, 1, k, k)``.

    ``mean`` is the fork's way. ``sum`` is timm's: exact for a grey image copied into three
    channels, whereas the mean shrinks the stem's output 3×, which BatchNorm statistics notice.
    A kernel that already reads one channel comes back unchanged.

    Args:
        weight: a stem conv weight ``(C, in_channels, k, k)``.
        mode: ``"mean"`` or ``"sum"`` over the input channels.
    """
    if mode not in ("mean", "sum"):
        raise BadConfig(f"model.stem_adapt = {mode!r}; choose one of ('mean', 'sum')")
    if weight.ndim != 4 or weight.shape[1] == 1:
        return weight
    if mode == "sum":
        return weight.sum(dim=1, keepdim=True)
    return weight.mean(dim=1, keepdim=True)
