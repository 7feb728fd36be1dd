"""Command-line flags generated from the config dataclasses, and flags → ExperimentConfig.

Each field of a config section becomes ``--<its ANIMAL-SPOT option name>``; the flags of a verb
are the fields of the sections it uses, so the list of valid options is never kept twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from .config import (
    SECTIONS,
    ExperimentConfig,
    field_choices,
    from_dict,
    option_name,
    override,
    parse_set_arguments,
)
from .errors import BadConfig

T = TypeVar("T")
# A flag that takes an optional value: bare `--pretrained` means the torch-hub ImageNet weights.
OPTIONAL_VALUE = {"pretrained": "hub"}
# Flags that may be given several times (an ensemble of models).
REPEATABLE = {"model_path"}


def _metavar(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):  # ``float | None`` reads as FLOAT
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _metavar(args[0]) if len(args) == 1 else "VALUE"
    if origin is typing.Literal:
        return "{" + ",".join(str(a) for a in typing.get_args(annotation)) + "}"
    if origin is tuple:
        return "A,B,..."
    if annotation in (int, float):
        return annotation.__name__.upper()
    if annotation is Path:
        return "PATH"
    if annotation is str:
        return "TEXT"
    return "VALUE"


def add_section_flags(parser: argparse.ArgumentParser, sections: typing.Iterable[str]) -> None:
    """Add one flag per field of each section; every default is ``None`` (= not given)."""
    for section in sections:
        cls = SECTIONS[section]
        group = parser.add_argument_group(f"{section} options")
        add_fields(group, cls, prefix=f"{section}.")


def add_fields(
    group: argparse._ActionsContainer,
    cls: type,
    names: typing.Iterable[str] | None = None,
    *,
    prefix: str = "",
    shown_defaults: typing.Mapping[str, str] | None = None,
    metavars: typing.Mapping[str, str] | None = None,
    required: typing.Collection[str] = (),
) -> None:
    """One flag per field of the config dataclass ``cls`` (``names``: only these), each with
    ``dest = prefix + field name`` and default ``None`` (= not given: the field's default).

    ``shown_defaults`` replaces the default ``--help`` shows where the verb fills in its own;
    ``metavars`` names placeholders; ``required`` fields must be given.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name in fields if names is None else names:
        field = fields[name]
        flag = f"--{option_name(field)}"
        dest = prefix + field.name
        described = field.metadata.get("help", "")
        shown = (shown_defaults or {}).get(name) or default_text(field)
        if "(default" not in described:  # a help that says its default says it once
            described = f"{described} (default: {shown})"
        help_text = described.replace("%", "%%")  # argparse formats help with %
        annotation = hints[field.name]
        if annotation is bool or annotation == (bool | None):
            group.add_argument(
                flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif option_name(field) in OPTIONAL_VALUE:
            group.add_argument(
                flag,
                dest=dest,
                nargs="?",
                const=OPTIONAL_VALUE[option_name(field)],
                default=None,
                help=help_text,
                metavar="PATH",
            )
        elif option_name(field) in REPEATABLE:
            group.add_argument(flag, dest=dest, action="append", default=None, help=help_text)
        elif annotation == tuple[Path, ...]:
            group.add_argument(
                flag, dest=dest, nargs="+", default=None, help=help_text, metavar="PATH"
            )
        else:
            names_ = field_choices(field)
            metavar = "{" + ",".join(names_) + "}" if names_ else _metavar(annotation)
            group.add_argument(
                flag,
                dest=dest,
                default=None,
                help=help_text,
                metavar=(metavars or {}).get(name, metavar),
                required=name in required,
            )


def fields_from_args(
    cls: type[T], args: argparse.Namespace, defaults: typing.Mapping[str, Any] | None = None
) -> T:
    """The config dataclass ``cls`` from the flags `add_fields` made (those given), over
    ``defaults``; text is converted and checked by the dataclass, as for ``train``."""
    values = dict(defaults or {})
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    for f in fields:
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = value
    where = cls.__name__.removesuffix("Config").lower()
    try:
        return from_dict(cls, values, where=where)
    except BadConfig as err:
        # The message names the field; say the flag it came from too.
        named = next((f for f in fields if f"{where}.{f.name} " in f"{err} "), None)
        if named is None:
            raise
        text = str(err).removesuffix(f" — {err.fix}") if err.fix else str(err)
        raise BadConfig(f"{text} (--{option_name(named)})", fix=err.fix) from None


def default_text(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return "required"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """``--config FILE`` (TOML or a legacy key=value file) and ``--set section.field=value``."""
    parser.add_argument("--config", type=Path, help="TOML or ANIMAL-SPOT key=value config file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override any config field, e.g. --set train.lr=3e-4 (repeatable)",
    )


def add_recipe_flag(parser: argparse.ArgumentParser) -> None:
    """``--recipe NAME``: a recommended set of values under the ones given explicitly."""
    from .recipes import RECIPES

    parser.add_argument(
        "--recipe",
        choices=RECIPES.names(),
        help="recommended values for a task (docs/training.md); flags, --set and TOML keys "
        "given explicitly win",
    )


def _toml_keys(path: Path) -> set[str]:
    """``section.field`` of every value a TOML config file sets."""
    from .config import read_toml

    values = read_toml(path)
    return {f"{s}.{k}" for s, table in values.items() if isinstance(table, dict) for k in table}


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """Defaults ← [recipe] ← config file ← flags ← ``--set``, each validated by the dataclasses."""
    path = getattr(args, "config", None)
    from .legacy import load_any_config  # a config file may be ANIMAL-SPOT's key=value one

    config = load_any_config(path) if path else ExperimentConfig()
    flags: dict[str, Any] = {}
    for dest, value in vars(args).items():
        if "." in dest and value is not None:
            flags[dest] = ",".join(value) if isinstance(value, list) else value
    config = override(config, flags)
    assignments = parse_set_arguments(getattr(args, "overrides", []))
    config = override(config, assignments)
    recipe = getattr(args, "recipe", None)
    if not recipe:
        return config
    from .recipes import apply_recipe

    explicit = {*flags, *assignments}
    if path:
        if Path(path).suffix.lower() != ".toml":
            raise BadConfig("--recipe takes a TOML --config only", path=path, fix="drop --recipe")
        explicit |= _toml_keys(Path(path))
    return apply_recipe(config, recipe, explicit)
