"""Configs validate, round-trip through TOML, and read ANIMAL-SPOT's key=value files."""

from __future__ import annotations

import dataclasses
import re
import typing

import pytest
import torch

import animal_spot.legacy  # noqa: F401  (registers the reader of key=value files tested here)
from animal_spot.config import (
    SECTIONS,
    AudioConfig,
    ExperimentConfig,
    SpectrogramConfig,
    TrainConfig,
    experiment_from_dict,
    frontend_hash,
    load_config,
    load_toml,
    option_name,
    override,
    parse_set_arguments,
    save_toml,
    to_dict,
)
from animal_spot.errors import BadConfig


def test_defaults_follow_the_fork():
    config = ExperimentConfig()
    assert (config.spectrogram.n_fft, config.spectrogram.hop_length) == (1024, 172)
    assert config.spectrogram.sequence_len_ms == 1000
    assert config.audio.sample_rate_hz == 44100
    assert config.model.name == "resnet18"


def test_every_field_has_its_animal_spot_option_name():
    names = {option_name(f) for cls in SECTIONS.values() for f in dataclasses.fields(cls)}
    for legacy in (
        "sr",
        "n_fft",
        "hop_length",
        "sequence_len",
        "fmin",
        "fmax",
        "n_freq_bins",
        "freq_compression",
        "min_max_norm",
        "augmentation",
        "noise_dir",
        "data_dir",
        "cache_dir",
        "backbone",
        "resnet",
        "max_pool",
        "conv_kernel_size",
        "lr",
        "beta1",
        "max_train_epochs",
        "epochs_per_eval",
        "batch_size",
        "num_workers",
        "model_path",
        "input_file",
        "output_dir",
        "hop",
        "threshold",
        "pretrained",
        "weighted_sampling",
        "sampling_strategy",
        "scheduler",
        "label_smoothing",
    ):
        assert legacy in names, legacy


def test_toml_round_trip_gives_the_same_config(tmp_path):
    config = override(
        ExperimentConfig(),
        {
            "spectrogram.n_fft": "4096",
            "train.lr": "3e-4",
            "data.split": "0.8,0.1,0.1",
            "predict.model_path": "a.pt,b.pt",
        },
    )
    path = save_toml(config, tmp_path / "c.toml")
    assert load_config(path) == config


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[spectrogram]\nnfft = 4096\n")
    with pytest.raises(BadConfig, match="did you mean 'n_fft'"):
        load_config(path)
    with pytest.raises(BadConfig, match="unknown key 'spectogram'"):
        experiment_from_dict({"spectogram": {}})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"spectrogram.fmin_hz": "12000"}, "fmin_hz"),
        ({"spectrogram.n_fft": "4.5"}, "not an integer"),
        ({"model.resnet": "20"}, "model.resnet"),
        ({"train.scheduler": "cosine"}, "choose one of"),
        ({"data.split": "0.5,0.5,0.5"}, "sum to 1"),
        ({"spectrogram.min_max_norm": "maybe"}, "not a boolean"),
    ],
)
def test_invalid_values_name_the_field(changes, message):
    with pytest.raises(BadConfig, match=message):
        override(ExperimentConfig(), changes)


def test_set_arguments_parse_and_reject_bad_syntax():
    assert parse_set_arguments(["train.lr=3e-4"]) == {"train.lr": "3e-4"}
    with pytest.raises(BadConfig, match=r"section\.field=value"):
        parse_set_arguments(["lr3e-4"])


def test_frontend_hash_is_stable_and_changes_with_any_frontend_field():
    base = frontend_hash(AudioConfig(), SpectrogramConfig())
    assert base == frontend_hash(AudioConfig(), SpectrogramConfig())
    hints = typing.get_type_hints(SpectrogramConfig)
    for field in dataclasses.fields(SpectrogramConfig):
        value = getattr(SpectrogramConfig(), field.name)
        changed = {
            bool: lambda v: not v,
            int: lambda v: v * 2,
            float: lambda v: v * 0.5 if v > 0 else v - 1,
            str: lambda v, name=field.name: next(  # another choice of the Literal
                c for c in typing.get_args(hints[name]) if c != v
            ),
        }[type(value)](value)
        other = dataclasses.replace(SpectrogramConfig(), **{field.name: changed})
        assert frontend_hash(AudioConfig(), other) != base, field.name
    assert frontend_hash(AudioConfig(sample_rate_hz=22050), SpectrogramConfig()) != base


def test_config_dict_survives_a_weights_only_torch_load(tmp_path):
    torch.save({"config": to_dict(ExperimentConfig())}, tmp_path / "m.pt")
    loaded = torch.load(tmp_path / "m.pt", weights_only=True)
    assert experiment_from_dict(loaded["config"]) == ExperimentConfig()


LEGACY_TRAIN = """\
# ANIMAL-SPOT training config
src_dir=/opt/ANIMAL-SPOT/ANIMAL-SPOT
debug=true
data_dir={data}
max_train_epochs=1
batch_size=16
learning_rate=10e-5
sequence_len=500
n_fft=1024
hop_length=172
max_pool=2
min_max_norm=true
augmentation=true
start_from_scratch=true
jit_save=false
 indented=ignored
"""


def test_legacy_training_file_maps_onto_the_config(tmp_path, caplog):
    path = tmp_path / "train.cfg"
    path.write_text(LEGACY_TRAIN.format(data=tmp_path))
    config = load_config(path)
    assert config.data.data_dir == tmp_path
    assert config.train.max_train_epochs == 1 and config.train.batch_size == 16
    assert config.train.lr == pytest.approx(1e-4)
    assert config.spectrogram.sequence_len_ms == 500 and config.spectrogram.min_max_norm
    assert config.model.max_pool == 2 and config.augment.enabled
    assert config.train.resume is False
    assert "ignoring src_dir" in caplog.text and "ignoring debug" in caplog.text


def test_legacy_placeholder_is_rejected_naming_the_key(tmp_path):
    path = tmp_path / "train.cfg"
    path.write_text("data_dir=/*USER-SPECIFIC-DIRECTORY*/\n")
    with pytest.raises(BadConfig, match=r"train.cfg.*data_dir still holds the placeholder"):
        load_config(path)


def test_legacy_prediction_file_reads_seconds_for_the_window(tmp_path):
    path = tmp_path / "predict.cfg"
    path.write_text(
        "model_path=/m/ANIMAL-SPOT.pk\nsequence_len=0.30\nhop=0.10\nthreshold=0.75\n"
        "batch_size=1\nno_cuda=true\n"
    )
    config = load_config(path)
    assert config.predict.window_s == pytest.approx(0.3) and config.predict.hop_s == 0.1
    assert config.predict.batch_size == 1 and config.predict.threshold == 0.75
    assert config.spectrogram.sequence_len_ms == 1000  # the training window is untouched


def test_train_config_rejects_nonsense_batch_size():
    with pytest.raises(BadConfig, match="batch_size"):
        TrainConfig(batch_size=0)


NUMERIC_FIELDS = [
    (section, f.name)
    for section, cls in SECTIONS.items()
    for f in dataclasses.fields(cls)
    if typing.get_type_hints(cls)[f.name] in (int, float, int | None, float | None)
]


@pytest.mark.parametrize(("section", "name"), NUMERIC_FIELDS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300"])
def test_no_numeric_field_takes_a_non_finite_or_huge_value(section, name, value):
    with pytest.raises(BadConfig, match=f"{section}.{name}"):
        override(ExperimentConfig(), {f"{section}.{name}": value})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train.lr": "0"}, "train.lr"),
        ({"train.lr_decay_factor": "0"}, "lr_decay_factor"),
        ({"train.num_workers": "-1"}, "num_workers"),
        ({"predict.hop_s": "nan"}, "predict.hop_s"),
        ({"predict.device": "gpu"}, "predict.device"),
        ({"data.split": "0,0.5,0.5"}, "train above 0"),
        ({"data.split": "nan,0.5,0.5"}, "data.split"),
        ({"audio.sample_rate_hz": "8000"}, "Nyquist"),
    ],
)
def test_ranges_are_checked_where_the_config_is_made(changes, message):
    with pytest.raises(BadConfig, match=message):
        override(ExperimentConfig(), changes)


def test_a_decay_factor_of_one_and_a_cuda_index_are_accepted():
    config = override(
        ExperimentConfig(), {"train.lr_decay_factor": "1", "predict.device": "cuda:1"}
    )
    assert (config.train.lr_decay_factor, config.predict.device) == (1.0, "cuda:1")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[train]\nlr = "fast"\n', "lr = 'fast' must be a number, not str"),
        ('[train]\nlr = "3e-4"\n', "lr = '3e-4' must be a number, not str"),
        ("[train]\nbatch_size = 1.5\n", "batch_size = 1.5 must be an integer, not float"),
        ("[train]\nepochs_per_eval = { a = 1 }\n", "epochs_per_eval"),
        ("[train]\naugment = 1\n", "unknown key"),
        ('[data]\nsplit = "0.7,0.15,0.15"\n', "split = '0.7,0.15,0.15' must be a list"),
        ("[model]\npretrained = 3\n", "pretrained = 3 must be a string"),
        ("spectrogram = 3\n", "must be a table"),
    ],
)
def test_a_toml_value_of_the_wrong_type_is_refused_naming_the_key(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(BadConfig, match=re.escape(message)):
        load_toml(path)


def test_toml_keeps_numbers_typed_and_accepts_an_integer_for_a_float(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlr = 1\nbatch_size = 4\n[data]\nsplit = [0.8, 0.1, 0.1]\n")
    config = load_toml(path)
    assert (config.train.lr, config.train.batch_size) == (1.0, 4)
    assert config.data.split == (0.8, 0.1, 0.1)
