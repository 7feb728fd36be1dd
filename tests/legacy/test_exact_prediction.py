"""A ``.pk`` predicts ANIMAL-SPOT's own probabilities, window by window.

The reference here is written from the notes alone (§2 front end, §7 ``predict.py`` windows),
in NumPy, and runs the test's own ANIMAL-SPOT networks (`test_models`), never the package's
front end or windowing: each window is ``⌈seq·sr⌉`` samples from ``i·⌈hop·sr⌉``, it goes
through pre-emphasis, the uncentred periodic-Hann STFT scaled by 1/√Σw², nearest-neighbour
linear compression, dB and normalisation alone, and all its frames reach the network.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.compose import wants_legacy_windows
from animal_spot.prediction.exact_windows import SampleGrid, cut
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.scores import read_scores
from tests.conftest import synth

from . import FORK_DATA_OPTS
from .test_models import Classifier, ConvNeXtEncoder, randomise, resnet_pk, write_pk

# ANIMAL-SPOT's main.py defaults (notes §2): 4096/441, 500–10000 Hz, 256 bins.
ANIMAL_SPOT_DATA_OPTS = {**FORK_DATA_OPTS, "n_fft": 4096, "hop_length": 441}


def reference_spectrogram(window: np.ndarray, opts: dict, min_max: bool) -> np.ndarray:
    """One window's network input ``(time, frequency)``, as ANIMAL-SPOT computed it."""
    sr, n_fft, hop = opts["sr"], opts["n_fft"], opts["hop_length"]
    x = window.astype(np.float64)
    y = np.concatenate([x[:1], x[1:] - opts["preemphases"] * x[:-1]])
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    n_frames = 1 + (len(y) - n_fft) // hop
    frames = np.stack([y[t * hop : t * hop + n_fft] * w for t in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1) / np.sqrt(np.sum(w**2))) ** 2  # (T, n_fft/2+1)
    n = 2 * (power.shape[1] - 1)
    low = math.floor(n * opts["fmin"] / sr)
    high = min(n - 1, math.ceil(n * opts["fmax"] / sr))
    band = power[:, low:high]
    out = opts["n_freq_bins"]
    band = band[:, [math.floor(k * band.shape[1] / out) for k in range(out)]]
    db = 10 * np.log10(np.maximum(band, 1e-10))
    if min_max:
        shifted = db - db.min()
        return shifted / shifted.max() if shifted.max() > 0 else shifted
    return np.clip((db - opts["ref_level_db"] - opts["min_level_db"]) / -opts["min_level_db"], 0, 1)


def reference_probs(samples, opts, encoder, classifier, window_s, hop_s, min_max):
    """ANIMAL-SPOT predict.py's windows over the whole file and their probabilities."""
    sr = opts["sr"]
    win, hop = math.ceil(window_s * sr), math.ceil(hop_s * sr)
    count = max(math.ceil((len(samples) + 1 - win) / hop), 1)
    starts, probs = [], []
    for i in range(count):
        spec = reference_spectrogram(samples[i * hop : i * hop + win], opts, min_max)
        x = torch.from_numpy(spec).float()[None, None]  # (1, 1, T, F): the old layout
        with torch.no_grad():
            probs.append(torch.softmax(classifier(encoder(x)), -1)[0].double().numpy())
        starts.append(i * hop / sr)
    return np.asarray(starts), np.asarray(probs)


def recording(path, duration_s: float, sr: int) -> np.ndarray:
    samples = synth(duration_s, sample_rate_hz=sr, calls=[(1.2, 0.8, 3000.0)], seed=5)
    sf.write(str(path), samples, sr, subtype="FLOAT")
    return samples


def package_probs(model, wav, out, window_s, hop_s, **options):
    result = predict(
        PredictConfig(
            model_path=(model,),
            input_file=wav,
            output_dir=out,
            window_s=window_s,
            hop_s=hop_s,
            precision="32",
            **options,
        ),
        progress=False,
        report=False,
    )
    assert result.predicted == [wav]
    (track,) = read_scores(out / f"{wav.stem}.scores.csv")
    return track.start_s, track.probs


def assert_animal_spot_scores(starts, probs, expected_starts, expected):
    np.testing.assert_allclose(starts, expected_starts, atol=1e-6)
    assert np.abs(probs - expected).max() <= 1e-4
    assert expected[:, -1].std() > 2e-4  # the windows' scores differ: a real comparison


@pytest.mark.parametrize("max_pool", [0, 1, 2])
@pytest.mark.parametrize("depth", [18, 50])
def test_a_resnet_pk_gives_animal_spots_probabilities_at_the_forks_settings(
    tmp_path, depth, max_pool
):
    path, encoder, classifier = resnet_pk(tmp_path, depth, 2, max_pool)
    samples = recording(tmp_path / "rec.wav", 6.0, 44100)
    expected_starts, expected = reference_probs(
        samples, FORK_DATA_OPTS, encoder, classifier, 1.0, 0.5, min_max=False
    )
    starts, probs = package_probs(
        path, tmp_path / "rec.wav", tmp_path / "out", 1.0, 0.5, min_max_norm=False
    )
    assert len(starts) == 11  # windows from 0 s to 5 s: the tail is not scored
    assert_animal_spot_scores(starts, probs, expected_starts, expected)


def test_a_pk_at_animal_spots_defaults_with_min_max_normalisation(tmp_path):
    with torch.device("meta"):
        from .test_models import Encoder

        encoder = Encoder(18, 7, 2)
        classifier = Classifier(encoder.out_channels, 3)
    encoder, classifier = randomise(encoder, 11), randomise(classifier, 12)
    opts = {"input_channels": 1, "conv_kernel_size": [7], "max_pool": 2, "resnet_size": 18}
    classes = {"noise": 0, "orca": 1, "seal": 2}
    path = write_pk(
        tmp_path / "as.pk", encoder, classifier, opts, 3, classes, dataOpts=ANIMAL_SPOT_DATA_OPTS
    )
    samples = recording(tmp_path / "rec.wav", 6.0, 44100)
    # predict.py's own defaults: 2 s windows every 1 s
    expected_starts, expected = reference_probs(
        samples, ANIMAL_SPOT_DATA_OPTS, encoder, classifier, 2.0, 1.0, min_max=True
    )
    starts, probs = package_probs(
        path, tmp_path / "rec.wav", tmp_path / "out", 2.0, 1.0, min_max_norm=True
    )
    assert len(starts) == 5
    assert_animal_spot_scores(starts, probs, expected_starts, expected)


def test_a_fork_convnext_pk_gives_animal_spots_probabilities(tmp_path):
    with torch.device("meta"):
        encoder, classifier = ConvNeXtEncoder(), Classifier(768, 2)
    encoder, classifier = randomise(encoder, 7), randomise(classifier, 8)
    path = write_pk(
        tmp_path / "fork.pk",
        encoder,
        classifier,
        {"input_channels": 1},
        2,
        {"noise": 0, "target": 1},
        backbone="convnext",
    )
    samples = recording(tmp_path / "rec.wav", 6.0, 44100)
    expected_starts, expected = reference_probs(
        samples, FORK_DATA_OPTS, encoder, classifier, 1.0, 0.5, min_max=True
    )
    starts, probs = package_probs(
        path, tmp_path / "rec.wav", tmp_path / "out", 1.0, 0.5, min_max_norm=True
    )
    assert_animal_spot_scores(starts, probs, expected_starts, expected)


def test_windows_stream_across_blocks_and_a_short_file_is_one_window(tmp_path):
    path, encoder, classifier = resnet_pk(tmp_path, 18, 2, 1)
    samples = recording(tmp_path / "rec.wav", 6.0, 44100)
    bundle = load_model(path, sequence_len_ms=1000, min_max_norm=False)
    # blocks of 0.37 s: windows span up to four blocks, and the buffer is cut between them
    streamed = Predictor(bundle, hop_s=0.5, block_s=0.37, legacy_windows=True, precision="32")
    got = streamed.score_file(tmp_path / "rec.wav").track
    expected_starts, expected = reference_probs(
        samples, FORK_DATA_OPTS, encoder, classifier, 1.0, 0.5, min_max=False
    )
    assert_animal_spot_scores(got.start_s, got.probs, expected_starts, expected)

    short = samples[: int(0.6 * 44100)]
    sf.write(str(tmp_path / "short.wav"), short, 44100, subtype="FLOAT")
    one = streamed.score_file(tmp_path / "short.wav").track
    _, alone = reference_probs(short, FORK_DATA_OPTS, encoder, classifier, 1.0, 0.5, False)
    assert len(one.start_s) == 1 and np.abs(one.probs - alone).max() <= 1e-4


@pytest.mark.parametrize(
    ("n_samples", "window", "hop"), [(100, 30, 7), (100, 30, 40), (29, 30, 7), (30, 30, 7)]
)
def test_the_cut_windows_are_animal_spots_for_any_block_size(n_samples, window, hop):
    samples = np.arange(n_samples, dtype=np.float32)
    count = max(math.ceil((n_samples + 1 - window) / hop), 1)
    expected = [samples[i * hop : i * hop + window] for i in range(count)]
    grid = SampleGrid(1000, window, hop)
    for block in (1, 7, 30, 1000):
        blocks = [samples[i : i + block] for i in range(0, n_samples, block)]
        got = list(cut(blocks, grid))
        assert [s for s, _ in got] == [i * hop for i in range(count)]
        assert all(np.array_equal(a, b) for (_, a), b in zip(got, expected, strict=True))


def test_a_native_model_keeps_its_frame_grid_and_frame_grid_options_leave_the_pk_windows(
    tmp_path, caplog
):
    path, *_ = resnet_pk(tmp_path, 18, 2, 1)
    recording(tmp_path / "rec.wav", 3.0, 44100)
    with pytest.raises(BadConfig, match="--legacy_windows"):
        PredictConfig(legacy_windows=True, fast=True)
    fast, _ = package_probs(
        path, tmp_path / "rec.wav", tmp_path / "fast", 1.0, 0.5, min_max_norm=False, fast=True
    )
    assert "scores differ from ANIMAL-SPOT" in caplog.text
    exact, _ = package_probs(
        path, tmp_path / "rec.wav", tmp_path / "exact", 1.0, 0.5, min_max_norm=False
    )
    assert not np.allclose(fast, exact)  # frame-grid starts (0.499 s) against 0.5 s


def test_thresholds_for_a_pk_go_into_a_model_pt_beside_it_and_the_pk_is_left_alone(
    tmp_path, caplog
):
    from animal_spot.evaluation.thresholds import ThresholdChoice, write_thresholds

    path, *_ = resnet_pk(tmp_path, 18, 2, 1)
    before = path.read_bytes()
    choice = {"target": ThresholdChoice("target", 0.7, 1.0, 0.5, 0.67, "max_f1")}
    assert write_thresholds(path, choice) == {"target": 0.7}
    assert path.read_bytes() == before
    beside = tmp_path / "ANIMAL-SPOT.model.pt"
    assert "left unchanged" in caplog.text and str(beside) in caplog.text
    assert load_model(beside).thresholds == {"target": 0.7}
    # a second choice updates that copy, and prediction with it uses the .pk's windows
    write_thresholds(path, {"target": ThresholdChoice("target", 0.4, 1.0, 0.5, 0.67, "max_f1")})
    assert load_model(beside).thresholds == {"target": 0.4} and path.read_bytes() == before
    config = PredictConfig(model_path=(beside,))
    assert wants_legacy_windows(load_model(beside), config, beside)
