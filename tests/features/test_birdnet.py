"""The BirdNET extractor on the shipped model: shapes, the model's own tensor, gain, the cache."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from animal_spot.config import AudioConfig, ModelConfig
from animal_spot.data.manifest import Clip
from animal_spot.features.birdnet import (
    EMBEDDING_SIZE,
    EMBEDDING_TENSOR,
    default_model_path,
)
from animal_spot.features.cache import EmbeddingCache
from animal_spot.features.dataset import embed_clips
from animal_spot.features.frontend import EmbeddingFrontend
from animal_spot.features.waveform import CHUNK_SAMPLES
from tests.conftest import synth, write_wav
from tests.features.conftest import SAMPLE_RATE_HZ, SPECTROGRAM, require_birdnet

require_birdnet()  # the extractor's tests skip without the birdnet extra

AUDIO = AudioConfig(sample_rate_hz=SAMPLE_RATE_HZ)


def chunk(seed: int = 0, freq_hz: float = 3000.0) -> np.ndarray:
    """3 s at 48 kHz: noise and a 1 s tone."""
    return synth(3.0, sample_rate_hz=48000, calls=[(1.0, 1.0, freq_hz)], seed=seed)


def test_embeddings_of_synthetic_chunks_are_finite_with_1024_features(extractor):
    chunks = np.stack([chunk(0), chunk(1, 6000.0), np.zeros(CHUNK_SAMPLES, np.float32)])
    embeddings = extractor.embed(chunks)
    assert embeddings.shape == (3, EMBEDDING_SIZE) and embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    assert not np.allclose(embeddings[0], embeddings[1])  # different calls, different vectors


@pytest.mark.filterwarnings("ignore:Warning. Enabling `experimental_preserve_all_tensors`")
def test_the_embedding_is_the_pooled_tensor_the_unchanged_model_computes(extractor):
    from ai_edge_litert.interpreter import Interpreter

    # The unmodified file, every tensor kept: slow to start at batch 16, quick at batch 1.
    reference = Interpreter(
        model_path=str(default_model_path()), num_threads=1, experimental_preserve_all_tensors=True
    )
    reference.allocate_tensors()
    names = {d["name"]: d["index"] for d in reference.get_tensor_details()}
    x = chunk(2)[None]
    reference.set_tensor(reference.get_input_details()[0]["index"], x)
    reference.invoke()
    expected = reference.get_tensor(names[EMBEDDING_TENSOR])
    np.testing.assert_allclose(extractor.embed(x), expected, rtol=1e-4, atol=1e-5)


def test_embeddings_do_not_depend_on_the_batch_they_ran_in(extractor):
    chunks = np.stack([chunk(i) for i in range(3)])
    together = extractor.embed(chunks)
    alone = np.concatenate([extractor.embed(c[None]) for c in chunks])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_birdnet_embeddings_barely_move_with_the_recording_gain(extractor):
    # Why gain augmentation is not offered: BirdNET normalises each chunk itself.
    x = chunk(3)
    embeddings = extractor.embed(np.stack([x, x * 10 ** (12 / 20), x * 10 ** (-12 / 20)]))
    moved = np.linalg.norm(embeddings[1:] - embeddings[0], axis=1)
    assert (moved / np.linalg.norm(embeddings[0]) < 0.01).all()


def test_a_cached_clip_is_not_embedded_again_and_a_changed_setting_misses(extractor, tmp_path):
    clips = [
        Clip(write_wav(tmp_path / f"c{i}.wav", 1.0, sample_rate_hz=8000, seed=i), "x", "g")
        for i in range(3)
    ]
    model = ModelConfig(backbone="birdnet")
    frontend = EmbeddingFrontend(AUDIO, SPECTROGRAM, model, extractor=extractor)
    cache = EmbeddingCache(tmp_path / "cache", frontend)
    first = embed_clips(clips, frontend, SAMPLE_RATE_HZ, "HQ", cache)
    done = extractor.n_chunks
    again = embed_clips(clips, frontend, SAMPLE_RATE_HZ, "HQ", cache)
    assert extractor.n_chunks == done  # the interpreter did not run
    assert cache.hits == 3 and cache.misses == 3
    np.testing.assert_array_equal(first, again)
    expanded = dataclasses.replace(model, time_expansion=2.0)
    other = EmbeddingFrontend(AUDIO, SPECTROGRAM, expanded, extractor=extractor)
    assert other.feature_hash() != frontend.feature_hash()
    embed_clips(clips, other, SAMPLE_RATE_HZ, "HQ", EmbeddingCache(tmp_path / "cache", other))
    assert extractor.n_chunks == done + 3


def test_a_window_longer_than_3_s_after_expansion_is_the_mean_of_its_chunks(extractor):
    model = ModelConfig(backbone="birdnet", time_expansion=0.5)  # 2 s windows → 4 s → 2 chunks
    spectrogram = dataclasses.replace(SPECTROGRAM, sequence_len_ms=2000)
    frontend = EmbeddingFrontend(AUDIO, spectrogram, model, extractor=extractor)
    window = synth(2.0, sample_rate_hz=SAMPLE_RATE_HZ, calls=[(0.5, 1.0, 1500.0)])
    chunks = frontend.chunks(window)
    assert chunks.shape == (2, CHUNK_SAMPLES)
    np.testing.assert_allclose(
        frontend.embed([window])[0], extractor.embed(chunks).mean(0), rtol=1e-5, atol=1e-6
    )


def test_a_missing_birdnet_model_file_is_a_one_line_error_naming_it(tmp_path):
    from animal_spot.errors import BadModel

    model = ModelConfig(backbone="birdnet", birdnet_model=tmp_path / "nope.tflite")
    with pytest.raises(BadModel, match=r"nope\.tflite") as caught:
        EmbeddingFrontend(AUDIO, SPECTROGRAM, model)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_birdnet_is_refused(tmp_path):
    from animal_spot.errors import BadModel
    from animal_spot.features.birdnet import embedding_model

    path = tmp_path / "other.tflite"
    path.write_bytes(b"\0" * 64)
    with pytest.raises(BadModel):
        embedding_model(path)
