"""ANIMAL-SPOT prediction logs (``<name>_predict_output.log``, notes §7): write and read them.

Written from a ScoreTrack, so a multi-class log is right at any batch size (ANIMAL-SPOT's is
right at batch size 1 only). Lines are ``HH:MM:SS|I|<message>``.
"""

from __future__ import annotations

import ast
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..config import AudioConfig, SpectrogramConfig
from ..errors import BadTable
from ..prediction.scores import ScoreTrack

LOG_SUFFIX = "_predict_output.log"
_WINDOW = re.compile(
    r"time=(?P<start>[-+\d.eE]+)-(?P<end>[-+\d.eE]+), pred=(?P<pred>\d+)"
    r"(?:, pred_class=(?P<label>.*)-(?P<index>\d+))?, prob=(?P<prob>[-+\d.eE]+|nan)"
)
_LENGTHS = re.compile(
    r"prediction length: (?P<seq>[-+\d.eE]+)\[s\], hop length: (?P<hop>[-+\d.eE]+)\[s\], "
    r"threshold: (?P<threshold>[-+\d.eE]+)"
)
_CLASS_PROB = re.compile(r"([^=;]+)=([-+\d.eE]+|nan);")


def log_name(file: str | Path) -> str:
    """``<name up to its first '.'>_predict_output.log`` of an audio file."""
    return Path(file).name.split(".")[0] + LOG_SUFFIX


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def data_opts_from_config(audio: AudioConfig, spectrogram: SpectrogramConfig) -> dict[str, Any]:
    """ANIMAL-SPOT's ``dataOpts`` dict for a front end of ours (whole numbers as ints)."""
    return {
        "sr": audio.sample_rate_hz,
        "preemphases": spectrogram.preemphasis,
        "n_fft": spectrogram.n_fft,
        "hop_length": spectrogram.hop_length,
        "n_freq_bins": spectrogram.n_freq_bins,
        "fmin": _plain_number(spectrogram.fmin_hz),
        "fmax": _plain_number(spectrogram.fmax_hz),
        "freq_compression": spectrogram.freq_compression,
        "min_level_db": _plain_number(spectrogram.min_level_db),
        "ref_level_db": _plain_number(spectrogram.ref_level_db),
    }


def legacy_data_opts(bundle: Any) -> dict[str, Any]:
    """The ``dataOpts`` of a ModelBundle: the ``.pk``'s own when it came from one."""
    stored = bundle.provenance.get("legacy_data_opts")
    if stored:
        return dict(stored)
    return data_opts_from_config(bundle.config.audio, bundle.config.spectrogram)


def legacy_log_options(bundle: Any) -> dict[str, Any]:
    """``data_opts``, ``classes`` and ``min_max_norm`` of :func:`write_legacy_log` for a bundle."""
    return {
        "data_opts": legacy_data_opts(bundle),
        "classes": {name: index for index, name in enumerate(bundle.classes)},
        "min_max_norm": bundle.config.spectrogram.min_max_norm,
    }


def _target_index(classes: Sequence[str]) -> int:
    """The binary output whose probability ANIMAL-SPOT logs: index 1, unless that is noise."""
    if classes[1].lower() == "noise" and classes[0].lower() != "noise":
        return 0
    return 1


def window_lines(
    track: ScoreTrack, *, sr: int, window_samples: int, n_samples: int, threshold: float
) -> list[str]:
    """The per-window messages: binary ``time=…, pred=…, prob=…``; multi adds the outputs."""
    lines = []
    is_binary = len(track.classes) == 2
    for start_s, probs in zip(track.start_s, track.probs, strict=True):
        start = round(float(start_s) * sr)
        end = min(start + window_samples - 1, n_samples - 1)
        time_text = f"time={start / sr:.3f}-{end / sr:.3f}"
        if is_binary:
            prob = float(probs[_target_index(track.classes)])
            lines.append(f"{time_text}, pred={int(prob >= threshold)}, prob={prob}")
            continue
        index = int(probs.argmax())
        prob = float(probs[index])
        lines.append(
            f"{time_text}, pred={int(prob >= threshold)}, "
            f"pred_class={track.classes[index]}-{index}, prob={prob}"
        )
        lines.append("output_layer:")
        lines.extend(f"{name}={float(p)};" for name, p in zip(track.classes, probs, strict=True))
    return lines


def write_legacy_log(
    track: ScoreTrack,
    out_dir: str | Path,
    *,
    model_path: str | Path,
    data_opts: Mapping[str, Any],
    sequence_len_s: float,
    hop_s: float,
    threshold: float,
    n_samples: int,
    hop_samples: int | None = None,
    classes: Mapping[str, int] | None = None,
    min_max_norm: bool = False,
    clock: Callable[[], str] | None = None,
    name: str | None = None,
) -> Path:
    """Write ``<out_dir>/<name>_predict_output.log`` for one recording, as predict.py did.

    ``name`` (default: ANIMAL-SPOT's, the file name up to its first ``.``) is given when that
    name would be another recording's too.

    Args:
        track: the recording's window scores (``track.file`` is the audio path).
        out_dir: folder of the log.
        model_path: the model file, as given.
        data_opts: the model's ``dataOpts`` (see :func:`legacy_data_opts`); ``sr`` and
            ``fmin``/``fmax`` are read from it.
        sequence_len_s: window length in seconds; a window spans ⌈seq·sr⌉ samples.
        hop_s: hop in seconds.
        threshold: a window's ``pred`` is 1 when its (maximum) probability reaches it.
        n_samples: samples of the recording at ``sr``.
        hop_samples: ⌈hop·sr⌉ unless given.
        classes: ``{name: index}`` for the ``class distribution`` line; default the track's.
        min_max_norm: which normalisation line to write.
        clock: gives ``HH:MM:SS`` per line (default: the wall clock).
    """
    sr = int(data_opts["sr"])
    if hop_samples is None:
        hop_samples = math.ceil(hop_s * sr)
    class_dict = dict(classes) if classes else {c: i for i, c in enumerate(track.classes)}
    norm = "min-max" if min_max_norm else "0/1-dB"
    messages = [
        str(track.file),
        f"Model Path: {model_path}",
        f"dataOpts: {dict(data_opts)}",
        f"prediction length: {float(sequence_len_s)}[s], hop length: {float(hop_s)}[s], "
        f"threshold: {float(threshold)}, prediction fmin: {data_opts['fmin']}[Hz] "
        f"prediction fmax: {data_opts['fmax']}[Hz]",
        f"class distribution: {class_dict}",
        f"Init {norm}-normalization activated",
        f"size of the file(samples)={n_samples}",
        f"size of hop(samples)={hop_samples}",
        f"stop time={n_samples // hop_samples}",
        *window_lines(
            track,
            sr=sr,
            window_samples=math.ceil(sequence_len_s * sr),
            n_samples=n_samples,
            threshold=threshold,
        ),
    ]
    clock = clock or (lambda: time.strftime("%H:%M:%S"))
    path = Path(out_dir) / (log_name(track.file) if name is None else name + LOG_SUFFIX)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.writelines(f"{clock()}|I|{message}\n" for message in messages)
    return path


@dataclass
class LegacyWindow:
    """One window line of a log; ``label``/``index``/``probs`` only in multi-class logs."""

    start_s: float
    end_s: float
    pred: int
    prob: float
    label: str | None = None
    index: int | None = None
    probs: dict[str, float] = field(default_factory=dict)


@dataclass
class LegacyLog:
    """What a ``_predict_output.log`` says: its header values and its windows in order."""

    path: Path
    file: str | None = None
    model_path: str | None = None
    data_opts: dict[str, Any] = field(default_factory=dict)
    sequence_len_s: float | None = None
    hop_s: float | None = None
    threshold: float | None = None
    classes: dict[str, int] = field(default_factory=dict)
    windows: list[LegacyWindow] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """The end of the last window (the evaluation's idea of the file's length)."""
        return self.windows[-1].end_s if self.windows else 0.0


def _message(line: str) -> str | None:
    for marker in ("|I|", "|INFO|"):
        if marker in line:
            return line.split(marker, 1)[1].rstrip("\n")
    return None


def _literal(text: str, path: Path, what: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise BadTable(f"its {what} is not a Python dict: {text.strip()[:80]}", path=path) from None
    if not isinstance(value, dict):
        raise BadTable(f"its {what} is not a dict", path=path)
    return value


def read_legacy_log(path: str | Path) -> LegacyLog:
    """Parse a ``_predict_output.log`` (lines after ``|I|`` or ``|INFO|``).

    Raises:
        BadTable: the file is missing or a header dict cannot be read.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise BadTable("prediction log not found", path=path) from None
    log = LegacyLog(path)
    in_outputs = False
    for message in filter(None, map(_message, text.splitlines())):
        window = _WINDOW.search(message)
        if window:
            log.windows.append(
                LegacyWindow(
                    float(window["start"]),
                    float(window["end"]),
                    int(window["pred"]),
                    float(window["prob"]),
                    window["label"],
                    None if window["index"] is None else int(window["index"]),
                )
            )
            in_outputs = False
        elif message.startswith("output_layer:"):
            in_outputs = True
            message = message.removeprefix("output_layer:")
        elif message.startswith("Model Path:"):
            log.model_path = message.removeprefix("Model Path:").strip()
        elif message.startswith("dataOpts:"):
            log.data_opts = _literal(message.removeprefix("dataOpts:"), path, "dataOpts")
        elif message.startswith("class distribution:"):
            raw = _literal(message.removeprefix("class distribution:"), path, "class distribution")
            log.classes = {str(k): int(v) for k, v in raw.items()}
        elif lengths := _LENGTHS.search(message):
            log.sequence_len_s = float(lengths["seq"])
            log.hop_s = float(lengths["hop"])
            log.threshold = float(lengths["threshold"])
        elif log.file is None and log.model_path is None:
            log.file = message.strip()
        if in_outputs and log.windows:
            for name, value in _CLASS_PROB.findall(message):
                log.windows[-1].probs[name.strip()] = float(value)
    return log
