"""The same seed and data give the same metrics and weights; another seed does not."""

from __future__ import annotations

import dataclasses
import json

import torch

from animal_spot.config import AugmentConfig
from animal_spot.training.fit import train

from .conftest import small_config, with_train


def test_the_same_seed_reproduces_metrics_and_weights_exactly(tmp_path, tiny_splits):
    # Every source of randomness on: augmentation, weighted sampling, focal loss, clipping.
    config = small_config(
        tmp_path,
        "first",
        max_train_epochs=2,
        weighted_sampling=True,
        sampling_strategy="inverse_freq",
        loss="focal",
        label_smoothing=0.1,
        grad_clip=1.0,
        lr=2e-5,
    )
    config = dataclasses.replace(config, augment=AugmentConfig(enabled=True))
    first = train(config, tiny_splits)
    second = train(with_train(config, run_name="second"), tiny_splits)
    other_seed = train(with_train(config, run_name="other", seed=1), tiny_splits)

    def saved(result):
        return json.loads((result.run_dir / "metrics.json").read_text())

    assert saved(first) == saved(second)
    weights = torch.load(first.model_path, weights_only=True)["state_dict"]
    again = torch.load(second.model_path, weights_only=True)["state_dict"]
    assert all(torch.equal(weights[k], again[k]) for k in weights)
    other = torch.load(other_seed.model_path, weights_only=True)["state_dict"]
    assert not torch.equal(weights["conv1.weight"], other["conv1.weight"])
