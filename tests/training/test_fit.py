"""A real training run on synthetic calls: accuracy, TensorBoard scalars, metrics.json, model.pt."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from animal_spot.bundle import load_model
from animal_spot.config import load_toml, to_dict
from animal_spot.data.dataset import ClipDataset
from animal_spot.training.fit import TrainResult, train

from .conftest import CALLS, Splits, small_config

PHASES = ("train", "val", "test")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, three_class_splits: Splits) -> TrainResult:
    """ResNet-18 from scratch, 8 epochs of 14 batches of 16 (≈110 steps), default lr 5e-6/clip."""
    config = small_config(
        tmp_path_factory.mktemp("runs"), "small", max_train_epochs=8, batch_size=16
    )
    start = time.perf_counter()
    result = train(config, three_class_splits)
    result.metrics["wall_s"] = time.perf_counter() - start
    return result


def scalars(run_dir: Path) -> dict[str, list[float]]:
    """Every scalar series in the run's TensorBoard event files, by tag."""
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_small_config_reaches_95_percent_test_accuracy(trained):
    test = trained.metrics["test"]
    assert test["accuracy"] >= 0.95, test
    assert test["mean_per_class_accuracy"] >= 0.95, test
    assert trained.metrics["wall_s"] < 300  # about 45 s on one idle core


def test_per_class_accuracy_of_every_phase_is_read_back_from_tensorboard(trained):
    logged = scalars(trained.run_dir)
    for phase in PHASES:
        for name in CALLS:
            assert f"{phase}/per_class_accuracy/{name}" in logged
        assert f"{phase}/mean_per_class_accuracy" in logged
        for name in ("accuracy", "precision", "recall", "f1", "loss"):
            assert f"{phase}/{name}" in logged
    assert len(logged["train/per_class_accuracy/tone"]) == trained.metrics["epochs_run"]
    test = trained.metrics["test"]
    for name in CALLS:
        assert logged[f"test/per_class_accuracy/{name}"][-1] == pytest.approx(
            test[f"per_class_accuracy/{name}"]
        )
    per_class = [test[f"per_class_accuracy/{name}"] for name in CALLS]
    assert test["mean_per_class_accuracy"] == pytest.approx(sum(per_class) / len(CALLS))


def test_learning_rate_is_logged_every_step_and_confusion_matrix_as_image(trained):
    logged = scalars(trained.run_dir)
    steps_per_epoch = 210 // 16  # drop_last
    assert len(logged["lr-Adam"]) == steps_per_epoch * trained.metrics["epochs_run"]
    assert logged["lr-Adam"][0] == pytest.approx(5e-6 * 16)
    events = EventAccumulator(str(trained.run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert {"val/confusion_matrix", "test/confusion_matrix"} <= set(events.Tags()["images"])


def test_metrics_json_holds_the_test_figures_of_the_best_epoch(trained):
    saved = json.loads((trained.run_dir / "metrics.json").read_text())
    assert saved["test"] == pytest.approx(trained.metrics["test"])
    assert saved["classes"] == sorted(CALLS)
    assert saved["epochs_run"] == 8
    assert 0 <= saved["best_epoch"] < 8
    # The test figures are the best epoch's weights, and say so (not the last epoch).
    assert saved["test_epoch"] == saved["best_epoch"] == saved["test"]["epoch"]
    assert scalars(trained.run_dir)["test/epoch"] == [saved["best_epoch"]]
    val_accuracy = scalars(trained.run_dir)["val/accuracy"]
    assert saved["best_val_accuracy"] == pytest.approx(max(val_accuracy))
    # the best epoch is the first to reach the maximum (strictly higher only replaces it)
    assert val_accuracy.index(max(val_accuracy)) == saved["best_epoch"]


def test_model_pt_loads_with_weights_only_and_scores_the_test_split_as_reported(
    trained, three_class_splits
):
    content = torch.load(trained.model_path, weights_only=True)
    assert content["classes"] == sorted(CALLS)
    assert content["config"]["train"]["max_train_epochs"] == 8
    bundle = load_model(trained.model_path)
    assert bundle.classes == sorted(CALLS)
    assert to_dict(bundle.config) == to_dict(load_toml(trained.run_dir / "config.toml"))
    dataset = ClipDataset(
        three_class_splits["test"], bundle.classes, bundle.config.audio, bundle.config.spectrogram
    )
    inputs = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with torch.inference_mode():
        predicted = bundle.model(inputs).argmax(-1)
    accuracy = (predicted == torch.tensor(dataset.labels)).float().mean().item()
    assert accuracy == pytest.approx(trained.metrics["test"]["accuracy"], abs=1e-6)


def test_run_directory_holds_config_checkpoints_and_tensorboard(trained):
    names = {p.name for p in trained.run_dir.iterdir()}
    assert {"model.pt", "config.toml", "metrics.json", "last.ckpt", "best.ckpt"} <= names
    assert "tensorboard" in names
    assert not [name for name in names if name.endswith(".tmp")]


def test_phase_times_and_throughput_are_logged_every_epoch(trained):
    logged = scalars(trained.run_dir)
    epochs = trained.metrics["epochs_run"]
    for tag in ("train/time_s", "train/data_loading_time_s", "train/clips_per_s", "val/time_s"):
        assert len(logged[tag]) == epochs
    rate = 13 * 16 / logged["train/time_s"][0]  # 13 full batches of 16
    assert logged["train/clips_per_s"][0] == pytest.approx(rate, rel=1e-4)
    waits, totals = logged["train/data_loading_time_s"], logged["train/time_s"]
    assert all(0 <= wait < total for wait, total in zip(waits, totals, strict=True))
    assert len(logged["test/clips_per_s"]) == 1


def test_the_config_is_logged_as_tensorboard_hyperparameters(trained):
    import yaml

    hparams = yaml.safe_load((trained.run_dir / "tensorboard" / "hparams.yaml").read_text())
    assert hparams["train"]["max_train_epochs"] == 8
    assert hparams["resolved"]["lr"] == pytest.approx(5e-6 * 16)
