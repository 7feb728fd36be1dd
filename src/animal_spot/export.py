"""Export a ``model.pt`` network to TorchScript or ONNX, with its front end described in JSON.

The exported network maps a spectrogram batch ``(batch, 1, n_freq, n_frames)`` to logits
``(batch, n_classes)``; probabilities are their softmax over the last axis. The spectrogram
itself is not exported: ``<name>.frontend.json`` beside the file holds every parameter another
runtime needs to make it (sample rate, STFT, frequency compression, dB and normalisation), with
the class names and per-class thresholds.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .atomic import atomic_open, atomic_path
from .backbones import backbone_of
from .config import frontend_dict
from .errors import AnimalSpotError
from .registry import Registry

if TYPE_CHECKING:  # torch loads only once an export starts, after the checks
    import torch

    from .bundle import ModelBundle

log = logging.getLogger(__name__)
INPUT_NAME = "spectrogram"
OUTPUT_NAME = "logits"
ONNX_OPSET = 17
MAX_DIFFERENCE = 1e-4  # largest |Δ logit| an export may show against the original
# The front end in order (animal_spot.frontend.spectrogram), for another runtime to follow.
STEPS = (
    "mono float32 at audio.sample_rate_hz, window_samples long",
    "pre-emphasis: y[0] = x[0], y[n] = x[n] - preemphasis * x[n-1]",
    "power STFT: periodic Hann / sqrt(sum(w^2)), n_fft, hop_length, not centred",
    "frequency compression (freq_compression) to n_freq_bins between fmin_hz and fmax_hz",
    "dB: 10 * log10(max(power, 10^(min_level_db / 10))) (skipped for mfcc)",
    "normalisation (see normalisation)",
)


def input_shape(bundle: ModelBundle) -> tuple[int, int, int, int]:
    """The trained input shape ``(1, 1, n_freq, n_frames)`` of the bundle's network."""
    from .frontend.spectrogram import Frontend

    frontend = Frontend(bundle.config.audio, bundle.config.spectrogram)
    return (1, 1, frontend.n_freq_out, frontend.n_frames)


def frontend_description(
    bundle: ModelBundle, export_format: str, model_file: str
) -> dict[str, Any]:
    """Everything another runtime needs to feed the exported network and read its output."""
    from .frontend.spectrogram import Frontend

    spectrogram = bundle.config.spectrogram
    frontend = Frontend(bundle.config.audio, spectrogram)
    _, _, n_freq, n_frames = input_shape(bundle)
    normalisation: dict[str, Any]
    if spectrogram.norm == "min_max":
        normalisation = {"kind": "min-max", "formula": "s = x - min(x); s / max(s) if max(s) > 0"}
    elif spectrogram.norm == "per_window":
        normalisation = {
            "kind": "per-window",
            "formula": "(db - median over the window's frames of each row) / per_window_scale_db",
            "per_window_scale_db": spectrogram.per_window_scale_db,
        }
    elif spectrogram.norm == "pcen":
        normalisation = {
            "kind": "pcen",
            "formula": "M = one-pole smoothing of E along time from each row's median, "
            "s from the time constant (sqrt(1 + 4 T^2) - 1) / (2 T^2), T in frames; "
            "(E / (eps + M)^gain + bias)^power - bias^power, on power (not dB)",
            "time_constant_s": spectrogram.pcen_time_constant_s,
            "gain": spectrogram.pcen_gain,
            "bias": spectrogram.pcen_bias,
            "power": spectrogram.pcen_power,
            "eps": spectrogram.pcen_eps,
        }
    else:
        normalisation = {
            "kind": "0/1-dB",
            "formula": "clip((db - ref_level_db - min_level_db) / -min_level_db, 0, 1)",
            "ref_level_db": spectrogram.ref_level_db,
            "min_level_db": spectrogram.min_level_db,
        }
    return {
        "format": export_format,
        "model_file": model_file,
        "package_version": __version__,
        "frontend": frontend_dict(bundle.config.audio, spectrogram),
        "window_samples": frontend.window_samples(),
        "steps": list(STEPS),
        "normalisation": normalisation,
        "norm_stats": dict(bundle.norm_stats),
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", 1, n_freq, n_frames],
            "dtype": "float32",
            "axes": "(batch, channel, n_freq, n_frames)",
        },
        "output": {
            "name": OUTPUT_NAME,
            "shape": ["batch", len(bundle.classes)],
            "probabilities": "softmax over the last axis",
        },
        "classes": list(bundle.classes),
        "noise_class": bundle.noise_class,
        "thresholds": dict(bundle.thresholds),
    }


def frontend_path(output: str | Path) -> Path:
    """The JSON beside an export: ``model.onnx`` → ``model.frontend.json``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.frontend.json")


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401  (the exporter needs it to write the file)
    except ImportError:
        raise AnimalSpotError(
            "ONNX export needs the onnx package", fix="pip install animal-spot[export]"
        ) from None


def _export_torchscript(
    model: torch.nn.Module, example: torch.Tensor, path: Path, description: str
) -> None:
    import torch

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)  # TorchScript is deprecated
        # trace's own check re-traces the model (3 s for a ResNet-18); one comparison suffices.
        traced = torch.jit.trace(model, example, check_trace=False)  # type: ignore[no-untyped-call]
        _check_equal(model, traced, example, "TorchScript")
        torch.jit.save(traced, str(tmp), _extra_files={"frontend.json": description})


def _check_equal(
    model: torch.nn.Module,
    exported: Callable[[torch.Tensor], torch.Tensor],
    example: torch.Tensor,
    what: str,
) -> None:
    """Fail unless the exported network reproduces the original on a random batch of 2."""
    import torch

    x = torch.rand((2, *example.shape[1:]), generator=torch.Generator().manual_seed(0))
    difference = (model(x) - exported(x)).abs().max().item()
    if not difference < MAX_DIFFERENCE:
        raise AnimalSpotError(
            f"the {what} export differs from the original by {difference:.3g}",
            fix="report this model's backbone; the export cannot be trusted",
        )


def _export_onnx(
    model: torch.nn.Module, example: torch.Tensor, path: Path, description: str
) -> None:
    import onnx
    import torch

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)  # legacy exporter
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key, entry.value = "animal_spot_frontend", description
        onnx.save(proto, str(tmp))
        _check_onnx(model, tmp, example)


def _check_onnx(model: torch.nn.Module, path: Path, example: torch.Tensor) -> None:
    """Run the written file under ONNX Runtime (when installed) and compare, as for TorchScript."""
    try:
        import onnxruntime
    except ImportError:
        log.info("onnxruntime is not installed: %s was not run after export", path.name)
        return
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def exported(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {INPUT_NAME: x.numpy()})[0])

    _check_equal(model, exported, example, "ONNX")


@dataclass(frozen=True)
class ExportFormat:
    """A file format the network can be written in.

    Attributes:
        suffix: of the default file name beside the model (``model.onnx``).
        write: ``(model, example input, path, front-end JSON)`` → writes and checks the file.
        require: raises a one-line error when a package it needs is missing.
    """

    suffix: str
    write: Callable[[torch.nn.Module, torch.Tensor, Path, str], None]
    require: Callable[[], None] = lambda: None


EXPORT_FORMATS: Registry[ExportFormat] = Registry("export format")
EXPORT_FORMATS.add("torchscript", ExportFormat(".torchscript.pt", _export_torchscript))
EXPORT_FORMATS.add("onnx", ExportFormat(".onnx", _export_onnx, _require_onnx))


def export(
    model_path: str | Path,
    export_format: str = "torchscript",
    output: str | Path | None = None,
) -> Path:
    """Write the network of ``model_path`` as TorchScript or ONNX, and its front end as JSON.

    TorchScript is traced at the trained input shape; ONNX (opset 17) takes any batch size.
    Both files also carry the front-end JSON inside (TorchScript extra file ``frontend.json``,
    ONNX metadata ``animal_spot_frontend``).

    Args:
        model_path: A ``model.pt``.
        export_format: ``torchscript`` or ``onnx``.
        output: The file to write (default: beside the model, ``model.torchscript.pt`` or
            ``model.onnx``).

    Returns:
        The exported file; ``<its stem>.frontend.json`` lies beside it.

    Raises:
        AnimalSpotError: unknown format, or ONNX without the ``onnx`` package.
        BadModel: the model cannot be loaded.
    """
    kind = EXPORT_FORMATS.get(export_format)
    kind.require()
    import torch

    from .bundle import load_model

    model_path = Path(model_path)
    bundle = load_model(model_path)
    if not backbone_of(bundle.config.model).reads_spectrograms:
        raise AnimalSpotError(
            f"a {bundle.config.model.backbone} model reads its own features of the waveform, "
            "which the exported file could not make",
            path=model_path,
            fix="predict with animal-spot predict (it runs BirdNET, then the head)",
        )
    if output is None:
        output = model_path.with_name(model_path.stem + kind.suffix)
    output = Path(output)
    if output.resolve() == model_path.resolve():
        raise AnimalSpotError("the export would overwrite its model.pt", path=output)
    model = bundle.model.eval()
    example = torch.zeros(input_shape(bundle))
    description = frontend_description(bundle, export_format, output.name)
    text = json.dumps(description, indent=2)
    with torch.no_grad():
        kind.write(model, example, output, text)
    with atomic_open(frontend_path(output), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return output
