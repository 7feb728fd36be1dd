"""ANIMAL-SPOT's own flags of ``main.py`` and ``predict.py``, with their meaning or a way out.

Each flag is accepted under its name: those with a counterpart do what they did (``--debug``
logs at DEBUG, ``--no_cuda`` hides the GPUs, ``--log_dir`` writes ``TRAIN.log`` /
``PREDICT.log`` there, ``--summary_dir`` takes the TensorBoard summaries, ``--jit_save`` writes a
TorchScript model beside ``model.pt``; ``--visualize`` and ``--jit_load`` are predict options
of their own);
``--checkpoint_path`` did nothing in ``predict.py`` and does nothing here; ``--checkpoint_dir``
is a training option of its own (``TrainConfig.checkpoint_dir``). The rest stop with one line
that says what to use instead.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from .console import run_log
from .errors import BadConfig

log = logging.getLogger(__name__)

# flag → what to use instead (the flag is refused with this)
REFUSED_TRAIN: dict[str, str] = {}
REFUSED_PREDICT: dict[str, str] = {}


def _debug_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument("-d", "--debug", action="store_true", help="log at DEBUG (= --log_level)")


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ANIMAL-SPOT main.py options")
    group.add_argument("--learning_rate", dest="train.lr", metavar="LR", help="= --lr")
    group.add_argument("--no_cuda", action="store_true", help="train on the CPU, GPUs hidden")
    _debug_flags(group)
    group.add_argument(
        "--start_from_scratch",
        action="store_true",
        help="a new run (the default here; --resume continues one)",
    )
    group.add_argument("--log_dir", type=Path, help="also write TRAIN.log into this folder")
    group.add_argument(
        "--jit_save", action="store_true", help="also write model.torchscript.pt beside model.pt"
    )


def add_predict_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ANIMAL-SPOT predict.py options")
    group.add_argument("--sequence_len", dest="predict.window_s", help="= --window_s (seconds)")
    group.add_argument(
        "--no_cuda", dest="predict.device", action="store_const", const="cpu", help="= --device cpu"
    )
    _debug_flags(group)
    group.add_argument("--log_dir", type=Path, help="also write PREDICT.log into this folder")
    group.add_argument("--checkpoint_path", help="unused, as in predict.py")
    for flag, instead in REFUSED_PREDICT.items():
        group.add_argument(f"--{flag}", action="store_true", help=f"refused: {instead}")


def _refuse(args: argparse.Namespace, refused: dict[str, str]) -> None:
    for flag, instead in refused.items():
        if getattr(args, flag, None):
            raise BadConfig(f"--{flag} is not supported", fix=instead)


@contextlib.contextmanager
def _common(args: argparse.Namespace, log_name: str) -> Iterator[None]:
    root = logging.getLogger()
    before = root.level, [(handler, handler.level) for handler in root.handlers]
    if args.debug:
        root.setLevel(logging.DEBUG)
        for handler in root.handlers:
            handler.setLevel(logging.DEBUG)
    level = logging.DEBUG if args.debug else logging.INFO
    try:
        with run_log(args.log_dir / log_name, level) if args.log_dir else contextlib.nullcontext():
            yield
    finally:  # the levels of the process as they were (main() may be called again)
        root.setLevel(before[0])
        for handler, handler_level in before[1]:
            handler.setLevel(handler_level)


@contextlib.contextmanager
def train_flags(args: argparse.Namespace) -> Iterator[None]:
    """The training run under the ANIMAL-SPOT flags given (module docstring).

    Raises:
        BadConfig: a refused flag, or ``--start_from_scratch`` with ``--resume``.
    """
    _refuse(args, REFUSED_TRAIN)
    if args.start_from_scratch and getattr(args, "train.resume", None):
        raise BadConfig("--start_from_scratch and --resume contradict each other; choose one")
    if args.no_cuda:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA starts: the run sees no GPU
    with _common(args, "TRAIN.log"):
        yield


@contextlib.contextmanager
def predict_flags(args: argparse.Namespace) -> Iterator[None]:
    """The prediction run under the ANIMAL-SPOT flags given (module docstring)."""
    _refuse(args, REFUSED_PREDICT)
    if args.checkpoint_path:
        log.warning("--checkpoint_path is unused (as in predict.py): --model_path names the model")
    with _common(args, "PREDICT.log"):
        yield


def write_jit(model_path: Path) -> Path:
    """``--jit_save``: the trained model as TorchScript beside ``model.pt``."""
    from .export import export

    return export(model_path, "torchscript")


__all__ = [
    "REFUSED_PREDICT",
    "REFUSED_TRAIN",
    "add_predict_flags",
    "add_train_flags",
    "predict_flags",
    "train_flags",
    "write_jit",
]
