"""Predictor: streamed scoring equals scoring each window alone from the whole file in memory."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from animal_spot import audio
from animal_spot.bundle import load_model
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.runtime import native_bf16, use_bf16
from tests.conftest import write_wav
from tests.prediction.conftest import SMALL_SPECTROGRAM

CALLS = [(2.0, 0.4, 1000.0), (7.3, 0.3, 2500.0), (12.9, 0.45, 1800.0)]


@pytest.fixture
def recording(tmp_path):
    return write_wav(tmp_path / "rec.wav", 20.37, sample_rate_hz=8000, calls=CALLS)


def test_streaming_in_blocks_equals_scoring_each_window_alone_from_the_whole_file(
    make_model, recording
):
    predictor = Predictor(load_model(make_model()), hop_s=0.25, batch_size=7, block_s=1.3)
    streamed = predictor.score_file(recording).track
    whole = predictor.score_samples(audio.read(recording)).track
    assert len(streamed) == len(whole) == 81  # 80 regular windows and one ending at the end
    np.testing.assert_array_equal(streamed.start_s, whole.start_s)
    np.testing.assert_array_equal(streamed.end_s, whole.end_s)
    np.testing.assert_allclose(streamed.probs, whole.probs, atol=1e-6)
    assert streamed.end_s[-1] == pytest.approx(20.37, abs=128 / 8000)


def test_streaming_stays_exact_with_min_max_norm_and_another_window_and_hop(make_model, recording):
    spectrogram = dataclasses.replace(SMALL_SPECTROGRAM, min_max_norm=True)
    bundle = load_model(make_model(spectrogram=spectrogram))
    # 0.7 s windows are cropped to the trained 31 frames, hop 0.33 s is no whole frame count
    predictor = Predictor(bundle, window_s=0.7, hop_s=0.33, batch_size=16, block_s=2.0)
    streamed = predictor.score_file(recording).track
    whole = predictor.score_samples(audio.read(recording)).track
    np.testing.assert_allclose(streamed.probs, whole.probs, atol=1e-6)
    hop_frames = 0.33 * 8000 / 128
    expected = [round(i * hop_frames) * 128 / 8000 for i in range(5)]
    assert streamed.start_s[:5] == pytest.approx(expected)  # rounded to frames, real times


def test_a_recording_shorter_than_one_window_is_scored_once_padded(make_model, tmp_path):
    short = write_wav(tmp_path / "short.wav", 0.2, sample_rate_hz=8000)
    predictor = Predictor(load_model(make_model()))
    track = predictor.score_file(short).track
    assert len(track) == 1
    assert track.start_s[0] == 0
    assert track.probs.sum() == pytest.approx(1.0)


def test_a_recording_at_another_rate_is_resampled_on_the_fly(make_model, tmp_path):
    fast = write_wav(tmp_path / "fast.wav", 5.0, sample_rate_hz=22050, calls=CALLS[:1])
    predictor = Predictor(load_model(make_model()), hop_s=0.25, block_s=1.0)
    streamed = predictor.score_file(fast).track
    whole = predictor.score_samples(audio.read(fast, 8000)).track
    assert len(streamed) == len(whole)
    np.testing.assert_allclose(streamed.probs, whole.probs, atol=1e-3)


def test_embeddings_are_the_penultimate_layer_of_every_window(make_model, recording):
    bundle = load_model(make_model())
    predictor = Predictor(bundle, hop_s=0.5, precision="32")  # auto is bf16 on some CPUs
    scores = predictor.score_file(recording, "rec.wav", latent=True)
    assert scores.embeddings.shape == (len(scores.track), 512)
    first = next(iter(predictor.reference_batches(audio.read(recording)))).x[:1]
    with torch.inference_mode():
        expected = bundle.model.embed(first.contiguous(memory_format=torch.channels_last))
    np.testing.assert_allclose(scores.embeddings[0], expected[0].numpy(), atol=1e-5)


def test_bf16_is_chosen_only_where_the_cpu_has_it_or_when_forced(monkeypatch):
    cpu = torch.device("cpu")
    assert use_bf16("auto", cpu) == native_bf16()
    assert use_bf16("bf16", cpu)
    assert not use_bf16("32", cpu)
    monkeypatch.setenv("ANIMAL_SPOT_NATIVE_BF16", "1")  # as on a CPU with AMX or AVX-512 BF16
    assert use_bf16("auto", cpu) and not use_bf16("32", cpu)
    monkeypatch.setenv("ANIMAL_SPOT_NATIVE_BF16", "0")
    assert not use_bf16("auto", cpu) and use_bf16("bf16", cpu)


def test_forced_bf16_scores_stay_close_to_fp32(make_model, recording):
    path = make_model()
    exact = Predictor(load_model(path), precision="32").score_file(recording).track
    rough = Predictor(load_model(path), precision="bf16").score_file(recording).track
    assert np.abs(exact.probs - rough.probs).max() < 0.05


def test_a_background_reader_thread_gives_the_same_scores(make_model, recording):
    path = make_model()
    plain = Predictor(load_model(path), hop_s=0.25).score_file(recording).track
    threaded = Predictor(load_model(path), hop_s=0.25, num_workers=1, batch_size=5)
    np.testing.assert_allclose(threaded.score_file(recording).track.probs, plain.probs, atol=1e-6)
