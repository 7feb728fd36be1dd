"""The three ANIMAL-SPOT templates (§9), filled in, parse into the configs they mean."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from animal_spot.config import load_config
from animal_spot.errors import BadConfig
from animal_spot.legacy.config_file import read_legacy_config

TRAIN_TEMPLATE = """\
#############################################
# ANIMAL-SPOT training config: fill in every /*USER-SPECIFIC-DIRECTORY*/
#############################################
src_dir=/*USER-SPECIFIC-DIRECTORY*/ANIMAL-SPOT
debug=true
data_dir={root}/data
cache_dir={root}/cache
model_dir={root}/model
checkpoint_dir={root}/checkpoints
log_dir={root}/logs
summary_dir={root}/summaries
noise_dir={root}/noise
start_from_scratch=true
jit_save=false
max_train_epochs=1
epochs_per_eval=2
batch_size=16
num_workers=8
no_cuda=false
lr=10e-5
beta1=0.5
lr_patience_epochs=8
lr_decay_factor=0.5
early_stopping_patience_epochs=20
filter_broken_audio=true
sequence_len=500
freq_compression=linear
n_freq_bins=256
n_fft=1024
hop_length=172
sr=44100
augmentation=true
resnet=18
conv_kernel_size=7
num_classes=2
max_pool=2
min_max_norm=true
fmin=500
fmax=10000
"""

PREDICT_TEMPLATE = """\
# ANIMAL-SPOT prediction config
src_dir=/*USER-SPECIFIC-DIRECTORY*/ANIMAL-SPOT
model_path={root}/model/ANIMAL-SPOT.pk
log_dir={root}/logs
output_dir={root}/predictions
sequence_len=0.30
hop=0.10
threshold=0.75
batch_size=1
num_workers=1
no_cuda=true
visualize=false
jit_load=false
min_max_norm=false
latent_extract=true
input_file={root}/audio
debug=true
"""

EVALUATION_TEMPLATE = """\
# ANIMAL-SPOT evaluation config
prediction_dir={root}/predictions
output_dir={root}/annotations
threshold=0.85
noise_in_anno=false
"""

# Every option of the notes' tables with a value: main.py (§6) and the fork (§11), predict.py (§7).
MAIN_OPTIONS = """
debug=true start_from_scratch=true jit_save=true no_cuda=true data_dir={dir} model_dir={dir}
checkpoint_dir={dir} summary_dir={dir} cache_dir={dir} log_dir={dir} noise_dir={dir}
max_train_epochs=3 epochs_per_eval=1 batch_size=4 num_workers=2 lr=1e-5 learning_rate=1e-5
beta1=0.9 lr_patience_epochs=4 lr_decay_factor=0.5 early_stopping_patience_epochs=10
sequence_len=500 freq_compression=mel sr=48000 fmin=100 fmax=9000 n_freq_bins=128 n_fft=2048
hop_length=256 augmentation=true filter_broken_audio=true min_max_norm=true resnet=34
conv_kernel_size=5 num_classes=3 max_pool=0 src_dir={dir} backbone=convnext pretrained=true
weighted_sampling=true sampling_strategy=inverse_freq rare_class_boost=1.5 label_smoothing=0.1
scheduler=onecycle
"""
PREDICT_OPTIONS = """
model_path={dir}/m.pk checkpoint_path={dir} log_dir={dir} output_dir={dir} sequence_len=0.5
hop=0.25 threshold=0.6 batch_size=4 num_workers=2 no_cuda=true visualize=true jit_load=true
min_max_norm=true latent_extract=true input_file={dir} debug=true src_dir={dir}
"""


def fill(tmp_path: Path, name: str, template: str) -> Path:
    path = tmp_path / name
    path.write_text(template.format(root=tmp_path))
    return path


def test_training_template_gives_the_training_config(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        legacy = read_legacy_config(fill(tmp_path, "train.cfg", TRAIN_TEMPLATE))
    config = legacy.config
    assert legacy.kind == "train" and legacy.extra == {}
    assert config.data.data_dir == tmp_path / "data" and config.data.cache_dir == tmp_path / "cache"
    assert config.data.filter_broken_audio
    assert config.train.model_dir == tmp_path / "model"
    assert config.augment.noise_dir == tmp_path / "noise" and config.augment.enabled
    train = config.train
    assert (train.max_train_epochs, train.epochs_per_eval, train.batch_size) == (1, 2, 16)
    assert train.num_workers == 8 and train.lr == pytest.approx(1e-4) and train.beta1 == 0.5
    assert (train.lr_patience_epochs, train.lr_decay_factor) == (8, 0.5)
    assert train.early_stopping_patience_epochs == 20 and train.resume is False
    spec = config.spectrogram
    assert (spec.sequence_len_ms, spec.n_fft, spec.hop_length, spec.n_freq_bins) == (
        500,
        1024,
        172,
        256,
    )
    assert (spec.freq_compression, spec.min_max_norm, spec.fmin_hz, spec.fmax_hz) == (
        "linear",
        True,
        500,
        10000,
    )
    assert config.audio.sample_rate_hz == 44100
    model = config.model
    assert (model.name, model.conv_kernel_size, model.num_classes, model.max_pool) == (
        "resnet18",
        7,
        2,
        2,
    )
    assert set(legacy.ignored) == {"src_dir", "debug", "log_dir"}
    assert config.train.summary_dir == tmp_path / "summaries"  # TensorBoard also goes there
    assert config.train.checkpoint_dir == tmp_path / "checkpoints"  # and the checkpoints
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 3 and all("\n" not in w and "ignoring" in w for w in warnings)


def test_prediction_template_gives_the_prediction_config(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        legacy = read_legacy_config(fill(tmp_path, "predict.cfg", PREDICT_TEMPLATE))
    predict = legacy.config.predict
    assert legacy.kind == "predict" and legacy.extra == {}
    assert predict.model_path == (tmp_path / "model" / "ANIMAL-SPOT.pk",)
    assert predict.input_file == tmp_path / "audio"
    assert predict.output_dir == tmp_path / "predictions"
    assert (predict.window_s, predict.hop_s, predict.threshold) == (0.3, 0.1, 0.75)
    assert (predict.batch_size, predict.num_workers, predict.latent_extract) == (1, 1, True)
    assert getattr(predict, "device", "cpu") == "cpu"  # no_cuda
    assert legacy.config.spectrogram.sequence_len_ms == 1000  # the training window is untouched
    assert predict.min_max_norm is False  # absent in predict.py = off
    assert set(legacy.ignored) == {"src_dir", "log_dir", "debug"}
    assert caplog.text.count("ignoring") == 3


def test_evaluation_template_is_read_without_warnings(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        legacy = read_legacy_config(fill(tmp_path, "eval.cfg", EVALUATION_TEMPLATE))
    assert legacy.kind == "evaluate"
    assert legacy.values["prediction_dir"] == str(tmp_path / "predictions")
    predict = legacy.config.predict
    assert predict.output_dir == tmp_path / "annotations"
    assert predict.threshold == 0.85 and predict.noise_in_anno is False
    assert legacy.ignored == {} and legacy.extra == {} and caplog.text == ""


@pytest.mark.parametrize(
    ("kind", "options"), [("train", MAIN_OPTIONS), ("predict", PREDICT_OPTIONS)]
)
def test_every_option_of_the_notes_is_honoured_or_named_as_ignored(tmp_path, kind, options):
    path = tmp_path / f"{kind}.cfg"
    path.write_text(options.format(dir=tmp_path).strip().replace(" ", "\n") + "\n")
    legacy = read_legacy_config(path, kind=kind)
    assert legacy.extra == {}
    config = legacy.config
    if kind == "train":
        assert config.model.backbone == "convnext" and config.model.pretrained == "hub"
        assert config.spectrogram.freq_compression == "mel" and config.audio.sample_rate_hz == 48000
        assert config.train.weighted_sampling and config.train.scheduler == "onecycle"
        assert config.train.rare_class_boost == 1.5 and config.spectrogram.sequence_len_ms == 500
        assert config.train.resume is False and config.data.filter_broken_audio
        assert set(legacy.ignored) == {
            "debug",
            "jit_save",
            "no_cuda",
            "log_dir",
            "src_dir",
        }
        assert config.train.summary_dir is not None
    else:
        assert config.predict.hop_s == 0.25 and config.predict.window_s == 0.5
        assert config.predict.latent_extract and config.predict.threshold == 0.6
        assert config.predict.min_max_norm is True and config.predict.visualize
        assert config.predict.jit_load  # model_path then names a TorchScript file
        assert set(legacy.ignored) == {
            "checkpoint_path",
            "log_dir",
            "debug",
            "src_dir",
        }


def test_unknown_keys_are_named_in_a_warning_and_left_out(tmp_path, caplog):
    path = tmp_path / "train.cfg"
    path.write_text("n_fft=2048\nfancy_option=3\n")
    with caplog.at_level(logging.WARNING):
        legacy = read_legacy_config(path)
    assert legacy.extra == {"fancy_option": "3"} and legacy.config.spectrogram.n_fft == 2048
    assert "ignoring fancy_option (not an ANIMAL-SPOT option)" in caplog.text


def test_a_placeholder_left_in_a_used_key_is_an_error_but_not_in_an_ignored_one(tmp_path):
    path = tmp_path / "train.cfg"
    path.write_text("src_dir=/*USER-SPECIFIC-DIRECTORY*/\nlog_dir=/*USER-SPECIFIC-DIRECTORY*/\n")
    assert load_config(path).data.data_dir is None
    path.write_text("model_dir=/*USER-SPECIFIC-DIRECTORY*/\n")
    with pytest.raises(BadConfig, match="model_dir still holds the placeholder"):
        load_config(path)


def test_a_training_file_without_start_from_scratch_resumes_as_animal_spot_did(tmp_path):
    for text, expected in (
        ("", True),
        ("start_from_scratch=false\n", True),
        ("start_from_scratch=true\n", False),
    ):
        path = tmp_path / "train.cfg"
        path.write_text(f"max_train_epochs=3\n{text}")
        assert read_legacy_config(path).config.train.resume is expected


def test_a_value_holding_an_equals_sign_keeps_everything_after_the_first(tmp_path):
    path = tmp_path / "train.cfg"
    path.write_text("data_dir=/data/run=3/clips\nmodel_dir=/models/a=b=c\n")
    config = read_legacy_config(path).config
    assert config.data.data_dir == Path("/data/run=3/clips")
    assert config.train.model_dir == Path("/models/a=b=c")


def test_a_folder_or_a_utf16_file_as_legacy_config_is_bad_config(tmp_path):
    with pytest.raises(BadConfig, match="is a folder"):
        read_legacy_config(tmp_path)
    path = tmp_path / "train.cfg"
    path.write_text("lr=1e-4\n", encoding="utf-16")
    with pytest.raises(BadConfig, match="not UTF-8"):
        read_legacy_config(path)
