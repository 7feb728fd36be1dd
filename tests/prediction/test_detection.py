"""A model trained here on synthetic clips finds every call of a 10-minute recording, no more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from animal_spot.annotations.raven import read_table
from animal_spot.config import PredictConfig
from animal_spot.prediction.api import predict
from animal_spot.synthetic import synthesize_recording
from tests.prediction.conftest import SMALL_SPECTROGRAM, train_tone_model

HOP_S = 0.25
WINDOW_S = SMALL_SPECTROGRAM.sequence_len_ms / 1000
# A correct model may fire on any window holding part of a call, or only on windows holding all
# of it; with centre spans either puts a boundary within half a window plus half a hop of the
# call's (never one hop: that bound failed on a machine whose model fired a little earlier).
BOUNDARY_TOLERANCE_S = WINDOW_S / 2 + HOP_S / 2
DURATION_S = 600.0
QUIET_FROM_S = 480.0  # the last two minutes hold noise only
# 24 tones of 0.3–0.45 s at irregular times (never on the window grid) in the first 8 minutes
CALLS = [
    (round(7.3 + 19.7 * i + 0.37 * (i % 5), 2), 0.3 + 0.05 * (i % 4), "tone") for i in range(24)
]


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, one_thread) -> Path:
    """The tone detector, trained on one thread: the same model on every machine and load."""
    return train_tone_model(tmp_path_factory.mktemp("trained"))


def test_every_call_is_found_near_its_boundaries_and_nothing_in_pure_noise(trained_model, tmp_path):
    assert CALLS[-1][0] + 1 < QUIET_FROM_S
    recording = synthesize_recording(tmp_path / "night.wav", DURATION_S, CALLS, seed=1)
    config = PredictConfig(
        model_path=(trained_model,), input_file=recording, output_dir=tmp_path / "out", hop_s=HOP_S
    )
    result = predict(config, progress=False)
    events = read_table(tmp_path / "out" / "night.selections.txt")
    assert result.n_events == len(events)
    starts = np.array([e.start_s for e in events])
    for start_s, length_s, _ in CALLS:
        nearest = int(np.abs(starts - start_s).argmin())
        event = events[nearest]
        assert event.label == "tone"
        assert abs(event.start_s - start_s) <= BOUNDARY_TOLERANCE_S, (start_s, event)
        assert abs(event.end_s - (start_s + length_s)) <= BOUNDARY_TOLERANCE_S, (start_s, event)
    assert len(events) == len(CALLS)  # nothing found between the calls
    assert all(e.end_s < QUIET_FROM_S for e in events)  # nor in the two quiet minutes
