"""ANIMAL-SPOT ``key=value`` config files → ExperimentConfig, with every key honoured or named.

The format (ANIMAL-SPOT §9): one ``key=value`` per line; lines starting with ``#``, a space or
a newline are ignored; ``true`` sets a flag, ``false`` drops it; the literal
``/*USER-SPECIFIC-DIRECTORY*/`` marks a path the user has not filled in yet.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import ExperimentConfig, _coerce, option_index, read_text_config
from ..errors import BadConfig

log = logging.getLogger(__name__)

PLACEHOLDER = "/*USER-SPECIFIC-DIRECTORY*/"
Kind = Literal["train", "predict", "evaluate"]

# Other spellings ANIMAL-SPOT accepts for the same option.
ALIASES = {"learning_rate": "lr"}

# Keys of the notes' option tables (main.py, predict.py, the three templates, the fork's
# evaluation) that have no field here, with what happens instead (said once, as a warning).
IGNORED = {
    "src_dir": "the package is installed; no script folder is needed",
    "debug": "use --log_level DEBUG",
    "no_cuda": "the device is chosen automatically; hide GPUs with CUDA_VISIBLE_DEVICES=",
    "log_dir": "logs go into the run directory or to the terminal",
    "jit_save": "give --jit_save on the command line, or run `animal-spot export`",
    "checkpoint_path": "unused by ANIMAL-SPOT too",
    "use_probability_priority": "a fork evaluation option; not reproduced by evaluate --legacy",
    "min_annotation_duration": "a fork evaluation option; use predict's --min_duration_s",
    "merge_gap": "a fork evaluation option; use predict's --max_gap_s",
}
# Keys read by a verb rather than stored in the config (kept in LegacyConfig.values).
READ_BY_VERB = {"prediction_dir": "evaluate"}

# Where a key shared by several stages belongs, by the kind of file.
PREFERRED_SECTION = {
    "train": ("spectrogram", "audio", "augment", "data", "model", "train"),
    "predict": ("predict", "spectrogram", "audio", "model", "data", "train"),
    "evaluate": ("predict", "spectrogram", "audio", "data", "model", "train"),
}


@dataclass(frozen=True, slots=True)
class LegacyConfig:
    """A parsed legacy file: the config it means, the raw pairs, and the keys left aside."""

    config: ExperimentConfig
    kind: Kind
    values: dict[str, str]
    ignored: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)


def parse_pairs(path: Path) -> dict[str, str]:
    """The file's ``key → value`` pairs in order (flags set to ``"true"``, ``false`` dropped)."""
    text = read_text_config(path)
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line[0] in "# \t" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))  # values may hold "="
        if PLACEHOLDER in value and key not in IGNORED:  # an unused key may stay unfilled
            raise BadConfig(
                f"line {number}: {key} still holds the placeholder {PLACEHOLDER}",
                path=path,
                fix="replace it with a real folder",
            )
        if value.lower() == "false":
            continue
        pairs[ALIASES.get(key, key)] = "true" if value.lower() == "true" else value
    return pairs


def guess_kind(pairs: dict[str, str]) -> Kind:
    """Training, prediction or evaluation template, by the keys only that one has."""
    if "prediction_dir" in pairs:
        return "evaluate"
    if "model_path" in pairs or "input_file" in pairs:
        return "predict"
    return "train"


def _legacy_value(key: str, value: str, kind: Kind, index: dict[str, Any]) -> tuple[str, Any]:
    """Translate keys whose meaning differs between ANIMAL-SPOT and here."""
    if key == "sequence_len" and kind != "train":
        return "window_s", value  # prediction windows are given in seconds
    if key == "start_from_scratch":
        return "resume", "false" if value == "true" else "true"
    if key == "pretrained" and value == "true":
        return key, "hub"  # the fork's bare --pretrained: torchvision's ImageNet weights
    if key == "no_cuda" and kind == "predict" and "device" in index:
        return "device", "cpu"
    return key, value


def read_legacy_config(path: str | Path, kind: Kind | None = None) -> LegacyConfig:
    """Read a legacy file into an ExperimentConfig; unknown keys are warned about, not fatal."""
    path = Path(path)
    pairs = parse_pairs(path)
    kind = kind or guess_kind(pairs)
    index = option_index()
    changes: dict[str, dict[str, Any]] = {}
    if kind == "train":
        # ANIMAL-SPOT resumes from its newest checkpoint unless start_from_scratch is set
        # (a `false` value is dropped with every other false flag, so absence means resume).
        scratch = pairs.get("start_from_scratch") == "true"
        changes["train"] = {"resume": "false" if scratch else "true"}
        # ANIMAL-SPOT's 0/1-dB scale (min-max with its flag), whatever our default is.
        changes["spectrogram"] = {"normalization": "db"}
    if kind == "predict":
        # predict.py normalises with min-max only when the flag is set: absent means off here,
        # not "unknown" (a .pk does not store it).
        changes["predict"] = {"min_max_norm": pairs.get("min_max_norm", "false")}
    ignored: dict[str, str] = {}
    extra: dict[str, str] = {}
    for raw_key, raw_value in pairs.items():
        key, value = _legacy_value(raw_key, raw_value, kind, index)
        if key == "resume":
            changes.setdefault("train", {})["resume"] = value
            continue
        targets = index.get(key)
        if not targets:
            if raw_key in IGNORED:
                ignored[raw_key] = IGNORED[raw_key]
            elif raw_key not in READ_BY_VERB:
                extra[raw_key] = raw_value
            continue
        order = PREFERRED_SECTION[kind]
        section, name = min(targets, key=lambda t: order.index(t[0]) if t[0] in order else 99)
        changes.setdefault(section, {})[name] = value
    for key, reason in ignored.items():
        log.warning("%s: ignoring %s (%s)", path, key, reason)
    for key in extra:
        log.warning("%s: ignoring %s (not an ANIMAL-SPOT option)", path, key)
    config = ExperimentConfig()
    try:
        sections = {}
        for section, values in changes.items():
            current = getattr(config, section)
            hints = typing.get_type_hints(type(current))
            coerced = {k: _coerce(v, hints[k], f"{k}") for k, v in values.items()}
            sections[section] = dataclasses.replace(current, **coerced)
        config = dataclasses.replace(config, **sections)
    except BadConfig as err:
        raise BadConfig(str(err), path=path) from None
    return LegacyConfig(config, kind, pairs, ignored, extra)
