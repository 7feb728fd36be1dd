"""The shell commands and Python calls written in README.md and docs/*.md, read from the files."""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language tag, first line number and text."""

    path: Path
    language: str
    line: int
    text: str


@dataclass(frozen=True)
class Command:
    """One shell command of a block, continuation lines joined and comments dropped."""

    path: Path
    line: int
    words: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {shlex.join(self.words)}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file."""
    found: list[Block] = []
    language: str | None = None
    start = 0
    lines: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line.strip())
        if language is None and match:
            language, start, lines = match.group(1), number + 1, []
        elif language is not None and line.strip() == "```":
            found.append(Block(path, language, start, "\n".join(lines)))
            language = None
        elif language is not None:
            lines.append(line)
    return found


def commands(block: Block) -> list[Command]:
    """The block's commands: ``\\`` continuations joined, ``#`` comments and ``...`` dropped."""
    found = []
    pending, first = "", 0
    for offset, line in enumerate(block.text.splitlines()):
        if not pending:
            first = block.line + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        words = [w for w in shlex.split(pending + line, comments=True) if w != "..."]
        pending = ""
        if words:
            found.append(Command(block.path, first, tuple(words)))
    return found


def shell_commands(path: Path) -> list[Command]:
    return [c for b in blocks(path) if b.language in ("bash", "sh", "") for c in commands(b)]


def python_calls(path: Path, module: str = "animal_spot") -> list[tuple[int, ast.Call]]:
    """``module.name(...)`` calls in the file's ``python`` blocks, with their line numbers."""
    calls = []
    for block in blocks(path):
        if block.language != "python":
            continue
        for node in ast.walk(ast.parse(block.text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == module
            ):
                calls.append((block.line + node.lineno - 1, node))
    return calls
