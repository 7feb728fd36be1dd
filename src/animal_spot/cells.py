"""Text cells safe for tab-separated tables, CSV files and spreadsheets, and their way back.

A file name can hold bytes that are not UTF-8 (kept by Python as surrogate escapes), tabs,
line breaks and other control characters, or start with ``=``, ``+``, ``-`` or ``@``, which a
spreadsheet runs as a formula. `safe_cell` makes any such text one valid UTF-8 cell:
undecodable bytes become ``\\xNN``, a tab, CR or LF ``\\t``, ``\\r`` or ``\\n``, any other
control or line-separator character its Python escape (``\\x00``, ``\\u2028``), and text that
starts with a formula character and is not a plain number gets a ``'`` in front (OWASP's advice
against CSV injection); `read_cell` removes that ``'`` again.
"""

from __future__ import annotations

import re
import unicodedata

FORMULA_STARTS = ("=", "+", "-", "@")
_NAMED = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # control characters, line and paragraph separators
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def printable(text: str) -> str:
    """``text`` as valid UTF-8: bytes a file system name could not decode become ``\\xNN``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file name decoded to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in _BREAKING:
        return char
    return _NAMED.get(char) or char.encode("unicode_escape").decode("ascii")


def safe_cell(value: object, *, guard_formula: bool = True) -> str:
    """One text cell: valid UTF-8, no tab or line break, never run as a formula.

    ``guard_formula=False`` leaves the ``'`` to a writer that adds it itself.
    """
    text = "".join(map(_escaped, printable("" if value is None else str(value))))
    return "'" + text if guard_formula and _is_formula(text) else text


def _is_formula(text: str) -> bool:
    # Quotes before the formula character count too, so that `read_cell` can undo exactly one.
    body = text.lstrip("'")
    return body.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(body)


def read_cell(text: str) -> str:
    """The text a `safe_cell` stood for (its formula guard removed; escapes stay as written)."""
    return text[1:] if text.startswith("'") and _is_formula(text) else text


__all__ = ["FORMULA_STARTS", "printable", "read_cell", "safe_cell"]
