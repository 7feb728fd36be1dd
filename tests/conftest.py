"""Shared fixtures: synthesised recordings with calls at known times and frequencies."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

# Training writes no report.html in the tests (about 3 s a run) but in tests/reporting.
os.environ.setdefault("ANIMAL_SPOT_REPORT", "0")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores: one thread each, here and in every process a test starts
    # (two processes of two OpenMP threads each spin against each other, many times slower).
    for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_variable] = "1"
    torch.set_num_threads(1)
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# Folders that module- and session-scoped fixtures made with tmp_path_factory, by fixture:
# removed when the fixture is torn down, so that a suite run holds only the trained models of
# the fixtures in use (pytest itself keeps them all to the end: many GB).
_FIXTURE_FOLDERS: dict[int, list[Path]] = {}


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    factory = getattr(request.config, "_tmp_path_factory", None)
    if fixturedef.scope == "function" or factory is None:
        return (yield)
    made = _FIXTURE_FOLDERS.setdefault(id(fixturedef), [])
    mktemp = factory.mktemp

    def recorded(basename: str, numbered: bool = True) -> Path:
        folder = mktemp(basename, numbered)
        made.append(folder)
        return folder

    factory.mktemp = recorded
    try:
        return (yield)
    finally:
        factory.mktemp = mktemp


def pytest_fixture_post_finalizer(fixturedef: Any, request: pytest.FixtureRequest) -> None:
    for folder in _FIXTURE_FOLDERS.pop(id(fixturedef), []):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def fp32_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--precision auto`` means fp32 on every machine (bf16 CPUs would change the scores)."""
    monkeypatch.setenv("ANIMAL_SPOT_NATIVE_BF16", "0")


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine two threads can run 10× slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synth(
    duration_s: float,
    *,
    sample_rate_hz: int = 44100,
    calls: Sequence[tuple[float, float, float]] = (),
    noise_level: float = 0.01,
    call_level: float = 0.5,
    sweep_hz: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Noise plus tones, each call ``(start_s, duration_s, freq_hz)``; ``sweep_hz`` bends up."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * sample_rate_hz)
    samples = noise_level * rng.standard_normal(n)
    for start_s, length_s, freq_hz in calls:
        first = round(start_s * sample_rate_hz)
        count = min(round(length_s * sample_rate_hz), n - first)
        t = np.arange(count) / sample_rate_hz
        phase = 2 * np.pi * (freq_hz * t + 0.5 * sweep_hz / max(length_s, 1e-9) * t**2)
        envelope = np.hanning(count) if count > 8 else np.ones(count)
        samples[first : first + count] += call_level * envelope * np.sin(phase)
    return samples.astype(np.float32)


def write_wav(
    path: Path,
    duration_s: float = 1.0,
    *,
    sample_rate_hz: int = 44100,
    calls: Sequence[tuple[float, float, float]] = (),
    subtype: str = "PCM_16",
    **kwargs,
) -> Path:
    """Write a synthesised recording to ``path`` (folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = synth(duration_s, sample_rate_hz=sample_rate_hz, calls=calls, **kwargs)
    sf.write(str(path), samples, sample_rate_hz, subtype=subtype)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The real recordings beside the project; the test skips where they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)
