"""Load ImageNet (torch hub cache, never downloaded) or local weights into a model."""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..config import StemAdapt
from ..errors import BadModel
from .base import AudioClassifier
from .stem import adapt_stem_weight

log = logging.getLogger(__name__)

_PATH_FIX = "pass --pretrained PATH to a state dict saved with torch.save(model.state_dict(), PATH)"


def hub_weights_url(name: str) -> str:
    """URL of torchvision's standard ImageNet weights (IMAGENET1K_V1) for model ``name``."""
    import torchvision  # seconds to import: only when weights are wanted

    return str(torchvision.models.get_model_weights(name).IMAGENET1K_V1.url)


def hub_weights_path(name: str) -> Path:
    """Where torch hub keeps the ImageNet file of ``name``: ``<hub dir>/checkpoints/<file>``."""
    filename = os.path.basename(urllib.parse.urlparse(hub_weights_url(name)).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a weights file: a plain state dict, or one under ``state_dict``/``model``.

    Raises:
        BadModel: the file is missing, is not a safe ``weights_only`` file, or holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise BadModel("pretrained weights file not found", path=path, fix=_PATH_FIX)
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's messages span many lines: keep the one fact that matters
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        if unsafe:
            raise BadModel(
                f"holds Python objects ({unsafe[1]}), not only tensors, so it is not loaded",
                path=path,
                fix="save model.state_dict() instead of the model",
            ) from None
        raise BadModel(
            f"is not a readable torch weights file ({type(err).__name__})",
            path=path,
            fix=_PATH_FIX,
        ) from None
    state = _as_state_dict(content)
    if state is None and isinstance(content, Mapping):
        for key in ("state_dict", "model"):  # Lightning / our model.pt; common checkpoint layout
            state = _as_state_dict(content.get(key))
            if state is not None:
                break
    if state is None:
        raise BadModel(
            "holds no state dict (names → tensors, plain or under 'state_dict' or 'model')",
            path=path,
            fix=_PATH_FIX,
        )
    if all(key.startswith("module.") for key in state):  # saved from DataParallel / DDP
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def _as_state_dict(content: Any) -> dict[str, Tensor] | None:
    if not isinstance(content, Mapping) or not content:
        return None
    if all(isinstance(k, str) and isinstance(v, Tensor) for k, v in content.items()):
        return dict(content)
    return None


def load_pretrained(
    model: AudioClassifier, source: str | Path, *, stem_adapt: StemAdapt = "mean"
) -> list[str]:
    """Copy pretrained weights into ``model``; return the keys that keep their fresh init.

    The RGB stem becomes one channel (:func:`adapt_stem_weight`); a stem of another kernel
    size is skipped with a warning. A head Linear of another shape (other classes) is
    skipped. Every other tensor must exist in both and load unchanged.

    Args:
        model: a freshly built network.
        source: ``"hub"`` for torchvision's ImageNet file in the torch hub cache, or a path.
        stem_adapt: ``"mean"`` (the fork's way) or ``"sum"`` over the RGB kernels.

    Raises:
        BadModel: the file is absent or unreadable, or its body does not fit ``model``.
    """
    if str(source) == "hub":
        path = hub_weights_path(model.name)
        if not path.is_file():
            url = hub_weights_url(model.name)
            raise BadModel(
                f"ImageNet weights for {model.name} not found at {path}",
                fix=f"download {url} on a machine with network and copy it to {path.parent}, "
                "or pass --pretrained PATH",
            )
    else:
        path = Path(source)
    state = read_state_dict(path)
    fitted, skipped = _fit_state_dict(model, state, stem_adapt, path)
    model.load_state_dict(fitted, strict=False)  # every missing key was checked to be allowed
    log.info(
        "%s: loaded %d tensors from %s; kept fresh: %s",
        model.name,
        len(fitted),
        path,
        ", ".join(skipped) or "none",
    )
    return skipped


def _fit_state_dict(
    model: AudioClassifier, state: dict[str, Tensor], stem_adapt: StemAdapt, path: Path
) -> tuple[dict[str, Tensor], list[str]]:
    """The tensors of ``state`` that fit ``model``, and the model keys left fresh."""
    target = model.state_dict()
    state = dict(state)
    skipped = []
    stem = state.get(model.stem_key)
    if stem is not None:
        stem = adapt_stem_weight(stem, stem_adapt)  # (C, 3, k, k) → (C, 1, k, k)
        wanted = target[model.stem_key].shape
        if stem.shape == wanted:
            state[model.stem_key] = stem
        else:
            log.warning(
                "%s: the pretrained stem %s does not fit the model's %s (another "
                "conv_kernel_size?); the stem keeps its fresh init",
                model.name,
                tuple(stem.shape),
                tuple(wanted),
            )
            del state[model.stem_key]
            skipped.append(model.stem_key)
    for key in [k for k in state if k.startswith(model.head_prefix) and k in target]:
        if state[key].shape != target[key].shape:  # another number of classes
            del state[key]
            skipped.append(key)

    misfits = [k for k in state if k in target and state[k].shape != target[k].shape]
    unexpected = [k for k in state if k not in target]
    # BatchNorm fills a missing num_batches_tracked itself (old torchvision files lack it)
    missing = [
        k
        for k in target
        if k not in state
        and k not in skipped
        and not k.startswith(model.fresh_keys)
        and not k.endswith("num_batches_tracked")
    ]
    problems = [
        f"{label}: {_few(keys)}"
        for label, keys in (
            ("wrong shape", misfits),
            ("missing", missing),
            ("unexpected", unexpected),
        )
        if keys
    ]
    if problems:
        raise BadModel(
            f"weights do not fit {model.name} ({'; '.join(problems)})",
            path=path,
            fix=f"pass weights of a {model.name} (torchvision names)",
        )
    skipped += [k for k in target if k.startswith(model.fresh_keys) and k not in state]
    return state, skipped


def _few(keys: list[str], limit: int = 4) -> str:
    """``a, b, c, d (+5 more)``: enough names for a one-line error."""
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
