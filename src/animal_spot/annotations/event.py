"""The event record: one labelled span of a recording, in seconds and hertz."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """A sound from ``start_s`` to ``end_s`` with its label, and optionally score and band.

    Events come from reference tables (Raven selections) and from prediction (merged windows).
    """

    start_s: float
    end_s: float
    label: str
    score: float | None = None
    low_hz: float | None = None
    high_hz: float | None = None

    @property
    def duration_s(self) -> float:
        """Length of the event in seconds."""
        return self.end_s - self.start_s
