"""Whether the front end suits the data: the band below Nyquist, the rate near the files' own.

``check_band`` refuses a band the STFT cannot give and ``check_frontend`` a front end that
cannot be built (both before any run folder is made);
``warn_about_data`` reads the headers of a bounded sample of the training files and logs one
warning line per mismatch between the front end and their native sample rates.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from pathlib import Path

import torch

from .. import audio
from ..backbones import backbone_of
from ..bundle import first_line
from ..config import AudioConfig, ExperimentConfig, SpectrogramConfig, check_nyquist
from ..data.manifest import Clip
from ..errors import AnimalSpotError, BadConfig
from ..frontend.spectrogram import Frontend, linear_bin_range

log = logging.getLogger(__name__)
MAX_FILES = 200  # headers read per run: enough to say "most files", cheap on any folder


def check_band(audio_config: AudioConfig, spectrogram: SpectrogramConfig) -> list[str]:
    """Refuse a band above Nyquist; return a warning each for fmax at Nyquist and a thin band.

    Raises:
        BadConfig: ``fmax_hz`` lies above half the sample rate (the STFT has no such bins).
    """
    rate, nyquist = audio_config.sample_rate_hz, audio_config.sample_rate_hz / 2
    fmax, n_fft = spectrogram.fmax_hz, spectrogram.n_fft
    check_nyquist(audio_config, spectrogram)
    bins = len(linear_bin_range(n_fft, rate, spectrogram.fmin_hz, fmax))  # ≥ 1 below Nyquist
    warnings = []
    if fmax >= nyquist:
        warnings.append(
            f"spectrogram.fmax_hz {fmax:g} reaches the Nyquist frequency of {rate} Hz: the top "
            f"bins hold the anti-alias roll-off; --fmax {0.45 * rate:g} avoids it"
        )
    # ANIMAL-SPOT's own defaults repeat a few rows (222 bins → 256); only half or fewer is thin.
    if spectrogram.freq_compression != "mfcc" and 2 * bins <= spectrogram.n_freq_bins:
        kind = "repeat rows" if spectrogram.freq_compression == "linear" else "give empty filters"
        warnings.append(
            f"the band {spectrogram.fmin_hz:g}–{fmax:g} Hz holds {bins} STFT bins at n_fft "
            f"{n_fft}, fewer than n_freq_bins {spectrogram.n_freq_bins}, which {kind}: give "
            f"--n_freq_bins {bins} or a larger --n_fft"
        )
    return warnings


def check_frontend(config: ExperimentConfig) -> tuple[int, int] | None:
    """Build the front end and run it on one silent window: ``(n_freq, n_frames)`` it gives.

    ``None`` for BirdNET, which reads waveforms. A band without STFT bins or a window shorter
    than one hop is a BadConfig here, before training makes any folder.
    """
    if not backbone_of(config.model).reads_spectrograms:
        return None
    spec = config.spectrogram
    frontend = Frontend(config.audio, spec)
    if frontend.n_frames < 1:
        raise BadConfig(
            f"spectrogram.sequence_len_ms {spec.sequence_len_ms:g} at "
            f"{config.audio.sample_rate_hz} Hz is shorter than one hop of {spec.hop_length} "
            "samples: a window would have no frames",
            fix="raise --sequence_len or lower --hop_length",
        )
    try:
        window = frontend(torch.zeros(frontend.window_samples()))
    except (ValueError, IndexError, RuntimeError) as err:
        raise BadConfig(
            f"the front end cannot be built at {config.audio.sample_rate_hz} Hz "
            f"({first_line(err)})",
            fix="widen --fmin/--fmax or change --n_fft and --n_freq_bins",
        ) from None
    n_freq, n_frames = window.shape[-2:]
    return int(n_freq), int(n_frames)


def check_network(model: torch.nn.Module, input_shape: tuple[int, int]) -> None:
    """Run the network once on a silent window: a window too small for it is a BadConfig."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, *input_shape))
    except RuntimeError as err:
        raise BadConfig(
            f"the network cannot take windows of {input_shape[0]} × {input_shape[1]} "
            f"(frequency × frames): {first_line(err)}",
            fix="raise --sequence_len or --n_freq_bins, or lower --hop_length",
        ) from None
    finally:
        model.train(was_training)


def _sample(paths: Sequence[Path], limit: int) -> list[Path]:
    """At most ``limit`` paths spread evenly over the sorted list (deterministic)."""
    ordered = sorted(set(paths))
    if len(ordered) <= limit:
        return ordered
    return [ordered[i * len(ordered) // limit] for i in range(limit)]


def native_rates(clips: Sequence[Clip], limit: int = MAX_FILES) -> list[int]:
    """Header sample rates of up to ``limit`` of the clips' files (unreadable ones skipped)."""
    rates = []
    for path in _sample([c.path for c in clips], limit):
        try:
            rates.append(audio.info(path).sample_rate_hz)
        except AnimalSpotError:
            continue  # the dataset reports unreadable files itself
    return rates


def data_warnings(
    audio_config: AudioConfig, spectrogram: SpectrogramConfig, rates: Sequence[int]
) -> list[str]:
    """One line per way the front end misfits most of the files of these native ``rates``."""
    if not rates:
        return []
    rate, fmax = audio_config.sample_rate_hz, spectrogram.fmax_hz
    typical = int(statistics.median_low(rates))
    lines = []
    above = sum(fmax > r / 2 for r in rates)
    if 2 * above > len(rates):
        lines.append(
            f"spectrogram.fmax_hz {fmax:g} lies above the Nyquist frequency of {above} of "
            f"{len(rates)} training files sampled (native {typical} Hz → {typical / 2:g} Hz): "
            f"their spectrograms are empty above it; use --fmax {0.45 * typical:g}"
        )
    upsampled = sum(rate > 2 * r for r in rates)
    if 2 * upsampled > len(rates):
        lines.append(
            f"audio.sample_rate_hz {rate} is more than twice the native rate of {upsampled} of "
            f"{len(rates)} training files sampled ({typical} Hz): upsampling wastes compute and "
            f"shows an empty band; use --sr {typical}"
        )
    return lines


def warn_about_frontend(
    audio_config: AudioConfig, spectrogram: SpectrogramConfig, clips: Sequence[Clip]
) -> list[str]:
    """Log (once each, as warnings) every way the front end does not suit these clips."""
    lines = check_band(audio_config, spectrogram)
    lines += data_warnings(audio_config, spectrogram, native_rates(clips))
    for line in lines:
        log.warning("%s", line)
    return lines
