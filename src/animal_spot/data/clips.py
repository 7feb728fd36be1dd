"""Clip readers: ANIMAL-SPOT file names, class folders and CSV lists → clips (Raven: recordings)."""

from __future__ import annotations

import csv
import difflib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .. import audio
from ..errors import AnimalSpotError, BadData, BadTable
from .manifest import Clip

logger = logging.getLogger(__name__)

CONVENTION = "CLASS-LABELINFO_ID_YEAR_TAPE_STARTMS_ENDMS.wav"
CONVENTION_SUFFIXES = frozenset({".wav", ".flac"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp3"})
_NAME_FIX = f"name it {CONVENTION}, e.g. noise-_2381_2010_101BC_149817_150055.wav"
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class ClipName:
    """The fields of an ANIMAL-SPOT clip name ``CLASS-LABELINFO_ID_YEAR_TAPE_STARTMS_ENDMS``."""

    label: str
    label_info: str
    id: str
    year: int
    tape: str
    start_ms: int
    end_ms: int

    @property
    def group(self) -> str:
        """ANIMAL-SPOT's split key: clips of one year and tape never go to two splits."""
        return f"{self.year}_{self.tape.upper()}"


def parse_clip_name(path: str | Path) -> ClipName:
    """The fields of an ANIMAL-SPOT clip name (the class is mandatory, LABELINFO may be empty).

    The class runs up to the first ``-``; runs of ``_`` count as one; the other fields are
    counted from the end, so LABELINFO may itself hold ``_``.

    Raises:
        BadData: the name does not follow the convention; the message says what is wrong.
    """
    path = Path(path)
    label, dash, rest = path.stem.partition("-")
    if not dash or not label:
        what = "has no '-' after the class" if not dash else "has an empty class before '-'"
        raise BadData(f"the name {what}", path=path, fix=_NAME_FIX)
    fields = re.sub("_{2,}", "_", rest).split("_")
    if len(fields) < 6:
        raise BadData(
            f"the name has {len(fields)} '_'-separated fields after the class, not 6",
            path=path,
            fix=_NAME_FIX,
        )
    *info, id_, year, tape, start_ms, end_ms = fields
    for name, value in (("YEAR", year), ("STARTMS", start_ms), ("ENDMS", end_ms)):
        if not _DIGITS.fullmatch(value):
            raise BadData(f"{name} = {value!r} is not a whole number", path=path, fix=_NAME_FIX)
    if not 1950 <= int(year) <= 2199:
        raise BadData(f"YEAR = {year} lies outside 1950–2199", path=path, fix=_NAME_FIX)
    return ClipName(label, "_".join(info), id_, int(year), tape, int(start_ms), int(end_ms))


def format_clip_name(name: ClipName, suffix: str = ".wav") -> str:
    """The file name of ``name``; ``parse_clip_name`` gives ``name`` back.

    Raises:
        ValueError: a field would not survive the round trip (a ``-`` in the class, a ``_`` in
            ID or TAPE, an empty field, a year out of range).
    """
    text = (
        f"{name.label}-{name.label_info}_{name.id}_{name.year}_{name.tape}"
        f"_{name.start_ms}_{name.end_ms}{suffix}"
    )
    try:
        is_exact = parse_clip_name(text) == name
    except BadData as err:
        raise ValueError(f"{name} has no ANIMAL-SPOT file name: {err}") from None
    if not is_exact:
        raise ValueError(f"{name} has no ANIMAL-SPOT file name that reads back the same")
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that was skipped or not used, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ReadResult(NamedTuple):
    """Clips read, and the files skipped on the way (unpack as ``clips, problems``)."""

    clips: list[Clip]
    problems: list[Problem]


def _reason(err: AnimalSpotError) -> str:
    text = str(err)
    return text.removeprefix(f"{err.path}: ") if err.path else text


def _audio_files(
    root: Path, suffixes: frozenset[str], *, skip_backup: bool, fix: str = _NAME_FIX
) -> list[Path]:
    if not root.is_dir():
        raise BadData("no such folder", path=root, fix="give the folder that holds the clips")
    files = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if path.suffix.casefold() not in suffixes or any(p.startswith(".") for p in parts):
            continue
        if skip_backup and "bkp" in parts[:-1]:
            continue  # ANIMAL-SPOT moves silent clips to bkp/ and they must stay out
        if path.is_file():
            files.append(path)
    if not files:
        kinds = ", ".join(sorted(f"*{s}" for s in suffixes))
        raise BadData(f"no audio files ({kinds}) in the folder", path=root, fix=fix)
    return sorted(files)


def _convention_name(path: Path) -> ClipName | None:
    try:
        return parse_clip_name(path)
    except BadData:
        return None


def _is_usable(path: Path, problems: list[Problem], check_audio: bool) -> bool:
    if not check_audio:
        return True
    try:
        if audio.info(path).n_samples == 0:
            problems.append(Problem(path, "holds no samples"))
            return False
    except AnimalSpotError as err:
        problems.append(Problem(path, _reason(err)))
        return False
    return True


def _finish(clips: list[Clip], problems: list[Problem], source: Path) -> ReadResult:
    logger.info("%s: %d clips, %d files skipped", source, len(clips), len(problems))
    for problem in problems:
        logger.info("skipped %s", problem)
    return ReadResult(clips, problems)


def read_convention_folder(root: str | Path, *, check_audio: bool = True) -> ReadResult:
    """Clips of every ``*.wav``/``*.flac`` under ``root`` named by the ANIMAL-SPOT convention.

    Files under a ``bkp/`` folder (ANIMAL-SPOT's home for silent clips) and hidden files are
    left out; a badly named or unreadable file is reported and skipped.
    """
    root = Path(root)
    clips: list[Clip] = []
    problems: list[Problem] = []
    for path in _audio_files(root, CONVENTION_SUFFIXES, skip_backup=True):
        try:
            name = parse_clip_name(path)
        except BadData as err:
            problems.append(Problem(path, _reason(err)))
            continue
        if _is_usable(path, problems, check_audio):
            clips.append(Clip(path, name.label, name.group))
    return _finish(clips, problems, root)


def read_class_folders(root: str | Path, *, check_audio: bool = True) -> ReadResult:
    """Clips of ``root/<class>/**/<file>``: the label is the class folder's name.

    The group is the file's stem, or its year and tape where the name follows the convention.
    """
    root = Path(root)
    clips: list[Clip] = []
    problems: list[Problem] = []
    for path in _audio_files(root, AUDIO_SUFFIXES, skip_backup=False):
        parts = path.relative_to(root).parts
        if len(parts) == 1:
            problems.append(Problem(path, "lies outside every class folder"))
            continue
        name = _convention_name(path)
        if _is_usable(path, problems, check_audio):
            clips.append(Clip(path, parts[0], name.group if name else path.stem))
    return _finish(clips, problems, root)


def read_clips_dir(root: str | Path, *, check_audio: bool = True) -> ReadResult:
    """Clips of a folder, laid out either as ANIMAL-SPOT names or as one folder per class.

    Class folders are assumed when the files sit in sub-folders and most names do not follow
    the convention.

    Raises:
        BadData: the folder is missing, holds no audio, or no file in it can be used.
    """
    root = Path(root)
    files = _audio_files(root, AUDIO_SUFFIXES, skip_backup=True)
    n_named = sum(
        p.suffix.casefold() in CONVENTION_SUFFIXES and _convention_name(p) is not None
        for p in files
    )
    is_class_folders = any(len(p.relative_to(root).parts) > 1 for p in files) and (
        2 * n_named < len(files)
    )
    logger.info("%s: %s layout", root, "class-folder" if is_class_folders else "ANIMAL-SPOT name")
    reader = read_class_folders if is_class_folders else read_convention_folder
    result = reader(root, check_audio=check_audio)
    if not result.clips:
        raise BadData(
            f"none of its {len(files)} audio files can be used; first: {result.problems[0]}",
            path=root,
            fix=f"name the clips {CONVENTION} or put them in one sub-folder per class",
        )
    return result


def read_csv(
    csv_path: str | Path,
    path_column: str,
    label_column: str,
    group_column: str | None = None,
    *,
    check_audio: bool = True,
) -> ReadResult:
    """Clips listed in a CSV file; relative paths are taken from the CSV's folder.

    The group defaults to the file's stem. Rows naming a missing or unreadable file, or with no
    label, are reported and skipped.

    Raises:
        BadTable: the CSV is missing or lacks a named column (the message lists those found).
    """
    csv_path = Path(csv_path)
    try:
        handle = csv_path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadTable("CSV file not found", path=csv_path) from None
    clips: list[Clip] = []
    problems: list[Problem] = []
    with handle:
        reader = csv.DictReader(handle)
        found = list(reader.fieldnames or [])
        for column in (path_column, label_column, group_column):
            if column is not None and column not in found:
                close = difflib.get_close_matches(column, found, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise BadTable(
                    f"no column {column!r}{hint}; columns found: {', '.join(found)}",
                    path=csv_path,
                    fix="name a column of the CSV's first row",
                )
        for line, row in enumerate(reader, start=2):
            text = (row.get(path_column) or "").strip()
            label = (row.get(label_column) or "").strip()
            path = csv_path.parent / text  # an absolute path stays as it is
            if not text or not label:
                what = "path" if not text else "label"
                problems.append(Problem(csv_path, f"line {line}: no {what}"))
            elif not path.is_file():
                problems.append(Problem(path, f"line {line} of {csv_path.name}: no such file"))
            elif _is_usable(path, problems, check_audio):
                group = (row.get(group_column) or "").strip() if group_column else ""
                clips.append(Clip(path, label, group or path.stem))
    return _finish(clips, problems, csv_path)
