"""The pieces every report page is built from: escaped text, tables, images, sections, the page.

Every text that comes from a user (file names, class labels, config values) goes through
`esc`; images are ``data:`` URIs, and the style sheet is inline, so a page needs nothing else.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
section{margin-bottom:2.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:1em;overflow:auto}img{max-width:100%}
.cases{display:flex;flex-wrap:wrap;gap:1em}.case{width:19em;font-size:.85em}
.note{color:#555;font-size:.9em}td.n{text-align:right;font-variant-numeric:tabular-nums}
"""


def esc(value: Any) -> str:
    """Any user-provided text, made safe for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def table(rows: Sequence[tuple[Any, Any]]) -> str:
    """A two-column table: a heading cell and a value cell per row."""
    cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


_NUMBER = re.compile(r"[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?( ?[%×])?|n/a")


def _cell(value: Any) -> str:
    text = esc(value)
    return f'<td class="n">{text}</td>' if _NUMBER.fullmatch(str(value)) else f"<td>{text}</td>"


def grid(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table with a header row; cells that are numbers are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def png_uri(data: bytes) -> str:
    """PNG bytes as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def image(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{esc(alt)}">'


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{esc(title)}</h2>{body}</section>'


def note(text: str) -> str:
    """A paragraph of plain (escaped) explanatory text."""
    return f'<p class="note">{esc(text)}</p>'


def document(title: str, sections: Sequence[str]) -> str:
    """The whole page around its sections."""
    heading = esc(title)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{heading}</title>'
        f"<style>{STYLE}</style></head><body><h1>{heading}</h1>{''.join(sections)}</body></html>\n"
    )


def number(value: float | None, digits: int = 3) -> str:
    """``0.667``, or ``n/a`` for a figure that does not exist."""
    return "n/a" if value is None else f"{value:.{digits}f}"
