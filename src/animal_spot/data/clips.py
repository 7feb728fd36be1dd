"""Clip readers: ANIMAL-SPOT file names, class folders and CSV lists → clips (Raven: recordings)."""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .. import audio
from ..conventions import AUDIO_SUFFIXES
from ..errors import AnimalSpotError, BadData
from .manifest import Clip, read_table, text_problem

logger = logging.getLogger(__name__)

CONVENTION = "CLASS-LABELINFO_ID_YEAR_TAPE_STARTMS_ENDMS.wav"
CONVENTION_SUFFIXES = frozenset({".wav", ".flac"})
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


def shown(path: str | Path) -> Path:
    """``path`` as it can be printed and written to UTF-8: bytes that are not UTF-8 as ``\\xNN``."""
    return Path(os.fsencode(path).decode("utf-8", "backslashreplace"))


def _name_problem(name: str) -> str | None:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8: rename it"
    return text_problem(name, "file name")


def _entry_kind(path: Path) -> tuple[str, str | None]:
    """``(kind, why)``: dir, file, or skip with the reason; never opens it (a FIFO would block)."""
    try:
        info = path.stat()  # follows links
    except FileNotFoundError:
        return "skip", "dangling link: its target does not exist"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return "skip", "symlink loop: the link leads back to itself"
        return "skip", f"cannot read ({err.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "dir", None
    if stat.S_ISREG(info.st_mode):
        return "file", None
    return "skip", "not a regular file (a FIFO, socket or device): never opened"


class _Walk(NamedTuple):
    files: list[Path]
    problems: list[Problem]


def _scan(folder: Path) -> tuple[list[os.DirEntry[str]], str | None]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name), None
    except PermissionError:
        return [], "cannot read the folder: permission denied — check its permissions"
    except OSError as err:
        return [], f"cannot read the folder ({err.strerror})"


def find_audio_files(root: Path, suffixes: frozenset[str], *, skip_backup: bool) -> _Walk:
    """Audio files under ``root`` (links followed), and the entries skipped, with why.

    Hidden entries and, with ``skip_backup``, ``bkp/`` folders are left out without a word;
    so are other files that are no audio. A folder reached twice (a symlink loop) is read once.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    seen = {(root.stat().st_dev, root.stat().st_ino)}
    folders = [root]
    while folders:
        folder = folders.pop()
        entries, unreadable = _scan(folder)
        if unreadable is not None:
            problems.append(Problem(shown(folder), unreadable))
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith(".") or (skip_backup and entry.name == "bkp"):
                continue  # ANIMAL-SPOT moves silent clips to bkp/ and they must stay out
            is_audio = path.suffix.casefold() in suffixes
            kind, why = _entry_kind(path)
            if kind == "dir":
                node = (path.stat().st_dev, path.stat().st_ino)
                if is_audio:
                    why = "a folder named like an audio file: rename it"
                elif node in seen:
                    why = "symlink loop: a link to a folder read already"
                seen.add(node)
            elif not is_audio and (kind == "file" or not entry.is_symlink()):
                continue
            why = why or _name_problem(entry.name)
            if why is not None:
                problems.append(Problem(shown(path), why))
            else:
                (folders if kind == "dir" else files).append(path)
    return _Walk(sorted(files), sorted(problems, key=lambda p: str(p.path)))


def _no_files_error(
    root: Path, suffixes: frozenset[str], problems: list[Problem], fix: str
) -> BadData:
    kinds = ", ".join(sorted(f"*{s}" for s in suffixes))
    if problems:
        return BadData(
            f"no usable audio files ({kinds}): {len(problems)} entries skipped; first: "
            f"{problems[0]}",
            path=shown(root),
            fix="fix or remove the entries named",
        )
    return BadData(f"no audio files ({kinds}) in the folder", path=shown(root), fix=fix)


def _walk(
    root: Path, suffixes: frozenset[str], *, skip_backup: bool, fix: str = _NAME_FIX
) -> _Walk:
    if not root.is_dir():
        raise BadData(
            "no such folder", path=shown(root), fix="give the folder that holds the clips"
        )
    if _name_problem(str(root)) is not None:
        raise BadData(
            "the folder's name is not valid UTF-8 or holds a control character",
            path=shown(root),
            fix="rename it",
        )
    found = find_audio_files(root, suffixes, skip_backup=skip_backup)
    if not found.files:
        raise _no_files_error(root, suffixes, found.problems, fix)
    return found


def _convention_name(path: Path) -> ClipName | None:
    try:
        return parse_clip_name(path)
    except BadData:
        return None


def _wav_shortfall(path: Path) -> int:
    """Bytes of samples a WAV header promises beyond the end of the file (0 if none or not WAV).

    libsndfile reads a cut-off WAV without a word, as a shorter clip of the wrong length.
    """
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    at = 12
    while at + 8 <= len(head):
        size = int.from_bytes(head[at + 4 : at + 8], "little")
        if head[at : at + 4] == b"data":
            is_streamed = size in (0, 0xFFFFFFFF)  # writers that never went back to the header
            return 0 if is_streamed else max(0, size - (path.stat().st_size - at - 8))
        at += 8 + size + size % 2
    return 0


def _is_usable(path: Path, problems: list[Problem], check_audio: bool) -> bool:
    if not check_audio:
        return True
    if not os.access(path, os.R_OK):
        reason = "cannot read: permission denied — check the file's permissions"
        problems.append(Problem(path, reason))
        return False
    if path.suffix.casefold() == ".wav" and (missing := _wav_shortfall(path)):
        reason = f"truncated: {missing} bytes of samples missing at the end — copy it again"
        problems.append(Problem(path, reason))
        return False
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
    left out; a badly named or unreadable file, or an entry that is no file, is reported and
    skipped.
    """
    root = Path(root)
    files, problems = _walk(root, CONVENTION_SUFFIXES, skip_backup=True)
    return _read_convention(root, files, problems, check_audio)


def _read_convention(
    root: Path, files: list[Path], problems: list[Problem], check_audio: bool
) -> ReadResult:
    clips: list[Clip] = []
    for path in files:
        if path.suffix.casefold() not in CONVENTION_SUFFIXES:
            continue
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
    files, problems = _walk(root, AUDIO_SUFFIXES, skip_backup=False)
    return _read_class_folders(root, files, problems, check_audio)


def _read_class_folders(
    root: Path, files: list[Path], problems: list[Problem], check_audio: bool
) -> ReadResult:
    clips: list[Clip] = []
    for path in files:
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
    the convention. Entries that cannot be used (unreadable, links to nowhere, FIFOs, names
    that are not UTF-8 or hold a control character) are reported and skipped.

    Raises:
        BadData: the folder is missing, holds no audio, or no file in it can be used.
    """
    root = Path(root)
    files, problems = _walk(root, AUDIO_SUFFIXES, skip_backup=True)
    n_named = sum(
        p.suffix.casefold() in CONVENTION_SUFFIXES and _convention_name(p) is not None
        for p in files
    )
    is_class_folders = any(len(p.relative_to(root).parts) > 1 for p in files) and (
        2 * n_named < len(files)
    )
    logger.info("%s: %s layout", root, "class-folder" if is_class_folders else "ANIMAL-SPOT name")
    if is_class_folders:
        result = _read_class_folders(root, files, problems, check_audio)
    else:
        result = _read_convention(root, files, problems, check_audio)
    if not result.clips:
        raise BadData(
            f"none of its {len(files)} audio files can be used; first: {result.problems[0]}",
            path=shown(root),
            fix=f"name the clips {CONVENTION} or put them in one sub-folder per class",
        )
    return result


def _row_problem(line: int, cells: dict[str, str]) -> str | None:
    for what in ("path", "label"):
        if not cells[what]:
            return f"line {line}: no {what}"
    for what, value in cells.items():
        reason = text_problem(value, what)
        if reason is not None:
            return f"line {line}: {reason}"
    return None


def read_csv(
    csv_path: str | Path,
    path_column: str,
    label_column: str,
    group_column: str | None = None,
    *,
    check_audio: bool = True,
) -> ReadResult:
    """Clips listed in a CSV file (any encoding and separator `read_table` reads).

    Relative paths are taken from the CSV's folder; the group defaults to the file's stem.
    Rows naming a missing or unreadable file, with no label, or with a control character in a
    cell used are reported and skipped.

    Raises:
        BadTable: the CSV is missing, not text, or lacks a named column (the message lists
            those found).
    """
    csv_path = Path(csv_path)
    columns = {"path": path_column, "label": label_column, "group": group_column}
    needed = [column for column in columns.values() if column is not None]
    clips: list[Clip] = []
    problems: list[Problem] = []
    for line, row in read_table(csv_path, needed):
        cells = {what: (row.get(column or "") or "").strip() for what, column in columns.items()}
        path = csv_path.parent / cells["path"]  # an absolute path stays as it is
        reason = _row_problem(line, cells)
        if reason is not None:
            problems.append(Problem(csv_path, reason))
        elif not path.is_file():
            problems.append(Problem(path, f"line {line} of {csv_path.name}: no such file"))
        elif _is_usable(path, problems, check_audio):
            clips.append(Clip(path, cells["label"], cells["group"] or path.stem))
    return _finish(clips, problems, csv_path)
