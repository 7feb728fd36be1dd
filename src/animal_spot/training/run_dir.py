"""The run directory of a training: its name, its lock, the checks before a resume, its cleanup.

One training writes a run directory at a time: an exclusive ``flock`` on ``run_dir/.lock``
refuses a second one at once. The kernel drops the lock when its process dies, so a lock file
left by a killed run never blocks the next one. A run directory made by a training that fails
before its first checkpoint is removed again, so a config error never leaves a half-made run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..bundle import load_weights_only
from ..config import SECTIONS, ExperimentConfig, load_toml
from ..errors import BadConfig, BadModel

LOCK_NAME = ".lock"
LAST = "last.ckpt"
RUN_NAME_VARIABLE = "ANIMAL_SPOT_RUN_NAME"
# Options a resumed run may change: they steer the loop, not what is learned from which data.
RESUMABLE = {
    "train.max_train_epochs",
    "train.early_stopping_patience_epochs",
    "train.epochs_per_eval",
    "train.num_workers",
    "train.devices",
    "train.num_nodes",
    "train.precision",
    "train.resume",
    "train.run_name",
    "train.model_dir",
    "data.cache_dir",
    "data.cache_audio",
}
RESUMABLE_SECTIONS = {"predict"}  # prediction settings only travel into model.pt


def newest_run(model_dir: Path, checkpoint_dir: Path | None = None) -> Path | None:
    """The run directory under ``model_dir`` whose ``last.ckpt`` was written last.

    With ``checkpoint_dir`` the checkpoints are looked for there (``DIR/<run name>``).
    """
    where = checkpoint_dir if checkpoint_dir is not None else model_dir
    checkpoints = sorted(where.glob(f"*/{LAST}"), key=lambda p: p.stat().st_mtime_ns)
    return model_dir / checkpoints[-1].parent.name if checkpoints else None


def checkpoint_folder(config: ExperimentConfig, run_dir: Path) -> Path:
    """Where a run's ``last.ckpt`` and ``best.ckpt`` go: ``--checkpoint_dir``/name, else the run."""
    if config.train.checkpoint_dir is None:
        return run_dir
    return Path(config.train.checkpoint_dir) / run_dir.name


def run_name(config: ExperimentConfig) -> str:
    """``--run_name``, else a time stamp that every process of a multi-process run shares.

    Lightning starts the other ranks of ``--devices N`` as copies of this process, which inherit
    the stamp through the environment; processes started by ``torchrun`` cannot share one.
    """
    if config.train.run_name:
        return config.train.run_name
    inherited = os.environ.get(RUN_NAME_VARIABLE)
    if inherited:
        return inherited
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise BadConfig(
            "the processes of a distributed run need one run directory",
            fix="give --run_name (the same on every machine)",
        )
    return time.strftime("%Y%m%d-%H%M%S")


def run_dir_path(config: ExperimentConfig) -> Path:
    """``model_dir/run_name``; with ``resume`` and no name, the newest run (as ANIMAL-SPOT).

    Nothing is created here; a folder that already holds a run needs ``resume``.
    """
    cfg = config.train
    model_dir = Path(cfg.model_dir)
    if model_dir.exists() and not model_dir.is_dir():
        raise BadConfig("--model_dir is a file, not a folder", path=model_dir, fix="give a folder")
    checkpoint_dir = None if cfg.checkpoint_dir is None else Path(cfg.checkpoint_dir)
    newest = newest_run(model_dir, checkpoint_dir) if cfg.resume and not cfg.run_name else None
    run_dir = newest or model_dir / run_name(config)
    last = checkpoint_folder(config, run_dir) / LAST
    if last.exists() and not cfg.resume:
        raise BadConfig(
            "this run directory already holds a run",
            path=last.parent,
            fix="add --resume to continue it, or choose another --run_name",
        )
    return run_dir


def _make_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadConfig(
            f"cannot make the run directory ({err.strerror})",
            path=run_dir,
            fix="choose a writable --model_dir",
        ) from None


def _holder(fd: int) -> str:
    """The process id written into a lock file, as text (``?`` when unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode().strip()))
    return "?"


def _is_current(fd: int, path: Path) -> bool:
    """Whether ``fd`` still is the file at ``path`` (a finished run may have removed it)."""
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False


def acquire_lock(run_dir: Path) -> int:
    """Lock ``run_dir`` for this process; a second training is refused in one line."""
    path = run_dir / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise BadConfig(
                f"another training (process {holder}) is writing this run directory",
                path=run_dir,
                fix="wait for it to end, or choose another --run_name",
            ) from None
        if _is_current(fd, path):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)  # locked a file that was removed meanwhile: lock the new one


def release_lock(run_dir: Path, fd: int) -> None:
    """Remove the lock file, then unlock (a waiting process notices the removal)."""
    with contextlib.suppress(FileNotFoundError):
        (run_dir / LOCK_NAME).unlink()
    os.close(fd)


@contextlib.contextmanager
def claimed_run_dir(
    run_dir: Path, *, is_writer: bool, checkpoints: Path | None = None
) -> Iterator[Path]:
    """Make and lock ``run_dir`` for the block; remove it again if the block fails early.

    "Early" is before a ``last.ckpt`` exists (in ``checkpoints``, by default the run directory):
    then nothing in the folder is worth resuming. Only the writing process (rank 0) locks and
    cleans up.
    """
    checkpoints = checkpoints if checkpoints is not None else run_dir
    missing = [p for p in (run_dir, *run_dir.parents) if not p.exists()]  # deepest first
    _make_dir(run_dir)
    if checkpoints != run_dir:
        _make_dir(checkpoints)
    fd = acquire_lock(run_dir) if is_writer else None
    try:
        yield run_dir
    except BaseException:
        if is_writer and missing and not (checkpoints / LAST).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            for folder in missing[1:]:  # the --model_dir it made, when nothing else is in it
                with contextlib.suppress(OSError):
                    folder.rmdir()
        raise
    finally:
        if fd is not None:
            release_lock(run_dir, fd)


def _flat(config: ExperimentConfig) -> dict[str, Any]:
    """``section.field → value`` of every field, paths as text."""
    out = {}
    for section in SECTIONS:
        values = getattr(config, section)
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            out[f"{section}.{f.name}"] = str(value) if isinstance(value, Path) else value
    return out


def config_differences(stored: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """``key old → new`` for each field a resume may not change (model, front end, data)."""
    before, after = _flat(stored), _flat(new)
    return [
        f"{key} {before[key]!r} → {after[key]!r}"
        for key in before
        if before[key] != after[key]
        and key not in RESUMABLE
        and key.partition(".")[0] not in RESUMABLE_SECTIONS
    ]


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint loaded with ``weights_only=True``; anything else is BadModel."""
    content = load_weights_only(
        path,
        map_location="cpu",
        what="cannot be read",
        fix="remove it to train this run again from the start, or give a new --run_name",
    )
    if not isinstance(content, dict) or "state_dict" not in content:
        raise BadModel(
            "not a training checkpoint (no state_dict)",
            path=path,
            fix="remove it to train this run again from the start, or give a new --run_name",
        )
    return content


def check_resume(
    run_dir: Path, config: ExperimentConfig, classes: Sequence[str], checkpoints: Path | None = None
) -> Path | None:
    """Before anything is rewritten: the run's stored config and classes must still hold.

    Returns the checkpoint to resume from (``None``: there is none, the run starts afresh). A
    damaged ``last.ckpt`` is an error naming it, never silently replaced by an older one.
    """
    stored_path = run_dir / "config.toml"
    if stored_path.is_file():
        differences = config_differences(load_toml(stored_path), config)
        if differences:
            raise BadConfig(
                "--resume with settings that change the model or its data: "
                + "; ".join(differences),
                path=stored_path,
                fix="resume with the run's own settings, or start a new --run_name",
            )
    last = (checkpoints if checkpoints is not None else run_dir) / LAST
    if not last.exists():
        return None
    stored_classes = read_checkpoint(last).get("classes")
    if stored_classes is not None and list(stored_classes) != list(classes):
        raise BadConfig(
            f"--resume: the run learned the classes {list(stored_classes)}, the data now has "
            f"{list(classes)}",
            path=run_dir,
            fix="resume with the run's data, or start a new --run_name",
        )
    return last
