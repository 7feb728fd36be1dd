"""``--cascade``: half-overlapping windows first, the windows between them only near calls.

With windows of length W at a hop H, ``k = ⌊W / H⌋`` windows cover each instant. The first
pass scores every ``⌊k / 2⌋``-th window (exactly, as the exact path does), so that each instant
still lies in two of them and a call up to W / 2 long lies whole inside one: a call cut in
half by the edge of a window that merely tiles the recording scores too low to be noticed.
A first-pass window whose best non-noise score reaches ``candidate_threshold`` is a
candidate, and the second pass scores every window overlapping a candidate. Windows near no
candidate get, per class, scores interpolated between the first-pass windows around them (and
NaN embeddings).

Unlike ``--fast`` the scores near calls are the exact path's own, so the events are the exact
path's wherever the first pass notices the call. It saves up to ``⌊k / 2⌋``× the model's work
on quiet audio, nothing where calls are dense, and nothing at all below 4 windows per instant
(the defaults, 1 s windows at a 0.5 s hop, have 2). A recording is read twice.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..conventions import is_noise
from .pipeline import Scorer, Wrapper
from .predictor import FileScores, Progress, Select
from .scores import ScoreTrack

log = logging.getLogger(__name__)
CANDIDATE_THRESHOLD = 0.05
_EPS = 1e-6


class Cascade(Wrapper):
    """A Scorer that scores a window grid coarse to fine; answers like the scorer it wraps."""

    def __init__(
        self,
        scorer: Scorer,
        *,
        window_s: float,
        hop_s: float,
        candidate_threshold: float = CANDIDATE_THRESHOLD,
    ) -> None:
        super().__init__(scorer)
        self.scorer = scorer
        self.window_s = window_s
        self.hop_s = hop_s
        self.step = max(1, int(window_s / hop_s + _EPS) // 2)  # windows per instant / 2
        if self.step == 1:
            log.warning(
                "--cascade saves nothing with %.2f s windows at a %.2f s hop: it needs 4 windows "
                "over each instant (hop ≤ window / 4); every window is scored",
                window_s,
                hop_s,
            )
        self.candidate_threshold = candidate_threshold
        noise = [i for i, c in enumerate(self.classes) if is_noise(c)]
        self.target_columns = [i for i in range(len(self.classes)) if i not in noise] or list(
            range(len(self.classes))
        )

    def is_coarse(self, start_s: float) -> bool:
        """Every ``step``-th window (window starts sit on STFT frames, near ``i · hop``)."""
        return round(start_s / self.hop_s) % self.step == 0

    def score_file(
        self,
        path: str | Path,
        name: str | None = None,
        *,
        select: Select | None = None,
        latent: bool = False,
        on_progress: Progress | None = None,
    ) -> FileScores:
        def coarse(start_s: float, end_s: float) -> bool:
            return self.is_coarse(start_s) and (select is None or select(start_s, end_s))

        first = self.scorer.score_file(
            path, name, select=coarse, latent=latent, on_progress=on_progress
        )
        track = first.track
        if not len(track):
            return first
        starts = track.start_s
        wanted = np.array(
            [select is None or select(s, e) for s, e in zip(starts, track.end_s, strict=True)],
            dtype=bool,
        )
        scored = wanted & np.array([self.is_coarse(s) for s in starts], dtype=bool)
        candidates = starts[scored & self.is_candidate(track.probs)]
        near = np.zeros(len(starts), dtype=bool)
        for start in candidates:  # windows overlapping a candidate
            near |= np.abs(starts - start) < self.window_s - _EPS
        fine = near & wanted & ~scored
        probs = track.probs.copy()
        embeddings = None if first.embeddings is None else first.embeddings.copy()
        if fine.any():
            keys = {round(s / _EPS) for s in starts[fine]}

            def chosen(start_s: float, end_s: float) -> bool:
                return round(start_s / _EPS) in keys

            second = self.scorer.score_file(path, name, select=chosen, latent=latent)
            probs[fine] = second.track.probs[fine]
            if embeddings is not None and second.embeddings is not None:
                embeddings[fine] = second.embeddings[fine]
        rest = wanted & ~scored & ~fine
        if rest.any() and scored.any():
            for column in range(probs.shape[1]):
                probs[rest, column] = np.interp(
                    starts[rest], starts[scored], track.probs[scored, column]
                )
        result = ScoreTrack(track.file, track.start_s, track.end_s, probs, track.classes)
        return FileScores(result, embeddings, first.duration_s)

    def is_candidate(self, probs: np.ndarray) -> np.ndarray:
        """Windows whose best non-noise score reaches the candidate threshold."""
        return probs[:, self.target_columns].max(axis=1) >= self.candidate_threshold
