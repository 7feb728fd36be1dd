"""Learning-rate schedules, read back from the TensorBoard trace of real (tiny) runs."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.training.fit import train

from .conftest import small_config
from .test_fit import scalars


def test_onecycle_learning_rate_rises_then_falls_within_one_epoch(tmp_path, tiny_splits):
    config = small_config(
        tmp_path, "onecycle", max_train_epochs=1, batch_size=2, scheduler="onecycle", lr=1e-4
    )
    result = train(config, tiny_splits)
    lr = np.array(scalars(result.run_dir)["lr-Adam"])
    assert len(lr) == len(tiny_splits["train"]) // 2  # one value per step
    peak = int(lr.argmax())
    assert 0 < peak < len(lr) - 1
    assert np.all(np.diff(lr[: peak + 1]) > 0)
    assert np.all(np.diff(lr[peak:]) < 0)
    # The fork's cycle on the unscaled --lr: starts at lr, peaks near 10 × lr, ends near lr / 100.
    assert lr[0] == pytest.approx(1e-4)
    assert 5e-4 < lr.max() <= 1e-3
    assert lr[-1] < 1e-4 / 10


def test_plateau_halves_the_learning_rate_after_patience_evaluations_without_gain(
    tmp_path, tiny_splits
):
    # A learning rate too small to change the predictions: validation accuracy stays flat.
    config = small_config(
        tmp_path,
        "plateau",
        max_train_epochs=4,
        batch_size=8,
        lr=1e-7,
        lr_patience_epochs=1,
        lr_decay_factor=0.5,
        early_stopping_patience_epochs=1,
    )
    result = train(config, tiny_splits)
    logged = scalars(result.run_dir)
    assert len(set(logged["val/accuracy"])) == 1  # flat, as intended
    steps = len(tiny_splits["train"]) // 8
    per_epoch = np.array(logged["lr-Adam"]).reshape(-1, steps)[:, 0] / (1e-7 * 8)
    # patience 1 evaluation: the 2nd evaluation without gain halves the rate, then it counts anew
    assert per_epoch.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.5])
    # ties count as improvement for early stopping (ANIMAL-SPOT), so flat accuracy never stops it
    assert result.metrics["epochs_run"] == 4
