"""The search space as data: a TOML table per parameter, keyed by its config key.

``load_space(path)`` reads one (``default_space.toml`` when no path is given); the fork's range
flags narrow it (`narrow`); ``SearchSpace.suggest(trial)`` draws a trial's values, which
`config.override` then applies to the base config, so every value is validated by the same
dataclasses that validate flags and TOML files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomllib

from ..config import SECTIONS, ExperimentConfig, override
from ..errors import BadConfig
from ..frontend.cache import POWER_FIELDS

KINDS = ("float", "int", "categorical")
DEFAULT_SPACE = "default_space.toml"
_FIX = "see the comments of animal_spot/tuning/default_space.toml"


@dataclass(frozen=True)
class Parameter:
    """One searched config field."""

    key: str  # "section.field"
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: tuple[tuple[str, Any], ...] = ()  # suggested only where these keys took these values

    def suggest(self, trial: Any) -> Any:
        if self.kind == "categorical":
            return trial.suggest_categorical(self.key, list(self.choices))
        assert self.low is not None
        assert self.high is not None
        if self.kind == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class SearchSpace:
    """Parameters in file order (a condition refers to one above it)."""

    parameters: tuple[Parameter, ...]
    source: str = DEFAULT_SPACE

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """``{"section.field": value}`` for one trial."""
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if all(values.get(key, _MISSING) == value for key, value in parameter.when):
                values[parameter.key] = parameter.suggest(trial)
        return values

    def searches_power_stft(self) -> bool:
        """Whether trials differ before the power STFT (then decoded clips are worth caching)."""
        power = {f"spectrogram.{name}" for name in POWER_FIELDS} | {"audio.sample_rate_hz"}
        return any(p.key in power for p in self.parameters)

    def without(self, keys: Sequence[str]) -> SearchSpace:
        return dataclasses.replace(
            self, parameters=tuple(p for p in self.parameters if p.key not in set(keys))
        )


_MISSING = object()


def load_space(path: str | Path | None = None) -> SearchSpace:
    """The space of a TOML file, or the default one.

    Raises:
        BadConfig: the file cannot be read, or a parameter is malformed or unknown.
    """
    if path is None:
        text = resources.files(__package__).joinpath(DEFAULT_SPACE).read_text()
        source = DEFAULT_SPACE
    else:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise BadConfig(f"cannot read the search space ({err.strerror})", path=path) from None
        source = str(path)
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise BadConfig(f"not valid TOML ({err})", path=source, fix=_FIX) from None
    parameters = tuple(_parameter(key, table, source) for key, table in tables.items())
    _check_conditions(parameters, source)
    return SearchSpace(parameters, source)


def _parameter(key: str, table: Any, source: str) -> Parameter:
    where = f"{source}: [{key!r}]"
    section, _, name = key.partition(".")
    fields = {f.name for f in dataclasses.fields(SECTIONS[section])} if section in SECTIONS else ()
    if name not in fields:
        raise BadConfig(f"{where} is no config key", fix="name a field as section.field")
    if not isinstance(table, Mapping):
        raise BadConfig(f"{where} must be a table", fix=_FIX)
    kind = table.get("kind", "categorical" if "choices" in table else None)
    if kind not in KINDS:
        raise BadConfig(f"{where}: kind = {kind!r}, not one of {', '.join(KINDS)}", fix=_FIX)
    when = tuple(dict(table.get("when", {})).items())
    if kind == "categorical":
        choices = table.get("choices")
        if not isinstance(choices, list) or not choices:
            raise BadConfig(f"{where}: choices must be a non-empty list", fix=_FIX)
        return Parameter(key, kind, choices=tuple(choices), when=when)
    low, high = table.get("low"), table.get("high")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise BadConfig(f"{where}: low and high must be numbers", fix=_FIX)
    if not low < high or (table.get("log") and low <= 0):
        raise BadConfig(f"{where}: needs low < high (and low > 0 with log)", fix=_FIX)
    return Parameter(
        key,
        kind,
        float(low),
        float(high),
        bool(table.get("log", False)),
        table.get("step"),
        when=when,
    )


def _check_conditions(parameters: Sequence[Parameter], source: str) -> None:
    seen: set[str] = set()
    for parameter in parameters:
        for key, _ in parameter.when:
            if key not in seen:
                raise BadConfig(
                    f"{source}: [{parameter.key!r}] depends on {key!r}, which is not above it"
                )
        seen.add(parameter.key)


def narrow(
    space: SearchSpace,
    *,
    lr_min: float | None = None,
    lr_max: float | None = None,
    batch_size_options: Sequence[int] | None = None,
    sequence_len_min: float | None = None,
    sequence_len_max: float | None = None,
) -> SearchSpace:
    """The fork's range flags applied: they replace (or add) those parameters."""
    replaced: dict[str, Parameter] = {}
    current = {p.key: p for p in space.parameters}
    if lr_min is not None or lr_max is not None:
        old = current.get("train.lr", Parameter("train.lr", "float", 1e-6, 1e-3, log=True))
        replaced["train.lr"] = dataclasses.replace(
            old, kind="float", low=lr_min or old.low, high=lr_max or old.high, log=True
        )
    if batch_size_options:
        replaced["train.batch_size"] = Parameter(
            "train.batch_size", "categorical", choices=tuple(batch_size_options)
        )
    if sequence_len_min is not None or sequence_len_max is not None:
        key = "spectrogram.sequence_len_ms"
        old = current.get(key, Parameter(key, "int", 300, 1500, step=100))
        replaced[key] = Parameter(
            key, "int", sequence_len_min or old.low, sequence_len_max or old.high, step=100
        )
    kept = [replaced.pop(p.key, p) for p in space.parameters]
    return dataclasses.replace(space, parameters=(*kept, *replaced.values()))


def apply(base: ExperimentConfig, values: Mapping[str, Any]) -> ExperimentConfig:
    """``base`` with a trial's values (validated like ``--set``)."""
    return override(base, dict(values))
