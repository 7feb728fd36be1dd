"""Name → object registries for the parts a config swaps by name."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import BadConfig

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection; a duplicate or unknown name is an error that lists the names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that files ``obj`` under ``name``."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise BadConfig(
                f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}.{hint}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


class Lazy:
    """A callable named ``"package.module:attribute"``, imported on its first call.

    A light module lists what a name stands for without importing it (a loss, a network
    builder): the config and the CLI read the names, and torch loads only when one is used.
    """

    def __init__(self, target: str) -> None:
        if ":" not in target:
            raise ValueError(f"{target!r} is not 'module:attribute'")
        self.target = target
        self._loaded: Callable[..., object] | None = None

    def load(self) -> Callable[..., object]:
        if self._loaded is None:
            import importlib

            module, _, attribute = self.target.partition(":")
            self._loaded = getattr(importlib.import_module(module), attribute)
        return self._loaded

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.target!r})"
