"""The detector task: every non-noise class becomes ``target``; a 2-class model with AUC."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from animal_spot.data.detector import to_detector
from animal_spot.errors import BadData
from animal_spot.training.fit import train

from .conftest import CALLS, small_config
from .test_fit import scalars


def test_detector_task_trains_a_target_noise_model_and_reports_auc(
    tmp_path, tiny_with_noise_splits
):
    config = small_config(tmp_path, "detector", max_train_epochs=1, task="detector")
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, num_classes=2))
    result = train(config, tiny_with_noise_splits)
    assert result.metrics["classes"] == ["noise", "target"]
    assert 0.0 <= result.metrics["test"]["auc"] <= 1.0
    logged = scalars(result.run_dir)
    assert {"val/auc", "test/auc", "test/per_class_accuracy/target"} <= set(logged)
    content = torch.load(result.model_path, weights_only=True)
    assert content["classes"] == ["noise", "target"]
    assert content["state_dict"]["fc.weight"].shape[0] == 2


def test_detector_mapping_keeps_noise_and_relabels_every_other_class(tiny_with_noise_splits):
    mapped = to_detector(tiny_with_noise_splits)
    for phase, clips in tiny_with_noise_splits.items():
        assert [c.path for c in mapped[phase]] == [c.path for c in clips]
        for before, after in zip(clips, mapped[phase], strict=True):
            assert after.label == ("noise" if before.label == "noise" else "target")


def test_detector_without_a_noise_class_is_a_clear_error(tmp_path, tiny_splits):
    config = small_config(tmp_path, "no_noise", task="detector")
    with pytest.raises(BadData, match="noise"):
        train(config, tiny_splits)


def test_num_classes_that_disagree_with_the_data_name_the_classes(tmp_path, tiny_splits):
    config = small_config(tmp_path, "mismatch")
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, num_classes=5))
    with pytest.raises(BadData, match="--num_classes 5 but the data has 3 classes") as error:
        train(config, tiny_splits)
    assert all(name in str(error.value) for name in CALLS)
