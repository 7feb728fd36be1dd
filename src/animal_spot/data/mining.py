"""mine: a model's false positives on target-free audio → noise clips appended to ``train.csv``.

The model scans recordings known to hold no target, or annotated recordings outside
``margin_s`` of every reference selection (tables pair with recordings by name, as in
``evaluate``), with its own window, hop, thresholds and event rules unless told otherwise
(`hard_negatives`). Each clip cut from a false positive is labelled noise, grouped with its
recording, and appended to the prepared folder's ``train.csv``; ``mined.csv`` beside it records
every clip mined, with its score and the model that found it, for review.

A rerun adds nothing twice: a clip already in a split is not added again, nor one overlapping
a noise clip of the splits (mined before or prepared) by more than half, nor one overlapping a
clip a reviewer marked ``rejected`` in the ``status`` column of ``mined.csv``. Recordings of the
val or test split are refused: their noise in train would leak into the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import audio
from ..annotations import raven
from ..console import progress as progress_bar
from ..errors import AnimalSpotError, BadConfig, BadData
from . import hard_negatives as hn
from .manifest import Clip
from .mining_files import (
    MINED_CSV,
    MinedClip,
    Problem,
    check_no_leak,
    find_inputs,
    group_of,
    load_prepared,
    pair_references,
    read_rejected,
    resolved,
    write_mined,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..config import PredictConfig
    from ..prediction.predictor import Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MineResult:
    """What a mining run scanned, found and added."""

    data_dir: Path
    n_recordings: int = 0
    hours: float = 0.0
    free_hours: float = 0.0
    n_events: int = 0
    added: list[MinedClip] = field(default_factory=list)
    n_duplicates: int = 0
    errors: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"scanned {self.n_recordings} recordings, {self.hours:.2f} h "
            f"({self.free_hours:.2f} h target-free): {self.n_events} false-positive events",
            f"added {len(self.added)} noise clips to train, skipped {self.n_duplicates} "
            "as duplicates of clips mined or listed before",
        ]
        if self.errors:
            lines.append(f"skipped {len(self.errors)} file(s):")
            lines.extend(f"  {path}: {reason}" for path, reason in self.errors)
        if self.files:
            lines.append(f"wrote {', '.join(str(p) for p in self.files)}")
            lines.append(f"retrain with: animal-spot train --data_dir {self.data_dir} ...")
        else:
            lines.append("wrote nothing")
        return "\n".join(lines)


@dataclass(frozen=True)
class Scan:
    """One recording scanned: its length, target-free time, events and clips on offer."""

    duration_s: float
    free_s: float
    n_events: int
    offered: list[hn.Candidate]


def scan(
    predictor: Predictor,
    recording: Path,
    table: Path | None,
    *,
    limits: Mapping[str, float],
    rules: PredictConfig,
    margin_s: float,
    max_count: int,
) -> Scan:
    """The best noise clips of one recording (``table``: its reference selections)."""
    duration_s = audio.info(recording).duration_s
    spans = (
        []
        if table is None
        else [(e.start_s, e.end_s) for e in raven.read_table(table, recording=recording)]
    )
    free = hn.free_stretches(duration_s, spans, margin_s if spans else 0.0)

    def is_free(start_s: float, end_s: float) -> bool:
        return hn.stretch_of(start_s, min(end_s, duration_s), free) is not None

    track = predictor.score_file(recording, select=is_free if spans else None).track
    span = rules.event_span
    masked, found = hn.false_positives(
        track,
        limits,
        free,
        duration_s,
        max_gap_s=rules.max_gap_s,
        min_duration_s=rules.min_duration_s,
        span=span,
    )
    clip_s = predictor.bundle.config.spectrogram.sequence_len_ms / 1000
    offered = hn.candidates(masked, found, limits, free, duration_s, clip_s, span=span)
    free_s = sum(b - a for a, b in free)
    return Scan(duration_s, free_s, len(found), hn.select(offered, max_count))


def is_duplicate(clip: Clip, known: Sequence[Clip]) -> bool:
    """``clip`` is in ``known`` already, or overlaps one of its noise clips by more than half."""
    span = (clip.start_s or 0.0, clip.end_s or 0.0)
    for other in known:
        other_span = (other.start_s or 0.0, other.end_s if other.end_s is not None else 1e12)
        if abs(other_span[0] - span[0]) < 1e-3 and abs(other_span[1] - span[1]) < 1e-3:
            return True
        if other.label.casefold() == "noise" and hn.overlap_fraction(span, other_span) > 0.5:
            return True
    return False


def mine(
    model_path: str | Path,
    input_file: str | Path | Sequence[str | Path],
    data_dir: str | Path,
    *,
    references: str | Path | None = None,
    margin_s: float = 1.0,
    threshold: float | None = None,
    hop_s: float | None = None,
    max_per_recording: int = 20,
    device: str = "auto",
    batch_size: int = 32,
    progress: bool = False,
) -> MineResult:
    """Add the model's false positives on target-free audio to ``data_dir/train.csv`` as noise.

    Args:
        model_path: the current model (``model.pt``).
        input_file: recordings or folders (searched recursively) that hold no target, or,
            with ``references``, annotated recordings.
        data_dir: the prepared folder (``train.csv``, ``val.csv``, ``test.csv``).
        references: a Raven table or a folder of them; only stretches at least ``margin_s``
            from every selection count as target-free. Recordings without a table are skipped.
        margin_s: distance kept from every reference selection.
        threshold: one score threshold for every class (default: the model's per-class ones).
        hop_s: window hop (default: the one the model predicts with).
        max_per_recording: most clips taken from one recording, best first.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        batch_size: windows per forward pass.
        progress: show a progress bar over the recordings.

    Raises:
        BadConfig: a bad value, no prepared folder, or no recordings.
        BadData: a recording belongs to the val or test split, or none could be mined (one
            that cannot be read or paired among others is reported in the result instead).
        BadTable: the references or ``mined.csv`` cannot be read.
    """
    bad_threshold = threshold is not None and not 0 < threshold <= 1
    if margin_s < 0 or max_per_recording < 1 or bad_threshold or (hop_s is not None and hop_s <= 0):
        raise BadConfig(
            f"margin_s {margin_s}, max_per_recording {max_per_recording}, threshold "
            f"{threshold}, hop {hop_s}",
            fix="margin_s must be ≥ 0, max_per_recording ≥ 1, threshold in (0, 1], hop > 0",
        )
    data_dir = Path(data_dir)
    splits = load_prepared(data_dir)
    inputs = [input_file] if isinstance(input_file, str | Path) else list(input_file)
    recordings = find_inputs([Path(p) for p in inputs])
    errors: list[Problem] = []
    tables: dict[Path, Path | None] = dict.fromkeys(recordings)
    if references is not None:
        paired, errors = pair_references(recordings, Path(references))
        tables = dict(paired)
    train_groups = {resolved(c.path): c.group for c in splits["train"]}
    check_no_leak(list(tables), splits, train_groups)

    from ..bundle import load_model
    from ..prediction.compose import predictor_for
    from ..prediction.pipeline import Single, thresholds_for
    from ..prediction.runtime import limit_threads

    limit_threads()
    bundle = load_model(model_path)
    rules = bundle.config.predict
    hop = rules.hop_s if hop_s is None else hop_s
    predictor = predictor_for(bundle, hop_s=hop, batch_size=batch_size, device=device)
    limits = thresholds_for(Single(predictor), threshold)
    spelled = [c.label for c in splits["train"] if c.label.casefold() == "noise"]
    label = next(iter(spelled), bundle.noise_class or "noise")
    known: dict[Path, list[Clip]] = {}
    for clip in [*(c for s in splits.values() for c in s), *read_rejected(data_dir / MINED_CSV)]:
        known.setdefault(resolved(clip.path), []).append(clip)
    scans: list[Scan] = []
    added: list[MinedClip] = []
    n_duplicates = 0
    files = progress_bar(
        len(tables), "mining recordings", unit="file", enabled=progress, iterable=tables.items()
    )
    for recording, table in files:
        try:
            found = scan(
                predictor,
                recording,
                table,
                limits=limits,
                rules=rules,
                margin_s=margin_s,
                max_count=max_per_recording,
            )
        except AnimalSpotError as err:
            errors.append((Path(err.path or recording), str(err).removeprefix(f"{err.path}: ")))
            continue
        scans.append(found)
        log.info(
            "%s: %d false-positive events, %d clips", recording, found.n_events, len(found.offered)
        )
        path, group = resolved(recording), group_of(recording, train_groups)
        for candidate in found.offered:
            clip = Clip(path, label, group, round(candidate.start_s, 6), round(candidate.end_s, 6))
            if is_duplicate(clip, known.setdefault(path, [])):
                n_duplicates += 1
                continue
            known[path].append(clip)
            added.append(MinedClip(clip, candidate.score, candidate.label))
    if not scans:
        first = f"{errors[0][0]}: {errors[0][1]}" if errors else "none paired"
        raise BadData(f"none of {len(recordings)} recordings could be mined; first: {first}")
    return MineResult(
        data_dir=data_dir,
        n_recordings=len(scans),
        hours=sum(s.duration_s for s in scans) / 3600,
        free_hours=sum(s.free_s for s in scans) / 3600,
        n_events=sum(s.n_events for s in scans),
        added=added,
        n_duplicates=n_duplicates,
        errors=errors,
        files=write_mined(data_dir, added, Path(model_path)) if added else [],
    )
