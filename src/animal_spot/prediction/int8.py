"""int8 inference on CPUs: the network statically quantized by ONNX Runtime, checked before use.

``--precision int8`` runs the CNN's backbone as an int8 ONNX model: weights per output channel
(int8), activations per tensor (uint8), the activation ranges calibrated on the model's own
validation clips, in ONNX Runtime's QDQ format. The network has free batch and frames axes, so
the exact path feeds it windows and ``--fast`` whole blocks of frames; the head (pooling and
the last linear layer, a few thousand multiply-adds) stays in fp32. On CPUs with VNNI
(AVX-512 VNNI or AVX-VNNI) its int8 convolutions run several times faster than fp32; elsewhere
ONNX Runtime falls back to plain AVX2 int8 kernels, slower but still correct
(``benchmarks/int8_speed.py`` measures both paths on the machine at hand).

Before an int8 network is used it is checked against the fp32 network on held-back clips (the
test split): it is refused with the figures, and prediction stops rather than run on a network
that decides otherwise, when

- fewer than 99.5 % of the clips' predicted classes agree, or
- the event-level F1 drops by more than 0.01 on a scored recording: the held-back clips laid
  end to end, each target clip a reference event, scored by the exact path in fp32 and in
  int8 at the model's thresholds.

A network that passes is stored beside the model as ``<model>.int8.onnx`` with its figures in
``<model>.int8.json`` (keyed by the model file's digest, so a retrained ``model.pt`` gets a new
one), and later runs load it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .. import audio
from ..annotations.event import Event
from ..atomic import atomic_open, atomic_write_bytes
from ..bundle import ModelBundle
from ..console import say
from ..data.dataset import ClipDataset
from ..data.manifest import Clip, read_manifest
from ..errors import BadConfig, BadModel
from .events import from_scores, noise_class_of
from .onnx_runner import export_onnx, require_onnxruntime

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.995  # argmax agreement with fp32 on the held-back clips
MAX_F1_DROP = 0.01  # event-level F1 of int8 below fp32's on the scored recording
MAX_CALIBRATION_CLIPS = 256
MAX_CHECK_CLIPS = 1024
MAX_RECORDING_CLIPS = 240  # clips laid end to end for the event check (4 min of 1 s clips)
NETWORK = "features"  # what the stored network computes; a file of another kind is remade


@dataclass(frozen=True)
class Agreement:
    """How the int8 network's decisions compare with fp32's on the held-back clips."""

    n_clips: int
    argmax_agreement: float
    max_probability_difference: float
    n_calibration_clips: int
    model_sha256: str
    network: str
    n_reference_events: int
    event_f1_fp32: float
    event_f1_int8: float

    @property
    def f1_drop(self) -> float:
        return self.event_f1_fp32 - self.event_f1_int8

    @property
    def passes(self) -> bool:
        return not self.failures()

    def summary(self) -> str:
        events = (
            f"event F1 {self.event_f1_int8:.3f} against fp32's {self.event_f1_fp32:.3f} on "
            f"{self.n_reference_events} events of the clips laid end to end"
            if self.n_reference_events
            else "no target clips to check events on"
        )
        return (
            f"int8 agrees with fp32 on {self.argmax_agreement:.2%} of {self.n_clips} held-back "
            f"clips (largest probability difference {self.max_probability_difference:.3f}), "
            f"{events}; calibrated on {self.n_calibration_clips} clips"
        )

    def failures(self) -> list[str]:
        """What falls short, in words (empty when it passes)."""
        failed = []
        if self.argmax_agreement < MIN_AGREEMENT:
            failed.append(f"agreement below the {MIN_AGREEMENT:.1%} required")
        if self.n_reference_events and self.f1_drop > MAX_F1_DROP + 1e-9:
            failed.append(f"event F1 {self.f1_drop:.3f} lower, more than the {MAX_F1_DROP} allowed")
        return failed


def int8_paths(model_path: Path) -> tuple[Path, Path]:
    """``<model>.int8.onnx`` and ``<model>.int8.json`` beside the model file."""
    stem = model_path.with_suffix("")
    return stem.with_name(stem.name + ".int8.onnx"), stem.with_name(stem.name + ".int8.json")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _inputs(bundle: ModelBundle, clips: Sequence[Clip]) -> np.ndarray:
    """The model inputs ``(n, 1, F, T)`` of ``clips``, as evaluation prepares them."""
    known = [clip for clip in clips if clip.label in bundle.classes]
    config = bundle.config
    dataset = ClipDataset(known, bundle.classes, config.audio, config.spectrogram)
    if not len(dataset):
        return np.zeros((0, 1, 1, 1), dtype=np.float32)
    return np.stack([dataset[i][0].numpy() for i in range(len(dataset))]).astype(np.float32)


def clip_sets(bundle: ModelBundle, data_dir: Path | None) -> tuple[list[Clip], list[Clip]]:
    """Calibration clips (the validation split) and held-back clips (the test split).

    Raises:
        BadConfig: no prepared data folder with a val and a test manifest to read.
    """
    folder = Path(data_dir) if data_dir is not None else bundle.config.data.data_dir
    fix = "give --int8_calibration_dir, a prepared data folder (val.csv, test.csv) of the model"
    if folder is None or not (Path(folder) / "val.csv").is_file():
        raise BadConfig(
            "int8 needs clips to calibrate on and to check against fp32", path=folder, fix=fix
        )
    folder = Path(folder)
    splits = {"val": read_manifest(folder / "val.csv")}
    test = folder / "test.csv"
    splits["test"] = read_manifest(test) if test.is_file() else []
    if bundle.config.train.task == "detector":
        from ..data.detector import to_detector

        splits = to_detector(splits)
    calibration, check = splits["val"], splits["test"]
    if not check:  # no test split: hold back every other validation clip
        calibration, check = calibration[::2], calibration[1::2]
    if not calibration or not check:
        raise BadConfig(
            "too few clips to calibrate and check an int8 network", path=folder, fix=fix
        )
    rng = np.random.default_rng(0)  # a fixed, spread-out subset of a large split
    if len(calibration) > MAX_CALIBRATION_CLIPS:
        calibration = [
            calibration[i]
            for i in sorted(rng.choice(len(calibration), MAX_CALIBRATION_CLIPS, replace=False))
        ]
    if len(check) > MAX_CHECK_CLIPS:
        check = [check[i] for i in sorted(rng.choice(len(check), MAX_CHECK_CLIPS, replace=False))]
    return calibration, check


def quantize(model: torch.nn.Module, calibration: np.ndarray) -> bytes:
    """The int8 ONNX backbone (free batch and frames axes) calibrated on ``calibration``."""
    require_onnxruntime()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            row = next(self.rows, None)
            return None if row is None else {"x": row[None]}

    with tempfile.TemporaryDirectory(prefix="animal-spot-int8-") as tmp:
        fp32, prepared, int8 = (Path(tmp) / name for name in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        fp32.write_bytes(export_onnx(model, tuple(calibration.shape[1:]), features_only=True))
        quant_pre_process(str(fp32), str(prepared))
        quantize_static(
            str(prepared),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        return int8.read_bytes()


def compare(
    model: torch.nn.Module, int8: bytes, check: np.ndarray, threads: int
) -> tuple[float, float]:
    """Argmax agreement and the largest probability difference of int8 against fp32."""
    from .onnx_runner import OnnxRunner

    runner = OnnxRunner.from_features(int8, model, threads)
    batches = [check[i : i + 64] for i in range(0, len(check), 64)]
    with torch.inference_mode():
        fp32 = torch.cat([model(torch.from_numpy(b)).softmax(-1) for b in batches]).numpy()
    quantized = np.concatenate(
        [torch.from_numpy(runner(torch.from_numpy(b))[0]).softmax(-1).numpy() for b in batches]
    )
    agreement = float(np.mean(fp32.argmax(1) == quantized.argmax(1)))
    return agreement, float(np.abs(fp32 - quantized).max())


def scored_recording(bundle: ModelBundle, clips: Sequence[Clip], path: Path) -> list[Event]:
    """The clips laid end to end in one file at ``path``; its target clips as reference events.

    Each clip is at most one window long (a longer one keeps its middle). The classes take
    turns, so that a split sorted by label still gives many events; neighbouring clips of one
    class make one event, as a person marking the recording would.
    """
    rate = bundle.config.audio.sample_rate_hz
    window = round(bundle.config.spectrogram.sequence_len_ms / 1000 * rate)
    noise = noise_class_of(tuple(bundle.classes))
    by_label: dict[str, list[Clip]] = {}
    for clip in clips:
        if clip.label in bundle.classes:
            by_label.setdefault(clip.label, []).append(clip)
    turns = itertools.zip_longest(*by_label.values())
    known = [clip for turn in turns for clip in turn if clip is not None][:MAX_RECORDING_CLIPS]
    pieces, references, at = [], [], 0
    for clip in known:
        samples = audio.read(
            clip.path,
            rate,
            start_s=clip.start_s or 0.0,
            end_s=clip.end_s,
            quality=bundle.config.audio.resample_quality,
        )
        if len(samples) > window:
            first = (len(samples) - window) // 2
            samples = samples[first : first + window]
        if not len(samples):
            continue
        start_s, end_s = at / rate, (at + len(samples)) / rate
        if clip.label != noise:
            last = references[-1] if references else None
            if last is not None and last.label == clip.label and abs(last.end_s - start_s) < 1e-9:
                references[-1] = Event(last.start_s, end_s, clip.label)
            else:
                references.append(Event(start_s, end_s, clip.label))
        pieces.append(samples.astype(np.float32))
        at += len(samples)
    samples = np.concatenate(pieces) if pieces else np.zeros(window, dtype=np.float32)
    sf.write(str(path), samples, rate, subtype="FLOAT")
    return references


def event_f1(
    bundle: ModelBundle, recording: Path, references: Sequence[Event], int8: bytes | None
) -> float:
    """Event-level F1 of the exact path (fp32, or the ``int8`` network) on ``recording``."""
    from ..evaluation.matching import match_events
    from .predictor import Predictor

    predictor = Predictor(bundle, device="cpu", precision="32", int8=int8)
    track = predictor.score_file(recording).track
    events = from_scores(track, bundle.thresholds)
    matching = match_events(events, references, noise_class=noise_class_of(track.classes))
    found, wanted = len(matching.predictions), len(matching.references)
    return 2 * len(matching.pairs) / (found + wanted) if found + wanted else 1.0


def build_int8(
    bundle: ModelBundle, model_path: Path, data_dir: Path | None, threads: int
) -> tuple[bytes, Agreement]:
    """Quantize, check against fp32, and store beside the model (module docstring).

    Raises:
        BadConfig: no clips to calibrate on.
        BadModel: the int8 network decides otherwise than fp32 (module docstring).
    """
    calibration_clips, check_clips = clip_sets(bundle, data_dir)
    calibration, check = _inputs(bundle, calibration_clips), _inputs(bundle, check_clips)
    model = bundle.model.cpu().eval().to(memory_format=torch.contiguous_format)
    int8 = quantize(model, calibration)
    agreement_rate, max_diff = compare(model, int8, check, threads)
    with tempfile.TemporaryDirectory(prefix="animal-spot-int8-") as tmp:
        recording = Path(tmp) / "held-back-clips.wav"
        references = scored_recording(bundle, check_clips, recording)
        f1 = [event_f1(bundle, recording, references, network) for network in (None, int8)]
    agreement = Agreement(
        n_clips=len(check),
        argmax_agreement=agreement_rate,
        max_probability_difference=max_diff,
        n_calibration_clips=len(calibration),
        model_sha256=file_digest(model_path),
        network=NETWORK,
        n_reference_events=len(references),
        event_f1_fp32=f1[0],
        event_f1_int8=f1[1],
    )
    refuse_unless_agreeing(agreement, model_path)
    onnx_path, json_path = int8_paths(model_path)
    atomic_write_bytes(onnx_path, int8)
    with atomic_open(json_path, "w", encoding="utf-8") as handle:
        json.dump(asdict(agreement), handle, indent=2)
        handle.write("\n")
    say(f"{model_path}: {agreement.summary()}; stored as {onnx_path.name}")
    return int8, agreement


def refuse_unless_agreeing(agreement: Agreement, model_path: Path) -> None:
    """Raises BadModel when the int8 network decides otherwise than fp32 (module docstring)."""
    if not agreement.passes:
        raise BadModel(
            f"{agreement.summary()}: {'; '.join(agreement.failures())}",
            path=model_path,
            fix="predict in fp32 (--precision 32 or auto), or calibrate on more typical clips "
            "(--int8_calibration_dir)",
        )


def stored_int8(model_path: Path) -> tuple[bytes, Agreement] | None:
    """The int8 network stored beside ``model_path`` for this very file, or None."""
    onnx_path, json_path = int8_paths(model_path)
    try:
        values = json.loads(json_path.read_text(encoding="utf-8"))
        agreement = Agreement(**values)
        network = onnx_path.read_bytes()
    except (OSError, ValueError, TypeError):
        return None
    if agreement.network != NETWORK or agreement.model_sha256 != file_digest(model_path):
        return None  # another kind of network, or another model's
    if not agreement.passes:
        return None
    return network, agreement


def int8_network(
    bundle: ModelBundle, model_path: Path, data_dir: Path | None, threads: int
) -> bytes:
    """The model's int8 network: the stored one when it is this model's, else a new one."""
    stored = stored_int8(model_path)
    if stored is not None:
        log.info("%s: %s", stored[1].summary(), int8_paths(model_path)[0])
        return stored[0]
    return build_int8(bundle, model_path, data_dir, threads)[0]


__all__ = [
    "MAX_F1_DROP",
    "MIN_AGREEMENT",
    "Agreement",
    "build_int8",
    "clip_sets",
    "int8_network",
    "int8_paths",
    "quantize",
    "stored_int8",
]
