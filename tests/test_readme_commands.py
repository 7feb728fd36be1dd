"""Every command the README and docs show is one the package takes, read from the files themselves.

Each ``animal-spot`` line (and ``torchrun -m animal_spot``) is parsed by the real parser, each
``make`` target and ``pip install`` extra exists, each ``animal_spot.x(...)`` call of a Python
block binds to the function's signature. `test_readme_chain.py` runs the README's chain itself.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys

import pytest

import animal_spot
from animal_spot.cli import build_parser

from .readme_commands import ROOT, Command, python_calls, shell_commands

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ALL_COMMANDS = [c for path in DOCS for c in shell_commands(path)]


def animal_spot_argv(command: Command) -> list[str] | None:
    words = list(command.words)
    if words[0] == "animal-spot":
        return words[1:]
    if words[0] in ("torchrun", "python", "python3") and "-m" in words:
        at = words.index("-m")
        if words[at + 1] in ("animal_spot", "animal_spot.cli"):
            return words[at + 2 :]
    return None


CLI_COMMANDS = [c for c in ALL_COMMANDS if animal_spot_argv(c) is not None]


def test_the_readme_shows_the_main_commands():
    readme = {
        animal_spot_argv(c)[0]  # type: ignore[index]
        for c in CLI_COMMANDS
        if c.path.name == "README.md"
    }
    assert {"prepare", "train", "predict", "evaluate", "report", "export"} <= readme


@pytest.mark.parametrize("command", CLI_COMMANDS, ids=lambda c: c.where[:90])
def test_each_shown_command_parses(command: Command, capsys: pytest.CaptureFixture[str]):
    argv = animal_spot_argv(command)
    assert argv is not None
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        pytest.fail(f"{command.where}\n{capsys.readouterr().err.strip()} (exit {stop.code})")
    assert callable(args.run)


def test_make_targets_and_pip_extras_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.MULTILINE))
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    for command in ALL_COMMANDS:
        words = command.words
        if words[0] == "make":
            assert set(words[1:]) <= targets, command.where
        if words[:2] == ("pip", "install"):
            for word in words[2:]:
                if match := re.fullmatch(r"animal-spot\[([\w,-]+)\]", word):
                    assert set(match.group(1).split(",")) <= extras, command.where


PY_CALLS = [(path, line, call) for path in DOCS for line, call in python_calls(path)]


@pytest.mark.parametrize(
    ("path", "line", "call"), PY_CALLS, ids=lambda v: str(v)[:40] if isinstance(v, int) else ""
)
def test_each_python_call_binds_to_the_api(path, line, call: ast.Call):
    name = call.func.attr  # type: ignore[attr-defined]
    where = f"{path.relative_to(ROOT)}:{line}: animal_spot.{name}"
    assert hasattr(animal_spot, name), f"{where}: no such name"
    signature = inspect.signature(getattr(animal_spot, name))
    positional = [object()] * len(call.args)
    keywords = {k.arg: object() for k in call.keywords if k.arg is not None}
    try:
        signature.bind(*positional, **keywords)
    except TypeError as err:
        pytest.fail(f"{where}: {err}")


def test_the_readme_has_python_calls_to_check():
    assert any(path.name == "README.md" for path, _, _ in PY_CALLS)
