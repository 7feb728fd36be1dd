"""Compositions of Predictors: ensembles that average probabilities, and detector → classifier.

Every scorer here answers ``score_file(path, name, ...) → FileScores`` with one track over one
window grid, so the rest of prediction (events, tables, folders) does not know which it got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..conventions import DEFAULT_THRESHOLD, is_noise
from ..errors import BadModel
from .predictor import FileScores, Predictor, Progress, Select, collect
from .scores import ScoreTrack


class Scorer(Protocol):
    """What prediction needs of a model or a composition of models."""

    classes: tuple[str, ...]

    @property
    def band_hz(self) -> tuple[float, float]: ...

    @property
    def thresholds(self) -> dict[str, float]: ...

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores: ...


class OneModel:
    """Base of the scorers of one Predictor's model: its classes, band and stored thresholds."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.classes = predictor.classes

    @property
    def band_hz(self) -> tuple[float, float]:
        return self.predictor.band_hz

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.predictor.bundle.thresholds)


class Wrapper:
    """Base of the scorers that choose or combine the windows of another scorer, ``inner``,
    and answer with its classes, band and thresholds."""

    def __init__(self, inner: Scorer) -> None:
        self.inner = inner
        self.classes = inner.classes

    @property
    def band_hz(self) -> tuple[float, float]:
        return self.inner.band_hz

    @property
    def thresholds(self) -> dict[str, float]:
        return self.inner.thresholds


class Single(OneModel):
    """One model as a Scorer."""

    def __init__(self, predictor: Predictor) -> None:
        super().__init__(predictor)
        self.score_file = predictor.score_file


class Ensemble:
    """Models with the same classes whose class probabilities are averaged window by window.

    Members with identical front ends and windows share one pass over the audio; the others
    read it again and must place their windows at the same times. Thresholds are the members'
    means per class, the frequency band their union. Embeddings are concatenated.
    """

    def __init__(self, predictors: Sequence[Predictor], names: Sequence[str]) -> None:
        first = predictors[0].classes
        for predictor, name in zip(predictors[1:], names[1:], strict=True):
            if predictor.classes != first:
                raise BadModel(
                    f"cannot be averaged with {names[0]}: its classes {list(predictor.classes)}"
                    f" differ from {list(first)}",
                    path=name,
                    fix="ensemble only models trained on the same classes",
                )
        self.predictors = list(predictors)
        self.classes = first
        groups: dict[tuple[object, ...], list[Predictor]] = {}
        for predictor in predictors:
            groups.setdefault(predictor.frontend_key, []).append(predictor)
        self.groups = list(groups.values())

    @property
    def band_hz(self) -> tuple[float, float]:
        bands = [p.band_hz for p in self.predictors]
        return min(b[0] for b in bands), max(b[1] for b in bands)

    @property
    def thresholds(self) -> dict[str, float]:
        values: dict[str, list[float]] = {}
        for predictor in self.predictors:
            for label, value in predictor.bundle.thresholds.items():
                values.setdefault(label, []).append(value)
        return {label: float(np.mean(v)) for label, v in values.items()}

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores:
        name = name if name is not None else Path(path).name
        parts = []
        for index, group in enumerate(self.groups):
            batches = group[0].batches(path, select=select)
            report = on_progress if index == len(self.groups) - 1 else None
            parts.append(collect(batches, group, name, latent=latent, on_progress=report))
        if len(parts) == 1:
            return parts[0]
        frame_s = max(p.grid.hop_length / p.grid.sample_rate_hz for p in self.predictors)
        return average_tracks(parts, [len(g) for g in self.groups], path, frame_s)


def average_tracks(
    parts: list[FileScores], weights: list[int], path: str | Path, tolerance_s: float
) -> FileScores:
    """Weighted mean of tracks over the same windows (groups of members with one front end)."""
    first = parts[0].track
    for part in parts[1:]:
        track = part.track
        shift_s = np.abs(track.start_s - first.start_s).max(initial=0) if len(track) else 0
        if len(track) != len(first) or shift_s > tolerance_s:
            raise BadModel(
                "the ensemble's front ends place their windows differently on this recording",
                path=path,
                fix="ensemble models with the same sample rate, hop_length and window",
            )
    probs = np.average([p.track.probs for p in parts], axis=0, weights=weights)
    embeddings = None
    if parts[0].embeddings is not None:
        embeddings = np.concatenate([p.embeddings for p in parts if p.embeddings is not None], 1)
    track = ScoreTrack(first.file, first.start_s, first.end_s, probs, first.classes)
    return FileScores(track, embeddings, parts[0].duration_s)


class TwoStage(Wrapper):
    """A target/noise detector over every window, then the classifier only where it fired.

    A detector window fires when its target score (1 − its noise probability) reaches the
    detector's stored threshold for its non-noise class (0.5 when none is stored). The
    classifier scores each of its windows that overlaps a firing detector window; the others get
    the noise class's probability 1 (zeros when the classifier has no noise class) and NaN
    embeddings, and so never become events at any threshold above 0. The outputs are the
    classifier's.
    """

    def __init__(self, detector: Predictor, classifier: Scorer, detector_name: str) -> None:
        noise = [c for c in detector.classes if is_noise(c)]
        if not noise or len(detector.classes) < 2:
            raise BadModel(
                f"a detector needs a noise class and a target class; it has {detector.classes}",
                path=detector_name,
                fix="train it with --task detector",
            )
        super().__init__(classifier)
        self.detector = detector
        self.classifier = classifier
        stored = detector.bundle.thresholds
        targets = [c for c in detector.classes if c != noise[0]]
        self.detector_threshold = (
            float(stored.get(targets[0], DEFAULT_THRESHOLD))
            if len(targets) == 1
            else DEFAULT_THRESHOLD
        )
        self.noise_index = detector.classes.index(noise[0])

    def detections(self, track: ScoreTrack) -> np.ndarray:
        """``(n, 2)`` start/end of the detector's firing windows, overlapping ones merged."""
        fired = (1 - track.probs[:, self.noise_index]) >= self.detector_threshold
        spans: list[list[float]] = []
        for start, end in zip(track.start_s[fired], track.end_s[fired], strict=True):
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], float(end))
            else:
                spans.append([float(start), float(end)])
        return np.asarray(spans, dtype=np.float64).reshape(-1, 2)

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores:
        found = self.detections(self.detector.score_file(path, name).track)

        def overlaps(start_s: float, end_s: float) -> bool:
            # the last detection starting before this window ends: does it reach into it?
            index = int(np.searchsorted(found[:, 0], end_s, side="left")) - 1
            hit = index >= 0 and found[index, 1] > start_s
            return hit and (select is None or select(start_s, end_s))

        return self.classifier.score_file(
            path, name, select=overlaps, latent=latent, on_progress=on_progress
        )


def thresholds_for(
    scorer: Scorer, threshold: float | None, default: float = DEFAULT_THRESHOLD
) -> Mapping[str, float]:
    """One threshold for every class when given, else the model's per-class ones (default 0.5)."""
    if threshold is not None:
        return dict.fromkeys(scorer.classes, threshold)
    stored = scorer.thresholds
    return {c: stored.get(c, default) for c in scorer.classes}
