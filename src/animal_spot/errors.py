"""Errors a user can act on: one line that names the file and the fix."""

from __future__ import annotations

from pathlib import Path


class AnimalSpotError(Exception):
    """Base of every error the command line turns into one stderr line and exit code 2."""

    def __init__(self, message: str, *, path: str | Path | None = None, fix: str | None = None):
        self.path = None if path is None else str(path)
        self.fix = fix
        parts = [f"{self.path}: {message}" if self.path else message]
        if fix:
            parts.append(fix)
        super().__init__(" — ".join(parts))


class BadConfig(AnimalSpotError):
    """A configuration value, file or flag that cannot be used."""


class BadAudio(AnimalSpotError):
    """An audio file that cannot be read, is empty, or holds no usable samples."""


class BadTable(AnimalSpotError):
    """A CSV manifest or Raven selection table that cannot be used."""


class BadData(AnimalSpotError):
    """A dataset that cannot be split or trained on as it stands."""


class BadModel(AnimalSpotError):
    """A model file that cannot be loaded safely or does not fit its use."""
