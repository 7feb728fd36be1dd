"""Tests of the ANIMAL-SPOT compatibility layer."""

# The dataOpts of a .pk written with the fork's defaults (notes §5).
FORK_DATA_OPTS = {
    "sr": 44100,
    "preemphases": 0.98,
    "n_fft": 1024,
    "hop_length": 172,
    "n_freq_bins": 256,
    "fmin": 500,
    "fmax": 10000,
    "freq_compression": "linear",
    "min_level_db": -100,
    "ref_level_db": 20,
}
