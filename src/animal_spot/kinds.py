"""The names a config chooses among for losses and prediction runtimes, one list each.

Light on purpose: the config's validation, the CLI's choices and the docs read these lists
without importing torch; each entry names its implementation (`Lazy`), loaded when used.
Backbones have a package of their own (`animal_spot.backbones`), export formats live in
`animal_spot.export` and scorer kinds in `animal_spot.prediction.compose`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .registry import Lazy, Registry

# ``(TrainConfig, class weights or None)`` → the loss module.
LOSSES: Registry[Callable[..., Any]] = Registry("loss")
LOSSES.add("cross_entropy", Lazy("animal_spot.training.losses:cross_entropy"))
LOSSES.add("focal", Lazy("animal_spot.training.losses:focal"))


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """What runs the network during prediction.

    Attributes:
        runner: ``(model, input shape, threads)`` → a runner of batches (an ``OnnxRunner``);
            None: the torch model itself.
        on_frame_grid: runs only windows of the trained length (no ANIMAL-SPOT windows).
        cpu_fp32: runs on the CPU in fp32 only.
    """

    name: str
    summary: str
    runner: Callable[..., Any] | None = None
    on_frame_grid: bool = False
    cpu_fp32: bool = False


RUNTIMES: Registry[Runtime] = Registry("runtime")
for _runtime in (
    Runtime(name="torch", summary="PyTorch on --device"),
    Runtime(
        name="onnx",
        summary="ONNX Runtime on the CPU (faster for some models)",
        runner=Lazy("animal_spot.prediction.onnx_runner:OnnxRunner"),
        on_frame_grid=True,
        cpu_fp32=True,
    ),
):
    RUNTIMES.add(_runtime.name, _runtime)
