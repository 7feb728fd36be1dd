"""``docs/config.md``: every config key of every section, with its flag, unit and default.

Generated from the config dataclasses themselves, so it cannot drift from them (a test
compares the file with `render`). Write it again with::

    python -m animal_spot.config_reference > docs/config.md
"""

from __future__ import annotations

import dataclasses

from .cli_options import default_text
from .config import SECTIONS, option_name
from .verb_config import EvaluateConfig, PrepareConfig

# The verbs that make no model take configs of their own: flags and Python keywords.
VERBS = {"prepare": PrepareConfig, "evaluate": EvaluateConfig}

# A field's unit is the end of its name.
UNITS = {"_hz": "Hz", "_ms": "ms", "_s": "s", "_db": "dB", "_gb": "GB"}
HEADER = """# Configuration reference

Every key of a TOML config (`animal-spot train --config run.toml`), one table per section. A
key is also a flag (`--flag`; where ANIMAL-SPOT had another name, the flag keeps it and a TOML
file may use either: `sr = 16000` or `sample_rate_hz = 16000`) and can be set with
`--set section.key=value`. Units are in the key names. `model.pt` stores the sections that
decide a model (all but `predict`), so prediction needs no flags repeated.

`prepare` and `evaluate` decide no model; their flags are the fields of `PrepareConfig` and
`EvaluateConfig` (last two tables), which `animal_spot.prepare` and `animal_spot.evaluate`
take, or take as keywords.

This file is generated: `python -m animal_spot.config_reference > docs/config.md`.
"""


def unit_of(name: str) -> str:
    return next((unit for suffix, unit in UNITS.items() if name.endswith(suffix)), "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(title: str, cls: type) -> list[str]:
    summary = (cls.__doc__ or "").strip().splitlines()[0]
    lines = [title, "", summary, ""]
    lines += ["| key | flag | unit | default | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        lines.append(
            f"| `{f.name}` | `--{option_name(f)}` | {unit_of(f.name)} | "
            f"`{_cell(default_text(f))}` | {_cell(f.metadata.get('help', ''))} |"
        )
    return [*lines, ""]


def render() -> str:
    lines = [HEADER]
    for section, cls in SECTIONS.items():
        lines += _table(f"## [{section}]", cls)
    for verb, cls in VERBS.items():
        lines += _table(f"## {verb} (`{cls.__name__}`)", cls)
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
