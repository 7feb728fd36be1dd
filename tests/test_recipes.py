"""Recipes fill in recommended values and never undo a value the user gave."""

from __future__ import annotations

import pytest

from animal_spot.cli import build_parser
from animal_spot.cli_options import config_from_args
from animal_spot.config import ExperimentConfig
from animal_spot.errors import BadConfig
from animal_spot.recipes import RECIPES, apply_recipe


def parsed(*argv: str) -> ExperimentConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


@pytest.mark.parametrize("name", RECIPES.names())
def test_every_recipe_gives_a_valid_config_that_trains_over_recorder_gains(name):
    config = apply_recipe(ExperimentConfig(), name)
    assert config.augment.is_active and config.augment.spec_augment
    assert config.augment.gain_db[0] <= -12 and config.augment.gain_db[1] >= 12
    assert config.augment.pitch_shift_probability == 0


def test_the_detector_recipe_scales_its_time_shift_with_the_window():
    config = parsed("--recipe", "detector", "--sequence_len", "2000")
    assert config.train.task == "detector"
    assert config.augment.time_shift_s == pytest.approx(0.5)
    assert config.augment.mix_noise_clips
    assert config.spectrogram.normalization == "pcen"


def test_flags_and_set_values_win_over_the_recipe():
    config = parsed(
        "--recipe", "detector", "--normalization", "db", "--set", "augment.spec_augment=false"
    )
    assert config.spectrogram.normalization == "db"
    assert not config.augment.spec_augment
    assert config.augment.mix_noise_clips  # what was not given comes from the recipe


def test_toml_keys_win_over_the_recipe(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text("[augment]\nspec_augment = false\n[spectrogram]\nsequence_len_ms = 1000\n")
    config = parsed("--recipe", "detector", "--config", str(path))
    assert not config.augment.spec_augment
    assert config.augment.time_shift_s == pytest.approx(0.25)


def test_a_recipe_with_a_legacy_config_file_is_a_clear_error(tmp_path):
    path = tmp_path / "train.cfg"
    path.write_text("sequence_len=500\n")
    with pytest.raises(BadConfig, match="TOML"):
        parsed("--recipe", "classifier", "--config", str(path))


def test_an_unknown_recipe_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--recipe", "detectr"])
    assert "detector" in capsys.readouterr().err
