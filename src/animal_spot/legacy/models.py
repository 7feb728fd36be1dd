"""ANIMAL-SPOT ``.pk`` models (the original and the fork's) → ModelBundle on our networks.

A ``.pk`` (notes §5) is ``{encoderOpts, classifierOpts, dataOpts, encoderState, classifierState,
classes}``, plus ``backbone`` in the fork. Its ResNet keys are torchvision's but for
``shortcut`` (``downsample``) and ``classifier.linear`` (``fc``); the fork's ConvNeXt encoder
holds torchvision ``features`` twice (``backbone.*`` and ``features.*``). Our networks take the
weights as they are: ``ModelConfig.time_major`` feeds them ANIMAL-SPOT's ``(time, freq)`` input
and ``head_norm=False`` drops torchvision's head LayerNorm the fork's ConvNeXt lacks.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..bundle import FRAMING, PER_WINDOW, ModelBundle, default_provenance
from ..config import AudioConfig, ExperimentConfig, ModelConfig, SpectrogramConfig
from ..errors import BadConfig, BadModel
from ..models import build_model

log = logging.getLogger(__name__)

PK_KEYS = ("encoderOpts", "classifierOpts", "dataOpts", "encoderState", "classifierState")
OTHER_PK_KEYS = ("classes", "backbone", "model_type")
# dataOpts key → (section, field) of ours; all ten are required.
DATA_OPTS = {
    "sr": ("audio", "sample_rate_hz"),
    "preemphases": ("spectrogram", "preemphasis"),
    "n_fft": ("spectrogram", "n_fft"),
    "hop_length": ("spectrogram", "hop_length"),
    "n_freq_bins": ("spectrogram", "n_freq_bins"),
    "fmin": ("spectrogram", "fmin_hz"),
    "fmax": ("spectrogram", "fmax_hz"),
    "freq_compression": ("spectrogram", "freq_compression"),
    "min_level_db": ("spectrogram", "min_level_db"),
    "ref_level_db": ("spectrogram", "ref_level_db"),
}
# What each program defaulted to for what the .pk does not store.
SEQUENCE_LEN_MS = {"ANIMAL-SPOT": 1280.0, "fork": 1000.0}
MEAN_POOLING = ("avg", "mean", "average")
# ConvNeXt size by (stem channels, blocks in stage 3).
CONVNEXT_SIZES = {(96, 9): "tiny", (96, 27): "small", (128, 27): "base", (192, 27): "large"}


def bundle_from_legacy(
    content: Mapping[str, Any],
    path: str | Path,
    *,
    sequence_len_ms: float | None = None,
    min_max_norm: bool | None = None,
) -> ModelBundle:
    """A ModelBundle from a loaded ANIMAL-SPOT ``.pk`` dict, predicting exactly as it did.

    Args:
        content: the dict ``torch.load(path, weights_only=True)`` returned.
        path: the file, for messages and provenance.
        sequence_len_ms: training window (the .pk does not store it); ``None`` assumes the
            default of the program that wrote the file (ANIMAL-SPOT 1280 ms, the fork 1000 ms).
        min_max_norm: whether training used min-max normalisation (not stored); ``None``
            assumes ``False`` (0/1-dB normalisation, main.py's default).

    Raises:
        BadModel: a key is missing, an option or a weight is not what ANIMAL-SPOT writes.
    """
    try:
        return _bundle_from_legacy(content, path, sequence_len_ms, min_max_norm)
    except (AttributeError, IndexError, KeyError, RuntimeError, TypeError, ValueError) as err:
        # The right keys holding the wrong kinds of values: a damaged or foreign file.
        detail = " ".join(str(err).split())[:200]
        raise BadModel(
            f"not a usable ANIMAL-SPOT .pk ({type(err).__name__}: {detail})",
            path=path,
            fix="use the .pk that ANIMAL-SPOT's training wrote, unchanged",
        ) from None


def _bundle_from_legacy(
    content: Mapping[str, Any],
    path: str | Path,
    sequence_len_ms: float | None,
    min_max_norm: bool | None,
) -> ModelBundle:
    missing = [k for k in PK_KEYS if k not in content]
    if missing:
        raise BadModel(f"an ANIMAL-SPOT .pk without {', '.join(missing)}", path=path)
    extra = [str(k) for k in content if k not in PK_KEYS + OTHER_PK_KEYS]
    if extra:
        log.warning("%s: ignoring .pk entries %s", path, ", ".join(extra))
    enc, cls = _options(content, "encoderOpts", path), _options(content, "classifierOpts", path)
    is_fork = "backbone" in content
    backbone = str(content.get("backbone") or enc.get("backbone") or "resnet").lower()
    encoder = _drop_prefix(dict(content["encoderState"]), "encoder.")
    head = _drop_prefix(dict(content["classifierState"]), "classifier.")
    if set(head) != {"linear.weight", "linear.bias"}:
        raise BadModel(f"classifierState holds {sorted(head)}, not linear.weight/bias", path=path)
    pooling = str(cls.get("pooling", "avg")).lower()
    if pooling not in MEAN_POOLING:
        raise BadModel(f"classifier pooling {pooling!r} is not supported (only avg)", path=path)
    if int(enc.get("input_channels", 1)) != 1:
        raise BadModel(f"encoder reads {enc['input_channels']} channels, not 1", path=path)
    num_classes = int(head["linear.weight"].shape[0])
    if num_classes < 2:
        raise BadModel(f"the classifier has {num_classes} output, not 2 or more", path=path)
    if int(cls.get("num_classes", num_classes)) != num_classes:
        raise BadModel(
            f"classifierOpts num_classes {cls['num_classes']} but {num_classes} outputs", path=path
        )
    if backbone == "resnet":
        model_config, state = _resnet(enc, encoder, path)
        prefix = "fc."
    elif backbone == "convnext":
        model_config, state = _convnext(encoder, path)
        prefix = "classifier.2."
    else:
        raise BadModel(f"backbone {backbone!r} is neither resnet nor convnext", path=path)
    state.update({prefix + k.removeprefix("linear."): v for k, v in head.items()})
    classes = _classes(content.get("classes"), num_classes, path)
    assumed = {}
    if sequence_len_ms is None:
        program = "fork" if is_fork else "ANIMAL-SPOT"
        sequence_len_ms = SEQUENCE_LEN_MS[program]
        assumed["sequence_len"] = f"{sequence_len_ms:g} ms ({program} default)"
    if min_max_norm is None:
        min_max_norm = False
        assumed["min_max_norm"] = "false (0/1-dB normalisation)"
    if assumed:
        log.warning(
            "%s: a .pk does not store %s; assumed %s — if training used others, convert it once:"
            " animal-spot export --from_legacy %s --sequence_len MS [--min_max_norm]",
            path,
            " or ".join(assumed),
            ", ".join(f"{k} {v}" for k, v in assumed.items()),
            path,
        )
    data_opts = _data_opts(content["dataOpts"], path)
    try:
        audio, spectrogram = config_from_data_opts(
            data_opts, sequence_len_ms=sequence_len_ms, min_max_norm=min_max_norm
        )
        model_config = dataclasses.replace(model_config, num_classes=num_classes)
    except (BadConfig, TypeError, ValueError) as err:
        raise BadModel(f"its dataOpts cannot be used ({err})", path=path) from None
    config = ExperimentConfig(audio=audio, spectrogram=spectrogram, model=model_config)
    with torch.device("meta"):  # no init cost: every tensor comes from the file
        model = build_model(config.model, num_classes)
    _load_weights(model, state, f"{config.model.name} (max_pool {config.model.max_pool})", path)
    model.eval()
    provenance = {
        **default_provenance(),
        FRAMING: PER_WINDOW,
        "legacy_source": str(path),
        "legacy_program": "fork" if is_fork else "ANIMAL-SPOT",
        "legacy_data_opts": data_opts,
        "legacy_classes": {name: index for index, name in enumerate(classes)},
        "legacy_assumed": dict(assumed),
    }
    return ModelBundle(config=config, classes=classes, model=model, provenance=provenance)


def _options(content: Mapping[str, Any], key: str, path: str | Path) -> dict[str, Any]:
    value = content[key]
    if not isinstance(value, Mapping):
        raise BadModel(f"{key} is a {type(value).__name__}, not a dict", path=path)
    return dict(value)


def _drop_prefix(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """Keys without ``prefix`` when every key has it (a whole-model state dict's names)."""
    if state and all(k.startswith(prefix) for k in state):
        return {k.removeprefix(prefix): v for k, v in state.items()}
    return state


def _first_int(value: Any) -> int:
    """``--conv_kernel_size`` is a list option in ANIMAL-SPOT: its first value counts."""
    if isinstance(value, list | tuple):
        value = value[0]
    return int(value)


def _resnet(
    enc: dict[str, Any], encoder: dict[str, Tensor], path: str | Path
) -> tuple[ModelConfig, dict[str, Tensor]]:
    if "resnet_size" not in enc:
        raise BadModel("encoderOpts has no resnet_size", path=path)
    try:
        config = ModelConfig(
            backbone="resnet",
            resnet=int(enc["resnet_size"]),
            conv_kernel_size=_first_int(enc.get("conv_kernel_size", 7)),
            max_pool=int(enc.get("max_pool", 1)),
            time_major=True,
        )
    except (BadConfig, TypeError, ValueError, IndexError) as err:
        raise BadModel(f"encoderOpts {enc} cannot be used ({err})", path=path) from None
    state = {k.replace(".shortcut.", ".downsample."): v for k, v in encoder.items()}
    return config, state


def _convnext(
    encoder: dict[str, Tensor], path: str | Path
) -> tuple[ModelConfig, dict[str, Tensor]]:
    # The fork's encoder holds torchvision's ``features`` twice; the ``features.*`` copy is used.
    state = {k: v for k, v in encoder.items() if k.startswith("features.")}
    if not state:
        state = {
            k.removeprefix("backbone."): v
            for k, v in encoder.items()
            if k.startswith("backbone.features.")
        }
    stem = state.get("features.0.0.weight")
    if stem is None or stem.ndim != 4 or stem.shape[1] != 1:
        raise BadModel("no one-channel ConvNeXt stem (features.0.0.weight) in it", path=path)
    stage3 = {int(k.split(".")[2]) for k in state if k.startswith("features.5.")}
    size = CONVNEXT_SIZES.get((int(stem.shape[0]), len(stage3)))
    if size is None:
        raise BadModel(
            f"a ConvNeXt with {stem.shape[0]} stem channels and {len(stage3)} blocks in stage 3 "
            "is none of tiny, small, base, large",
            path=path,
        )
    return ModelConfig(backbone="convnext", convnext=size, time_major=True, head_norm=False), state


def _classes(value: Any, num_classes: int, path: str | Path) -> list[str]:
    """Class names in output order from the .pk's ``{name: index}`` (or list)."""
    if value is None:
        if num_classes == 2:
            return ["noise", "target"]  # ANIMAL-SPOT's predict.py assumes the same
        log.warning("%s: no class names; calling them class_0 … class_%d", path, num_classes - 1)
        return [f"class_{i}" for i in range(num_classes)]
    if isinstance(value, list | tuple):
        names = [str(v) for v in value]
    elif isinstance(value, Mapping):
        by_index = {int(i): str(n) for n, i in value.items()}
        if sorted(by_index) != list(range(len(value))):
            raise BadModel(
                f"its classes {dict(value)} do not give each output one name (two names share an"
                " index: the fork's binary-detector bug, where the model learnt one label only)",
                path=path,
                fix="retrain it",
            )
        names = [by_index[i] for i in range(len(value))]
    else:
        raise BadModel(f"classes is a {type(value).__name__}, not a dict", path=path)
    if len(names) != num_classes:
        raise BadModel(f"{len(names)} class names for {num_classes} outputs", path=path)
    return names


def _data_opts(value: Any, path: str | Path) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise BadModel(f"dataOpts is a {type(value).__name__}, not a dict", path=path)
    missing = [k for k in DATA_OPTS if k not in value]
    if missing:
        raise BadModel(f"dataOpts lacks {', '.join(missing)}", path=path)
    out = {}
    for key, item in value.items():
        if isinstance(item, bool | int | float | str) or item is None:
            out[str(key)] = item
        else:
            raise BadModel(f"dataOpts {key} is a {type(item).__name__}", path=path)
    return out


def config_from_data_opts(
    data_opts: Mapping[str, Any], *, sequence_len_ms: float, min_max_norm: bool
) -> tuple[AudioConfig, SpectrogramConfig]:
    """The front end a ``.pk``'s ``dataOpts`` describes, plus what the ``.pk`` does not store.

    Raises:
        BadConfig: a value is outside what our front end accepts.
        KeyError: a dataOpts key is missing.
    """
    values: dict[str, dict[str, Any]] = {"audio": {}, "spectrogram": {}}
    for key, (section, name) in DATA_OPTS.items():
        values[section][name] = data_opts[key]
    spectrogram = values["spectrogram"]
    for name in ("n_fft", "hop_length", "n_freq_bins"):
        spectrogram[name] = int(spectrogram[name])
    for name in ("preemphasis", "fmin_hz", "fmax_hz", "min_level_db", "ref_level_db"):
        spectrogram[name] = float(spectrogram[name])
    return (
        AudioConfig(sample_rate_hz=int(values["audio"]["sample_rate_hz"])),
        SpectrogramConfig(
            **spectrogram,
            sequence_len_ms=float(sequence_len_ms),
            min_max_norm=bool(min_max_norm),
            normalization="db",  # ANIMAL-SPOT's, whatever our default is
        ),
    )


def _load_weights(model: nn.Module, state: dict[str, Tensor], what: str, path: str | Path) -> None:
    """Load ``state`` strictly, naming the first key or shape that does not fit."""
    expected = model.state_dict()
    for key in expected:  # files from old PyTorch lack these counters
        if key.endswith("num_batches_tracked"):
            state.setdefault(key, torch.zeros((), dtype=torch.long))
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    for name, keys in (("lacks", missing), ("has unexpected", unexpected)):
        if keys:
            more = f" (+{len(keys) - 1} more)" if len(keys) > 1 else ""
            raise BadModel(f"its weights do not fit {what}: it {name} {keys[0]}{more}", path=path)
    for key, value in expected.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise BadModel(
                f"its weights do not fit {what}: {key} is {tuple(state[key].shape)}, "
                f"not {tuple(value.shape)}",
                path=path,
            )
    state = {k: v.to(expected[k].dtype) for k, v in state.items()}
    model.load_state_dict(state, assign=True)
