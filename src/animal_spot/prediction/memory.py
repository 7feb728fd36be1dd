"""Prediction within a memory budget (``--max_memory_gb``): the batch, or ``--fast``'s block.

What a process holds while it predicts is what it held once torch and the models were loaded,
plus the network's activations, which grow with the windows of a batch (``--fast``: with the
frames of a block). Both are measured, not guessed: the resident size from ``/proc``, the
activations from one forward pass of a single window with a hook on every layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import BadConfig
from .predictor import Predictor
from .runtime import resident_bytes

MB = 1 << 20
# Room kept besides the network: audio blocks, STFT, score track, outputs and what malloc keeps
# of them. Measured: at the defaults a whole predict() peaks 183 MB above the same process
# running only the network on batches of 32 (benchmarks/RESULTS.md).
FRONT_END_RESERVE = 192 * MB
# --fast keeps more beside the block's feature maps (the frames of the windows to come, their
# columns, the heads' inputs): measured 305–330 MB above them at the defaults; kept with a margin.
FAST_RESERVE = 416 * MB
# The live tensors of a layer: its input, its output and a residual branch's identity.
LIVE_PER_LAYER = 3


def activation_bytes(model: nn.Module, input_shape: Sequence[int], device: torch.device) -> int:
    """Bytes the network holds at once for one input of ``input_shape`` (``(1, 1, F, T)``):
    the largest output of any layer, times the tensors alive around it."""
    largest = 0

    def record(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal largest
        if isinstance(output, torch.Tensor):
            largest = max(largest, output.numel() * output.element_size())

    hooks = [m.register_forward_hook(record) for m in model.modules() if not list(m.children())]
    try:
        with torch.inference_mode():
            model(torch.zeros(tuple(input_shape), device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return LIVE_PER_LAYER * largest


def room_bytes(budget_gb: float, reserve: int = FRONT_END_RESERVE) -> int:
    """What the budget leaves for activations once the process and the front end are counted.

    Raises:
        BadConfig: the budget is below what is already held.
    """
    budget, held = int(budget_gb * (1 << 30)), resident_bytes() + reserve
    if budget <= held:
        raise BadConfig(
            f"--max_memory_gb {budget_gb:g} is below what prediction holds before its first "
            f"window: {held / (1 << 30):.2f} GB (torch, the models and the audio blocks)",
            fix=f"give at least {held / (1 << 30) + 0.1:.1f}",
        )
    return budget - held


def fit_batches(predictors: Sequence[Predictor], budget_gb: float) -> list[int]:
    """Lower each predictor's batch size until its activations fit the budget; the sizes.

    Raises:
        BadConfig: not even one window fits.
    """
    room = room_bytes(budget_gb)
    held = int(budget_gb * (1 << 30)) - room
    sizes = []
    for predictor in predictors:
        frontend = predictor.frontend
        shape = (1, 1, frontend.n_freq_out, predictor.grid.window_frames)
        per_window = activation_bytes(predictor.model, shape, predictor.device)
        fits = room // max(1, per_window)
        if fits < 1:
            raise BadConfig(
                f"--max_memory_gb {budget_gb:g} leaves {room / MB:.0f} MB for the network, "
                f"which needs {per_window / MB:.0f} MB for one window",
                fix=f"give at least {(held + per_window) / (1 << 30) + 0.1:.1f}",
            )
        predictor.batch_size = int(min(predictor.batch_size, fits))
        sizes.append(predictor.batch_size)
    return sizes


def fast_block_s(
    predictor: Predictor, budget_gb: float, most_s: float, context_frames: int
) -> float:
    """``--fast``: the longest block (≤ ``most_s`` seconds) whose feature maps fit the budget.

    A block runs the backbone over all its frames and ``context_frames`` on each side at once,
    so its activations grow with its length: measured on one window and scaled by frames.
    """
    room = room_bytes(budget_gb, FAST_RESERVE)
    grid = predictor.grid
    shape = (1, 1, predictor.frontend.n_freq_out, grid.window_frames)
    per_frame = activation_bytes(predictor.model, shape, predictor.device) / grid.window_frames
    frames_per_s = grid.sample_rate_hz / grid.hop_length
    fits_s = (room / max(1.0, per_frame) - 2 * context_frames) / frames_per_s
    window_s = grid.window_frames / frames_per_s
    if fits_s < 2 * window_s:
        raise BadConfig(
            f"--max_memory_gb {budget_gb:g} leaves room for {fits_s:.1f} s of --fast's feature "
            f"maps, under two windows ({2 * window_s:.1f} s)",
            fix="give a larger budget, or drop --fast (the exact path fits by batch size)",
        )
    return min(most_s, fits_s)
