"""What a run directory holds: its config, metrics, curves, data folder and audit, read back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig, load_toml
from ..errors import BadConfig

RUN_FILES = ("config.toml", "metrics.json", "model.pt")
SPLIT_FILES = ("train.csv", "val.csv", "test.csv")
# TensorBoard tags drawn as curves, with the label each gets.
CURVE_TAGS = {
    "train/loss": "training loss",
    "val/loss": "validation loss",
    "train/accuracy": "training accuracy",
    "val/accuracy": "validation accuracy",
}


@dataclass(frozen=True)
class Curves:
    """Per-epoch values of each curve tag, and the learning rate per training step."""

    by_epoch: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    lr_by_step: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    """The readable parts of one run directory."""

    run_dir: Path
    config: ExperimentConfig
    config_text: str
    metrics: dict[str, Any]
    data_dir: Path | None
    audit: dict[str, Any] | None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.metrics.get("classes", [])]


def check_run_dir(run_dir: Path) -> None:
    """A folder written by ``animal-spot train``, or BadConfig naming what is missing."""
    if not run_dir.is_dir():
        raise BadConfig("not a folder", path=run_dir, fix="give the run directory of a training")
    missing = [name for name in RUN_FILES if not (run_dir / name).is_file()]
    if missing:
        raise BadConfig(
            f"not a finished training run (no {', '.join(missing)})",
            path=run_dir,
            fix="give a folder written by animal-spot train (model_dir/run_name)",
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadConfig(f"cannot be read ({err})", path=path, fix="train the run again") from None
    if not isinstance(values, dict):
        raise BadConfig("not a JSON object", path=path, fix="train the run again")
    return values


def find_data_dir(config: ExperimentConfig, run_dir: Path) -> Path | None:
    """The prepared folder the run trained on (a relative path may be relative to the run)."""
    if config.data.data_dir is not None:
        given = Path(config.data.data_dir)
        for folder in (given, run_dir / given):
            if (folder / "test.csv").is_file() or (folder / "train.csv").is_file():
                return folder
    if (run_dir / "train.csv").is_file():  # a clips folder split into the run directory
        return run_dir
    return None


def read_run(run_dir: str | Path) -> RunInfo:
    """Read ``run_dir``'s config, metrics and its data folder's audit (when there is one)."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir)
    config_path = run_dir / "config.toml"
    config = load_toml(config_path)
    data_dir = find_data_dir(config, run_dir)
    audit_path = data_dir / "audit.json" if data_dir is not None else None
    audit = _read_json(audit_path) if audit_path is not None and audit_path.is_file() else None
    return RunInfo(
        run_dir=run_dir,
        config=config,
        config_text=config_path.read_text(encoding="utf-8"),
        metrics=_read_json(run_dir / "metrics.json"),
        data_dir=data_dir,
        audit=audit,
    )


def data_fingerprint(data_dir: Path | None) -> str | None:
    """SHA-256 (first 16 hex digits) over the split manifests: the same data, the same text."""
    if data_dir is None:
        return None
    digest = hashlib.sha256()
    found = False
    for name in SPLIT_FILES:
        path = data_dir / name
        if path.is_file():
            found = True
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16] if found else None


def read_curves(run_dir: Path) -> Curves:
    """Loss and accuracy per epoch, learning rate per step, from the TensorBoard event files."""
    folder = run_dir / "tensorboard"
    if not folder.is_dir():
        return Curves()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags().get("scalars", []))
    # Lightning logs ``epoch`` at each step that holds epoch-level values: step → epoch.
    epoch_at = {s.step: int(s.value) for s in events.Scalars("epoch")} if "epoch" in tags else {}
    by_epoch: dict[str, list[tuple[int, float]]] = {}
    for tag in CURVE_TAGS:
        if tag in tags:
            points = {
                epoch_at.get(s.step, i): float(s.value) for i, s in enumerate(events.Scalars(tag))
            }
            by_epoch[tag] = sorted(points.items())
    lr_by_step = {
        tag: [(s.step, float(s.value)) for s in events.Scalars(tag)]
        for tag in sorted(tags)
        if tag.startswith("lr-")
    }
    return Curves(by_epoch=by_epoch, lr_by_step=lr_by_step)
