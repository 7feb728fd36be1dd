"""Prediction logs of crafted score tracks match ANIMAL-SPOT's format (notes §7) line for line."""

from __future__ import annotations

import numpy as np
import pytest

from animal_spot.legacy.logs import (
    data_opts_from_config,
    log_name,
    read_legacy_log,
    write_legacy_log,
)
from animal_spot.prediction.scores import ScoreTrack

from . import FORK_DATA_OPTS

# sr 1000 keeps the times readable: a 2 s window is 2000 samples, so it ends at start + 1.999 s.
DATA_OPTS = {
    "sr": 1000,
    "preemphases": 0.98,
    "n_fft": 256,
    "hop_length": 64,
    "n_freq_bins": 64,
    "fmin": 50,
    "fmax": 450,
    "freq_compression": "linear",
    "min_level_db": -100,
    "ref_level_db": 20,
}
DATA_OPTS_TEXT = (
    "{'sr': 1000, 'preemphases': 0.98, 'n_fft': 256, 'hop_length': 64, 'n_freq_bins': 64, "
    "'fmin': 50, 'fmax': 450, 'freq_compression': 'linear', 'min_level_db': -100, "
    "'ref_level_db': 20}"
)


def binary_track() -> ScoreTrack:
    target = np.array([0.1, 0.8, 0.3, 0.7, 0.2])
    starts = np.arange(5.0)
    return ScoreTrack(
        "/rec/site1.day2.wav",
        starts,
        starts + 2,
        np.stack([1 - target, target], 1),
        ("noise", "target"),
    )


def multi_track() -> ScoreTrack:
    probs = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.1, 0.8, 0.1],
            [0.3, 0.2, 0.5],
            [0.1, 0.7, 0.2],
            [0.1, 0.2, 0.7],
            [0.7, 0.2, 0.1],
            [0.8, 0.1, 0.1],
        ]
    )
    starts = np.arange(7) * 0.25
    return ScoreTrack("/rec/reef.wav", starts, starts + 1, probs, ("Noise", "orca", "seal"))


def write_binary(tmp_path, **kwargs):
    return write_legacy_log(
        binary_track(),
        tmp_path,
        model_path="/models/ANIMAL-SPOT.pk",
        data_opts=DATA_OPTS,
        sequence_len_s=2,
        hop_s=1,
        threshold=0.5,
        n_samples=6500,
        clock=lambda: "12:34:56",
        **kwargs,
    )


def write_multi(tmp_path, threshold=0.6):
    return write_legacy_log(
        multi_track(),
        tmp_path,
        model_path="/models/multi.pk",
        data_opts=DATA_OPTS,
        sequence_len_s=1.0,
        hop_s=0.25,
        threshold=threshold,
        n_samples=2500,
        hop_samples=250,
        classes={"Noise": 0, "orca": 1, "seal": 2},
        min_max_norm=True,
        clock=lambda: "12:34:56",
    )


def test_log_is_named_after_the_audio_file_up_to_its_first_dot():
    assert log_name("/rec/site1.day2.wav") == "site1_predict_output.log"


def test_binary_log_matches_the_notes_line_for_line(tmp_path):
    path = write_binary(tmp_path)
    assert path == tmp_path / "site1_predict_output.log"
    expected = [
        "/rec/site1.day2.wav",
        "Model Path: /models/ANIMAL-SPOT.pk",
        f"dataOpts: {DATA_OPTS_TEXT}",
        "prediction length: 2.0[s], hop length: 1.0[s], threshold: 0.5, "
        "prediction fmin: 50[Hz] prediction fmax: 450[Hz]",
        "class distribution: {'noise': 0, 'target': 1}",
        "Init 0/1-dB-normalization activated",
        "size of the file(samples)=6500",
        "size of hop(samples)=1000",
        "stop time=6",
        "time=0.000-1.999, pred=0, prob=0.1",
        "time=1.000-2.999, pred=1, prob=0.8",
        "time=2.000-3.999, pred=0, prob=0.3",
        "time=3.000-4.999, pred=1, prob=0.7",
        "time=4.000-5.999, pred=0, prob=0.2",
    ]
    assert path.read_text().splitlines() == [f"12:34:56|I|{line}" for line in expected]


def test_multi_class_log_lists_every_output_after_each_window(tmp_path):
    lines = write_multi(tmp_path).read_text().splitlines()
    assert [line[:11] for line in lines] == ["12:34:56|I|"] * len(lines)
    messages = [line[11:] for line in lines]
    assert messages[:9] == [
        "/rec/reef.wav",
        "Model Path: /models/multi.pk",
        f"dataOpts: {DATA_OPTS_TEXT}",
        "prediction length: 1.0[s], hop length: 0.25[s], threshold: 0.6, "
        "prediction fmin: 50[Hz] prediction fmax: 450[Hz]",
        "class distribution: {'Noise': 0, 'orca': 1, 'seal': 2}",
        "Init min-max-normalization activated",
        "size of the file(samples)=2500",
        "size of hop(samples)=250",
        "stop time=10",
    ]
    assert messages[9:19] == [
        "time=0.000-0.999, pred=1, pred_class=Noise-0, prob=0.9",
        "output_layer:",
        "Noise=0.9;",
        "orca=0.05;",
        "seal=0.05;",
        "time=0.250-1.249, pred=1, pred_class=orca-1, prob=0.8",
        "output_layer:",
        "Noise=0.1;",
        "orca=0.8;",
        "seal=0.1;",
    ]
    assert messages[19] == "time=0.500-1.499, pred=0, pred_class=seal-2, prob=0.5"
    assert len(messages) == 9 + 7 * 5


def test_window_end_is_the_last_sample_inside_the_file(tmp_path):
    track = ScoreTrack(
        "a.wav", np.array([0.0]), np.array([2.0]), np.array([[0.4, 0.6]]), ("noise", "target")
    )
    path = write_legacy_log(
        track,
        tmp_path,
        model_path="m.pk",
        data_opts=DATA_OPTS,
        sequence_len_s=2.0,
        hop_s=1.0,
        threshold=0.5,
        n_samples=1500,
    )
    assert path.read_text().splitlines()[-1].endswith("|I|time=0.000-1.499, pred=1, prob=0.6")


def test_a_written_log_reads_back(tmp_path):
    log = read_legacy_log(write_multi(tmp_path))
    assert log.file == "/rec/reef.wav" and log.model_path == "/models/multi.pk"
    assert log.data_opts == DATA_OPTS
    assert (log.sequence_len_s, log.hop_s, log.threshold) == (1.0, 0.25, 0.6)
    assert log.classes == {"Noise": 0, "orca": 1, "seal": 2}
    assert len(log.windows) == 7 and log.duration_s == pytest.approx(2.499)
    fourth = log.windows[4]
    assert (fourth.start_s, fourth.end_s, fourth.pred, fourth.prob) == (1.0, 1.999, 1, 0.7)
    assert (fourth.label, fourth.index) == ("seal", 2)
    assert fourth.probs == {"Noise": 0.1, "orca": 0.2, "seal": 0.7}


def test_logs_with_info_markers_and_one_line_outputs_are_read(tmp_path):
    path = tmp_path / "x_predict_output.log"
    path.write_text(
        "10:00:00|INFO|x.wav\n"
        "10:00:00|INFO|class distribution: {'noise': 0, 'call': 1, 'song': 2}\n"
        "10:00:01|INFO|time=0.0-0.5, pred=1, pred_class=call-1, prob=0.93\n"
        "10:00:01|INFO|output_layer: noise=0.02;call=0.93;song=0.05;\n"
        "some line without a marker\n"
    )
    log = read_legacy_log(path)
    assert log.file == "x.wav"
    assert log.windows[0].probs == {"noise": 0.02, "call": 0.93, "song": 0.05}
    assert log.windows[0].end_s == 0.5


def test_data_opts_from_our_config_use_animal_spot_types():
    from animal_spot.config import AudioConfig, SpectrogramConfig

    opts = data_opts_from_config(AudioConfig(), SpectrogramConfig())
    assert opts == FORK_DATA_OPTS
    assert all(type(opts[k]) is int for k in ("fmin", "fmax", "min_level_db"))


def test_log_options_of_a_pk_bundle_repeat_its_data_opts(tmp_path):
    from animal_spot.bundle import load_model
    from animal_spot.legacy.logs import legacy_log_options

    from .test_models import resnet_pk

    path, *_ = resnet_pk(tmp_path, 18, 2, 1)
    options = legacy_log_options(load_model(path, sequence_len_ms=500, min_max_norm=True))
    assert options["data_opts"]["n_fft"] == 1024 and options["data_opts"]["fmin"] == 500
    assert options["classes"] == {"noise": 0, "target": 1} and options["min_max_norm"] is True
