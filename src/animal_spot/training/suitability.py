"""Whether the front end suits the data: the band below Nyquist, the rate near the files' own.

``check_band`` refuses a band the STFT cannot give (before any run folder is made);
``warn_about_data`` reads the headers of a bounded sample of the training files and logs one
warning line per mismatch between the front end and their native sample rates.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from pathlib import Path

from .. import audio
from ..config import AudioConfig, SpectrogramConfig
from ..data.manifest import Clip
from ..errors import AnimalSpotError, BadConfig
from ..frontend.spectrogram import linear_bin_range

log = logging.getLogger(__name__)
MAX_FILES = 200  # headers read per run: enough to say "most files", cheap on any folder


def check_band(audio_config: AudioConfig, spectrogram: SpectrogramConfig) -> list[str]:
    """Refuse a band above Nyquist; return a warning each for fmax at Nyquist and a thin band.

    Raises:
        BadConfig: ``fmax_hz`` lies above half the sample rate (the STFT has no such bins).
    """
    rate, nyquist = audio_config.sample_rate_hz, audio_config.sample_rate_hz / 2
    fmax, n_fft = spectrogram.fmax_hz, spectrogram.n_fft
    if fmax > nyquist:
        raise BadConfig(
            f"spectrogram.fmax_hz {fmax:g} lies above the Nyquist frequency {nyquist:g} Hz of "
            f"audio.sample_rate_hz {rate}",
            fix=f"lower --fmax to at most {nyquist:g} (better {0.45 * rate:g}) or raise --sr",
        )
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
