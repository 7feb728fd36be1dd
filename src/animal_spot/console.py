"""What the package tells the person running it: progress, status lines and a log file per run.

- `say` prints a status line (settings, one line per epoch, where outputs went) to stderr and
  into the run's log file; ``--quiet`` keeps warnings and errors only.
- `progress` is a tqdm bar on a terminal and, when stderr is a file or a pipe (a batch job's
  log), a plain line every `LINE_INTERVAL_S` seconds and one when the step ends: no ``\\r``
  garbage in logs.
- `run_log` appends every record of the run (INFO and up, with times) to a file in the run's
  folder while the console keeps the user's ``--log_level``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

LINE_INTERVAL_S = 30.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_VARIABLE = "ANIMAL_SPOT_QUIET"  # "1": as --quiet, for Python callers and batch jobs

_console = logging.getLogger("animal_spot.console")
_console.propagate = False  # its lines are printed plain, never twice through the root logger
_console.setLevel(logging.INFO)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (pytest and notebooks replace it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # logging assigns it; the property always wins
        pass


_terminal = _Stderr()
_console.addHandler(_terminal)
_quiet = False


def set_quiet(is_quiet: bool) -> None:
    """``--quiet``: no status lines and no progress, only warnings and errors."""
    global _quiet
    _quiet = is_quiet
    _terminal.setLevel(logging.WARNING if is_quiet else logging.INFO)


def is_quiet() -> bool:
    return _quiet or os.environ.get(QUIET_VARIABLE, "") == "1"


def is_interactive() -> bool:
    """Progress is drawn as bars: stderr is a terminal and the user did not ask for quiet."""
    return not is_quiet() and sys.stderr.isatty()


def say(text: str) -> None:
    """One status line for the person at the terminal, and for the run's log file."""
    if is_quiet():
        _terminal.setLevel(logging.WARNING)
    _console.info(text)


class _Discard:
    """Where a line bar's tqdm writes its own bytes (``\r``, ``\n``): nowhere."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class _LineBar(tqdm):  # type: ignore[type-arg]
    """A tqdm that prints its meter as a whole line, at most every ``mininterval`` seconds."""

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        shown = getattr(self, "_shown_n", None)
        if self.n == shown:
            return True  # the closing refresh repeats the last update's line
        if shown is None and self.format_dict["elapsed"] < self.mininterval:
            return True  # a step shorter than the interval says nothing
        self._shown_n = self.n
        say(msg if msg is not None else self.format_meter(**self.format_dict))
        return True


def progress(
    total: float | None,
    desc: str,
    *,
    unit: str = "it",
    bar_format: str | None = None,
    enabled: bool = True,
    interval_s: float = LINE_INTERVAL_S,
    iterable: Iterable[Any] | None = None,
) -> tqdm:  # type: ignore[type-arg]
    """A progress bar for a step the user waits for (`enabled=False` or quiet: silent).

    On a terminal, a tqdm bar; elsewhere a plain line every ``interval_s`` and one at the end,
    none at all for a step that ends within ``interval_s``.
    """
    if not enabled or is_quiet():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=True)
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, bar_format=bar_format)
    return _LineBar(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        bar_format=bar_format,
        mininterval=interval_s,
        maxinterval=interval_s,
        file=_Discard(),
        ascii=True,
    )


@contextlib.contextmanager
def run_log(path: str | Path, level: int = logging.INFO) -> Iterator[Path]:
    """Append the run's records (``level`` and up, timed) to ``path`` while the block runs.

    The console keeps its level: the root logger is opened to INFO for the file only, and its
    other handlers are held at the level they let through before. A block that fails in a
    folder it created leaves no folder behind when the log is all the folder holds.
    """
    path = Path(path)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(level)
    root = logging.getLogger()
    old_level = root.level
    held = [(h, h.level) for h in root.handlers]
    if not held:  # the file would silence logging's last resort: warnings stay on the console
        fallback = _Stderr()
        fallback.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        fallback.setLevel(logging.WARNING)
        root.addHandler(fallback)
        held = [(fallback, logging.WARNING)]
    for other, level in held:
        other.setLevel(max(level, old_level))
    root.setLevel(min(old_level, level) if old_level else level)
    root.addHandler(handler)
    _console.addHandler(handler)
    try:
        yield path
    except BaseException:
        if missing:  # a run that failed before writing anything leaves no folder behind
            handler.close()
            _remove_if_only_log(path, missing)
        raise
    finally:
        _console.removeHandler(handler)
        root.removeHandler(handler)
        root.setLevel(old_level)
        for other, level in held:
            other.setLevel(level)
            if isinstance(other, _Stderr):
                root.removeHandler(other)
        handler.close()


def _remove_if_only_log(path: Path, created: list[Path]) -> None:
    """Remove ``path`` and the folders ``run_log`` created for it, if they hold nothing else."""
    with contextlib.suppress(OSError):
        if [p.name for p in path.parent.iterdir()] == [path.name]:
            path.unlink()
            for folder in created:  # innermost first
                folder.rmdir()
