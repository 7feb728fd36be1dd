"""The test split's worst mistakes: confident false positives and missed calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..conventions import noise_index
from .scoring import SplitScores

MAX_CASES = 8


@dataclass(frozen=True)
class Mistake:
    """One misclassified test clip, with the score that ranks it."""

    index: int
    true_class: str
    predicted_class: str
    score: float  # false positive: the predicted class's score; false negative: the true one's


def _noise_index(classes: list[str]) -> int | None:
    return noise_index(classes)


def worst_mistakes(
    scores: SplitScores, limit: int = MAX_CASES
) -> tuple[list[Mistake], list[Mistake]]:
    """(false positives, false negatives), worst first, at most ``limit`` of each.

    A false positive is a clip given a class it is not, ranked by that class's score (most
    confident first); a false negative is a clip whose class was missed, ranked by its true
    class's score (lowest first). With a noise class, a clip predicted as noise is no false
    positive and a noise clip is no false negative.
    """
    predicted, labels = scores.predicted, scores.labels
    wrong = np.flatnonzero(predicted != labels)
    noise = _noise_index(scores.classes)
    fp = [i for i in wrong if predicted[i] != noise]
    fn = [i for i in wrong if labels[i] != noise]
    fp.sort(key=lambda i: -scores.scores[i, predicted[i]])
    fn.sort(key=lambda i: scores.scores[i, labels[i]])

    def mistake(i: int, column: int) -> Mistake:
        return Mistake(
            index=int(i),
            true_class=scores.classes[labels[i]],
            predicted_class=scores.classes[predicted[i]],
            score=float(scores.scores[i, column]),
        )

    return (
        [mistake(i, int(predicted[i])) for i in fp[:limit]],
        [mistake(i, int(labels[i])) for i in fn[:limit]],
    )
