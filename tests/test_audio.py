"""Recordings of any format and depth read as mono float32; bad files give one clear error."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from animal_spot import audio
from animal_spot.errors import BadAudio
from tests.conftest import synth, write_wav


@pytest.mark.parametrize(
    ("suffix", "subtype"),
    [
        (".wav", "PCM_16"),
        (".wav", "PCM_24"),
        (".wav", "PCM_32"),
        (".wav", "FLOAT"),
        (".wav", "PCM_U8"),
        (".flac", "PCM_16"),
        (".flac", "PCM_24"),
        (".ogg", "VORBIS"),
    ],
)
def test_any_format_and_bit_depth_reads_as_float32(tmp_path, suffix, subtype):
    samples = synth(0.5, sample_rate_hz=16000, calls=[(0.1, 0.3, 1000.0)])
    path = tmp_path / f"clip{suffix}"
    sf.write(str(path), samples, 16000, subtype=subtype)
    out = audio.read(path)
    assert out.dtype == np.float32 and out.shape == samples.shape
    tolerance = 0.05 if subtype in ("PCM_U8", "VORBIS") else 1e-3
    assert np.abs(out - samples).max() < tolerance


def test_stereo_is_mixed_to_the_channel_mean(tmp_path):
    left, right = np.full(100, 0.5, np.float32), np.full(100, -0.25, np.float32)
    sf.write(str(tmp_path / "s.wav"), np.stack([left, right], 1), 8000, subtype="FLOAT")
    assert np.allclose(audio.read(tmp_path / "s.wav"), 0.125)
    assert audio.info(tmp_path / "s.wav").n_channels == 2


def test_resampling_keeps_a_tone_at_its_frequency(tmp_path):
    path = write_wav(
        tmp_path / "t.wav", 1.0, sample_rate_hz=48000, calls=[(0, 1.0, 3000.0)], noise_level=0
    )
    out = audio.read(path, 44100)
    assert out.size == 44100
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 44100 / out.size - 3000) <= 1


def test_window_read_returns_exactly_that_span(tmp_path):
    samples = np.arange(10000, dtype=np.float32) / 10000
    sf.write(str(tmp_path / "r.wav"), samples, 1000, subtype="FLOAT")
    out = audio.read(tmp_path / "r.wav", start_s=2.0, end_s=2.5)
    assert np.array_equal(out, samples[2000:2500])
    assert audio.read(tmp_path / "r.wav", start_s=9.9, end_s=12).size == 100
    assert audio.read(tmp_path / "r.wav", start_s=20).size == 0


def test_stream_without_resampling_equals_the_whole_file(tmp_path):
    path = write_wav(tmp_path / "l.wav", 30.0, sample_rate_hz=8000)
    whole = audio.read(path)
    streamed = np.concatenate(list(audio.stream(path, block_s=7.3)))
    assert np.array_equal(streamed, whole)


def test_stream_with_resampling_matches_the_whole_file_resampled(tmp_path):
    path = write_wav(tmp_path / "l.wav", 20.0, sample_rate_hz=48000)
    whole = audio.read(path, 44100)
    streamed = np.concatenate(list(audio.stream(path, 44100, block_s=3.0)))
    assert abs(streamed.size - whole.size) <= 1
    n = min(streamed.size, whole.size)
    assert np.abs(streamed[:n] - whole[:n]).max() < 1e-4


def test_empty_file_is_reported_with_its_name(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(BadAudio, match=r"empty\.wav: the file is empty"):
        audio.read(tmp_path / "empty.wav")


def test_zero_length_wav_reads_as_no_samples(tmp_path):
    sf.write(str(tmp_path / "zero.wav"), np.zeros(0, np.float32), 8000)
    assert audio.read(tmp_path / "zero.wav").size == 0
    assert audio.info(tmp_path / "zero.wav").duration_s == 0


def test_nan_samples_are_reported(tmp_path):
    samples = np.zeros(100, np.float32)
    samples[50] = np.nan
    sf.write(str(tmp_path / "nan.wav"), samples, 8000, subtype="FLOAT")
    with pytest.raises(BadAudio, match=r"nan\.wav: holds NaN"):
        audio.read(tmp_path / "nan.wav")


def test_garbage_file_is_reported_in_one_line(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00not audio at all" * 10)
    with pytest.raises(BadAudio) as error:
        audio.read(tmp_path / "junk.wav")
    assert "junk.wav" in str(error.value) and "\n" not in str(error.value)


def test_corrupt_flac_from_the_orca_catalogue_is_reported(shared_data):
    path = shared_data / "orca_ford_catalog" / "Sounds" / "catalog" / "flac" / "FO-S46.flac"
    with pytest.raises(BadAudio, match=r"FO-S46\.flac"):
        audio.read(path)


def _latin1_name(folder, name: bytes):
    """A path whose name is not UTF-8, as ``os.listdir`` gives it (surrogate escapes)."""
    return folder / os.fsdecode(name)


def test_a_name_that_is_not_utf8_reads_like_any_other(tmp_path):
    samples = synth(0.5, sample_rate_hz=8000)
    sf.write(str(tmp_path / "plain.wav"), samples, 8000, subtype="FLOAT")
    odd = _latin1_name(tmp_path, b"caf\xe9.wav")
    os.rename(tmp_path / "plain.wav", odd)
    assert audio.info(odd).n_samples == samples.size
    assert np.array_equal(audio.read(odd), samples)
    assert np.array_equal(np.concatenate(list(audio.stream(odd))), samples)


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "live.wav"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(BadAudio, match="is a FIFO, not a recording"):
        audio.info(fifo)


def test_a_folder_named_like_a_recording_is_refused(tmp_path):
    (tmp_path / "night.wav").mkdir()
    with pytest.raises(BadAudio, match="is a folder, not a recording"):
        audio.read(tmp_path / "night.wav")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_reported_as_a_permission_error(tmp_path):
    path = write_wav(tmp_path / "locked.wav", 0.2, sample_rate_hz=8000)
    path.chmod(0)
    with pytest.raises(BadAudio) as err:
        audio.info(path)
    assert "permission denied" in str(err.value)
    assert "check the file's permissions" in str(err.value)
    assert "re-export" not in str(err.value)


def test_permission_errors_get_their_own_reason_and_fix():
    reason, fix = audio.os_reason(PermissionError(13, "Permission denied"))
    assert (reason, fix) == ("cannot read: permission denied", "check the file's permissions")
    reason, fix = audio.os_reason(OSError(5, "Input/output error"))
    assert (reason, fix) == ("cannot read (Input/output error)", None)
