"""Atomic file writes: a temp file in the target's folder, then ``os.replace``; folder locks.

Readers (other DataLoader workers, other processes, a user opening the file) see either the old
file or the whole new one, never a torn one, and a crash leaves no partial output behind.
A temp file is named ``.<name>.<pid>.<random>.tmp``, so a cleaner can tell whether the process
that made it still runs (`is_stale_temp`), and is created with the mode a plain ``open()``
gives (``0o666`` less the umask), which ``os.replace`` keeps.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .errors import BadConfig

log = logging.getLogger(__name__)

LOCK_NAME = ".animal-spot.lock"


def _create_temp(path: Path) -> Path:
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 as open() uses: the kernel applies the umask (mkstemp would give 0o600).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temp name beside {path}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: object) -> Iterator[IO]:
    """``open`` whose result appears at ``path`` only once the block finishes without error."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:  # type: ignore[call-overload]
        yield handle


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def is_stale_temp(tmp: Path, target: Path) -> bool:
    """Whether ``tmp`` is a temp file of ``target`` whose writing process has ended.

    Names without a process id (older versions) count as stale: they were made by a run
    that no longer holds the folder.
    """
    prefix, suffix = f".{target.name}.", ".tmp"
    if not (tmp.name.startswith(prefix) and tmp.name.endswith(suffix)):
        return False
    owner = tmp.name[len(prefix) : -len(suffix)].split(".")[0]
    return not owner.isdigit() or not _is_running(int(owner))


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as err:  # a file system without locks: go on unguarded
            log.warning("no file locks here (%s): run one writer per folder", err.strerror)
        return True


@contextlib.contextmanager
def folder_lock(folder: str | Path, purpose: str) -> Iterator[None]:
    """Hold ``folder``'s lock (``.animal-spot.lock``) for the block; the OS frees it on exit.

    Raises:
        BadConfig: another process (or another call in this one) holds the lock, or the
            folder cannot be written.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        raise BadConfig(
            "cannot write into this folder: permission denied",
            path=folder,
            fix="check the folder's permissions or choose another output folder",
        ) from None
    try:
        if not _try_lock(fd):
            raise BadConfig(
                f"another process is {purpose} this folder",
                path=folder,
                fix="wait until it finishes, or choose another output folder",
            )
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


__all__ = [
    "LOCK_NAME",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "folder_lock",
    "is_stale_temp",
]
