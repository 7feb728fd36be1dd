"""The scorers of one model, and those that wrap another scorer, answer through one base each."""

from __future__ import annotations

import pytest

from animal_spot.prediction.cascade import Cascade
from animal_spot.prediction.pipeline import OneModel, Single, TwoStage, Wrapper
from animal_spot.prediction.shared import FastEnsemble, SharedOverlap


@pytest.mark.parametrize(
    ("scorer", "base"),
    [
        (Single, OneModel),
        (SharedOverlap, OneModel),
        (Cascade, Wrapper),
        (TwoStage, Wrapper),
        (FastEnsemble, Wrapper),
    ],
)
def test_each_scorer_takes_classes_band_and_thresholds_from_its_base(scorer, base):
    assert issubclass(scorer, base)
    assert not {"band_hz", "thresholds"} & set(vars(scorer))


class _Inner:
    def __init__(self) -> None:
        self.classes = ("noise", "call")
        self.band_hz = (200.0, 7000.0)
        self.thresholds = {"call": 0.7}


def test_a_wrapper_answers_with_the_scorer_it_wraps():
    wrapper = Wrapper(_Inner())
    assert wrapper.classes == ("noise", "call")
    assert wrapper.band_hz == (200.0, 7000.0) and wrapper.thresholds == {"call": 0.7}
