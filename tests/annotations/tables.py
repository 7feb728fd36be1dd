"""Selection tables as other tools write them: header lines and a writer with any encoding."""

from __future__ import annotations

from pathlib import Path

RAVEN = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
    "\tAnnotation"
)
BIRDNET = (
    "Selection\tView\tChannel\tBegin Path\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)"
    "\tHigh Freq (Hz)\tSpecies Code\tCommon Name\tConfidence\tFile Offset (s)"
)
RAVEN_MULTI_FILE = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)"
    "\tBegin Path\tFile Offset (s)\tBegin File\tCall Type"
)


def write_lines(
    path: Path, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n"
) -> Path:
    """``lines`` joined by ``newline``, encoded as ``encoding`` (``utf-16`` writes a BOM)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path
