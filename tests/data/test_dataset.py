"""ClipDataset turns clips into fixed-size model inputs, reproducibly."""

from __future__ import annotations

import pytest
import torch

from animal_spot.config import AudioConfig, AugmentConfig, SpectrogramConfig
from animal_spot.data.dataset import ClipDataset
from animal_spot.data.manifest import Clip
from animal_spot.errors import BadData
from tests.conftest import write_wav


@pytest.fixture
def clips(tmp_path):
    short = write_wav(tmp_path / "short.wav", 0.4, calls=[(0.1, 0.2, 2000.0)])
    long = write_wav(tmp_path / "long.wav", 2.5, calls=[(1.0, 0.5, 5000.0)])
    span = Clip(long, "b", "g2", start_s=0.9, end_s=1.6)
    return [Clip(short, "a", "g1"), Clip(long, "b", "g2"), span]


def test_every_clip_becomes_one_window_of_the_configured_size(clips):
    dataset = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig())
    for i in range(len(dataset)):
        spec, label = dataset[i]
        assert spec.shape == (1, 256, 256)
        assert label == (0 if i == 0 else 1)


def test_a_span_reads_only_its_part_of_the_recording(clips):
    dataset = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig(sequence_len_ms=500))
    spec = dataset.spectrogram(2)[0]
    # The 5 kHz call fills the span: its row dominates the centre of the window.
    rows_hz = torch.arange(256) * (10000 - 500) / 256 + 500
    assert abs(rows_hz[spec[:, 40:90].mean(-1).argmax()] - 5000) < 100


def test_augmented_training_items_are_reproducible_per_seed_and_change_per_epoch(clips):
    config = AugmentConfig(enabled=True)
    dataset = ClipDataset(
        clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config, is_train=True, seed=3
    )
    first = dataset[1][0]
    assert torch.equal(first, dataset[1][0])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[1][0])
    plain = ClipDataset(clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config)
    assert plain.augmenter is None  # validation and test sets are never augmented


def test_noise_folder_is_mixed_into_training_clips(tmp_path, clips):
    write_wav(tmp_path / "noise" / "n1.wav", 3.0, noise_level=0.3, seed=5)
    config = AugmentConfig(enabled=True, noise_dir=tmp_path / "noise")
    dataset = ClipDataset(
        clips, ["a", "b"], AudioConfig(), SpectrogramConfig(), config, is_train=True
    )
    spec = dataset[0][0]
    assert spec.shape == (1, 256, 256) and (spec > 0).float().mean() > 0.9


def test_unknown_label_is_a_clear_error(clips):
    with pytest.raises(BadData, match="not among the classes"):
        ClipDataset(clips, ["a"], AudioConfig(), SpectrogramConfig())


def test_noise_clips_of_the_training_split_are_mixed_into_its_calls(tmp_path):
    call = write_wav(tmp_path / "call.wav", 1.0, calls=[(0.2, 0.6, 3000.0)], noise_level=0.0)
    loud = write_wav(tmp_path / "loud.wav", 1.0, noise_level=0.3, seed=2)
    clips = [Clip(call, "target", "r1"), Clip(loud, "noise", "r2")]
    spectrogram = SpectrogramConfig(min_max_norm=False)
    plain = ClipDataset(clips, ["noise", "target"], AudioConfig(), spectrogram)
    mixed = ClipDataset(
        clips, ["noise", "target"], AudioConfig(), spectrogram,
        AugmentConfig(mix_noise_clips=True, snr_db=(0, 0)), is_train=True,
    )  # fmt: skip
    assert mixed.augmenter is not None and mixed.augmenter.noise.count == 1
    # Far from the call's row the silent clip had only the dB floor; the noise fills it.
    assert plain[0][0][0, :20].mean() < 0.05
    assert mixed[0][0][0, :20].mean() > 0.2


def test_mixing_noise_clips_without_any_noise_clip_is_a_clear_error(tmp_path):
    call = write_wav(tmp_path / "call.wav", 1.0)
    with pytest.raises(BadData, match="noise"):
        ClipDataset(
            [Clip(call, "a", "g")], ["a"], AudioConfig(), SpectrogramConfig(),
            AugmentConfig(mix_noise_clips=True), is_train=True,
        )  # fmt: skip


def call_column(spec: torch.Tensor) -> int:
    return int(spec[0].mean(0).argmax())


def test_time_shift_moves_a_call_within_its_context_and_only_in_training(tmp_path):
    long = write_wav(tmp_path / "long.wav", 6.0, calls=[(2.9, 0.2, 3000.0)], noise_level=0.001)
    clip = Clip(long, "call", "g", start_s=2.5, end_s=3.5)
    spectrogram = SpectrogramConfig(sequence_len_ms=1000)
    shifted = ClipDataset(
        [clip], ["call"], AudioConfig(), spectrogram, AugmentConfig(time_shift_s=0.4),
        is_train=True,
    )  # fmt: skip
    centred = ClipDataset([clip], ["call"], AudioConfig(), spectrogram)
    fixed = call_column(centred[0][0])
    frames_per_s = 44100 / 172
    positions = set()
    for epoch in range(12):
        shifted.set_epoch(epoch)
        column = call_column(shifted[0][0])
        assert abs(column - fixed) <= 0.4 * frames_per_s + 2
        positions.add(column)
    assert len(positions) >= 6  # it really moves
    assert max(positions) - min(positions) > 0.3 * frames_per_s


def test_window_normalisations_see_exactly_the_frames_prediction_sees(tmp_path):
    from animal_spot.frontend.spectrogram import Frontend

    path = write_wav(tmp_path / "r.wav", 3.0, calls=[(1.2, 0.3, 2500.0)])
    for normalization in ("pcen", "per_window"):
        spectrogram = SpectrogramConfig(sequence_len_ms=1000, normalization=normalization)
        frontend = Frontend(AudioConfig(), spectrogram)
        clip = Clip(path, "call", "g", start_s=0.8, end_s=0.8 + frontend.window_samples() / 44100)
        dataset = ClipDataset([clip], ["call"], AudioConfig(), spectrogram)
        import soundfile as sf

        samples, _ = sf.read(path, dtype="float32")
        first = round(0.8 * 44100)
        window = torch.from_numpy(samples[first : first + frontend.window_samples()])
        assert torch.allclose(dataset[0][0][0], frontend(window), atol=1e-4), normalization
