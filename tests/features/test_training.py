"""train() with --backbone birdnet: a head on cached embeddings, its run folder and model.pt."""

from __future__ import annotations

import dataclasses
import json
import math

import torch

from animal_spot.bundle import load_model
from animal_spot.cli import main
from animal_spot.data.manifest import write_manifest
from animal_spot.models import EmbeddingHead
from animal_spot.training.fit import train
from tests.features.conftest import birdnet_config, require_birdnet

require_birdnet()  # the extractor's tests skip without the birdnet extra


def test_a_head_on_birdnet_embeddings_tells_a_tone_from_noise_far_above_chance(birdnet_run):
    test = birdnet_run.metrics["test"]
    assert test["accuracy"] >= 0.875  # 8 test clips, chance 0.5
    assert test["loss"] < math.log(2)  # below the loss of a uniform guess
    run_dir = birdnet_run.run_dir
    assert json.loads((run_dir / "metrics.json").read_text())["classes"] == ["noise", "tone"]
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))


def test_the_birdnet_model_pt_loads_with_weights_only_and_holds_only_the_head(birdnet_run):
    content = torch.load(birdnet_run.model_path, map_location="cpu", weights_only=True)
    assert content["config"]["model"]["backbone"] == "birdnet"
    assert sorted(content["state_dict"]) == ["fc.bias", "fc.weight"]
    assert content["state_dict"]["fc.weight"].shape == (2, 1024)
    assert birdnet_run.model_path.stat().st_size < 100_000  # BirdNET itself is not inside
    bundle = load_model(birdnet_run.model_path)
    assert isinstance(bundle.model, EmbeddingHead)
    assert bundle.classes == ["noise", "tone"]
    with torch.no_grad():
        assert bundle.model(torch.zeros(3, 1, 1024, 1)).shape == (3, 2)


def test_a_second_run_on_the_same_clips_reads_every_embedding_from_the_cache(
    birdnet_run, birdnet_splits, extractor
):
    root, splits = birdnet_splits
    done = extractor.n_chunks
    config = birdnet_config(root / "runs", "hidden", head_hidden=16)
    result = train(config, splits)
    assert extractor.n_chunks == done  # BirdNET did not run again
    assert result.metrics["test"]["accuracy"] >= 0.75
    state = load_model(result.model_path).model.state_dict()
    assert state["hidden.1.weight"].shape == (16, 1024)


def test_the_cli_trains_a_birdnet_head_from_a_prepared_folder(birdnet_splits, extractor, capsys):
    root, splits = birdnet_splits
    data_dir = root / "prepared"
    for phase, clips in splits.items():
        write_manifest(clips, data_dir / f"{phase}.csv")
    done = extractor.n_chunks
    code = main(
        [
            "train", "--data_dir", str(data_dir), "--model_dir", str(root / "runs"),
            "--run_name", "cli", "--cache_dir", str(root / "runs" / "cache"),
            "--backbone", "birdnet", "--sr", "16000", "--n_fft", "256", "--hop_length", "128",
            "--fmin", "200", "--fmax", "7000", "--n_freq_bins", "32", "--max_train_epochs", "3",
            "--time_expansion", "1", "--waveform_normalization", "none",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (root / "runs" / "cli" / "model.pt").is_file()
    assert extractor.n_chunks == done  # same embeddings as the fixture's run: all cached


def test_a_resumed_birdnet_run_ends_with_the_weights_of_one_never_stopped(birdnet_splits):
    root, splits = birdnet_splits
    # Without dropout: its masks come from torch's global generator, which a DataLoader
    # iterator also draws from, and in a resumed fit's first epoch that draw and EpochSeed come
    # in another order; with dropout the resumed weights differ by ~1e-3 (same best epoch).
    base = birdnet_config(root / "runs", "straight", head_dropout=0.0)

    def epochs(config, n, **train_options):
        options = {"max_train_epochs": n, "early_stopping_patience_epochs": 100, **train_options}
        return dataclasses.replace(config, train=dataclasses.replace(config.train, **options))

    straight = train(epochs(base, 4), splits)
    stopped = dataclasses.replace(base, train=dataclasses.replace(base.train, run_name="resumed"))
    train(epochs(stopped, 2), splits)
    resumed = train(epochs(stopped, 4, resume=True), splits)
    assert resumed.metrics["epochs_run"] == straight.metrics["epochs_run"] == 4
    for key, value in load_model(straight.model_path).model.state_dict().items():
        torch.testing.assert_close(load_model(resumed.model_path).model.state_dict()[key], value)
