"""The spectrogram cache serves what it stored, misses on any change, and never tears a file."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import torch

from animal_spot.config import AudioConfig, SpectrogramConfig
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import Clip
from animal_spot.frontend.cache import SpectrogramCache
from tests.conftest import write_wav


def test_cached_spectrogram_equals_a_fresh_one(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 1.2, calls=[(0.2, 0.5, 3000.0)])
    clips = [Clip(wav, "a", "g")]
    fresh = ClipDataset(clips, ["a"], AudioConfig(), SpectrogramConfig())[0][0]
    cached = ClipDataset(clips, ["a"], AudioConfig(), SpectrogramConfig(), cache_dir=tmp_path / "c")
    first, second = cached[0][0], cached[0][0]
    assert cached.cache is not None and (cached.cache.misses, cached.cache.hits) == (1, 1)
    assert torch.equal(fresh, first) and torch.equal(first, second)


def test_changed_nfft_hop_or_preemphasis_misses_the_cache(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 1.0)
    audio_config = AudioConfig()
    keys = {
        SpectrogramCache(tmp_path, audio_config, config).key(wav)
        for config in (
            SpectrogramConfig(),
            SpectrogramConfig(n_fft=2048),
            SpectrogramConfig(hop_length=441),
            SpectrogramConfig(preemphasis=0.5),
        )
    }
    assert len(keys) == 4
    assert (
        SpectrogramCache(tmp_path, AudioConfig(sample_rate_hz=22050), SpectrogramConfig()).key(wav)
        not in keys
    )


def test_settings_after_the_power_stft_share_its_entries(tmp_path):
    """Bins, band, compression, normalisation and window length come after the cached stage."""
    wav = write_wav(tmp_path / "a.wav", 1.0)
    base = SpectrogramCache(tmp_path, AudioConfig(), SpectrogramConfig()).key(wav)
    for later in (
        SpectrogramConfig(fmax_hz=8000),
        SpectrogramConfig(n_freq_bins=64),
        SpectrogramConfig(freq_compression="mel"),
        SpectrogramConfig(normalization="pcen"),
        SpectrogramConfig(sequence_len_ms=500),
    ):
        assert SpectrogramCache(tmp_path, AudioConfig(), later).key(wav) == base, later


def test_other_bins_reuse_the_power_stft_and_give_what_a_fresh_run_gives(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 1.0)
    clips = [Clip(wav, "a", "g")]
    ClipDataset(clips, ["a"], AudioConfig(), SpectrogramConfig(), cache_dir=tmp_path / "c")[0]
    narrow = SpectrogramConfig(n_freq_bins=64, fmax_hz=6000)
    reused = ClipDataset(clips, ["a"], AudioConfig(), narrow, cache_dir=tmp_path / "c")
    value = reused[0][0]
    assert reused.cache is not None and (reused.cache.hits, reused.cache.misses) == (1, 0)
    assert torch.equal(value, ClipDataset(clips, ["a"], AudioConfig(), narrow)[0][0])


def test_another_nfft_reuses_the_cached_samples_when_audio_is_kept(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 1.0)
    clips = [Clip(wav, "a", "g")]
    root = tmp_path / "c"
    first = ClipDataset(
        clips, ["a"], AudioConfig(), SpectrogramConfig(), cache_dir=root, cache_audio=True
    )
    first[0]
    assert first.cache is not None and first.cache.audio_hits == 0
    other = SpectrogramConfig(n_fft=512, hop_length=128)
    second = ClipDataset(clips, ["a"], AudioConfig(), other, cache_dir=root, cache_audio=True)
    value = second[0][0]
    assert second.cache is not None
    assert (second.cache.misses, second.cache.audio_hits) == (1, 1)
    assert torch.equal(value, ClipDataset(clips, ["a"], AudioConfig(), other)[0][0])
    # without keep_audio nothing but power STFTs is written
    plain = tmp_path / "plain"
    ClipDataset(clips, ["a"], AudioConfig(), other, cache_dir=plain)[0]
    assert [p.name.split("-")[0] for p in plain.iterdir()] == ["power"]


def test_rewritten_file_and_other_span_miss_the_cache(tmp_path):
    wav = write_wav(tmp_path / "a.wav", 1.0)
    cache = SpectrogramCache(tmp_path / "c", AudioConfig(), SpectrogramConfig())
    before = cache.key(wav)
    assert cache.key(wav, 0.0, 0.5) != before
    write_wav(wav, 1.5)
    os.utime(wav, ns=(1, 1))
    assert cache.key(wav) != before


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    cache = SpectrogramCache(tmp_path, AudioConfig(), SpectrogramConfig())
    wav = write_wav(tmp_path / "a.wav", 0.5)
    key = cache.key(wav)
    cache.path_for(key).parent.mkdir(parents=True)
    cache.path_for(key).write_bytes(b"\x93NUMPY garbage")
    value = cache.get_or_compute(wav, lambda: np.ones(3, dtype=np.float32))
    assert value.tolist() == [1, 1, 1] and cache.get(key).tolist() == [1, 1, 1]


def _fill(args: tuple[str, list[str], int]) -> None:
    root, paths, worker = args
    cache = SpectrogramCache(root, AudioConfig(), SpectrogramConfig())
    for round_ in range(3):
        for i, path in enumerate(paths):
            # Large, content-checkable arrays make a torn write visible.
            value = np.full(200_000, float(i), dtype=np.float32)
            cache.put(cache.key(path), value)
            got = cache.get(cache.key(path))
            assert got is None or (got.shape == (200_000,) and np.all(got == i)), (worker, round_)


def test_four_processes_filling_one_cache_leave_only_whole_files(tmp_path):
    paths = [str(write_wav(tmp_path / f"{i}.wav", 0.2)) for i in range(8)]
    root = str(tmp_path / "cache")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_fill, [(root, paths, w) for w in range(4)])
    cache = SpectrogramCache(root, AudioConfig(), SpectrogramConfig())
    files = sorted(Path(root).rglob("*"))
    assert not [f for f in files if f.name.endswith(".tmp")]
    for i, path in enumerate(paths):
        value = cache.get(cache.key(path))
        assert value is not None and value.shape == (200_000,) and np.all(value == i)
