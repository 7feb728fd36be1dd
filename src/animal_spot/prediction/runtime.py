"""How prediction uses the machine: device, bf16, threads, glibc malloc, a read-ahead thread."""

from __future__ import annotations

import ctypes
import functools
import os
import queue
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import torch

from ..errors import BadConfig

T = TypeVar("T")
# The environment settings the CPU figures in docs/cpu-performance-notes.md were measured with.
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "17179869184",
    "MALLOC_TOP_PAD_": "1073741824",
}


NATIVE_BF16_VARIABLE = "ANIMAL_SPOT_NATIVE_BF16"


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX-512 BF16), from /proc/cpuinfo.

    ``ANIMAL_SPOT_NATIVE_BF16=0`` (or ``1``) overrides the answer, so that ``--precision auto``
    gives the same scores on every machine (the test suite sets it to 0).
    """
    return _cpu_has(NATIVE_BF16_VARIABLE, {"amx_bf16", "avx512_bf16"})


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(flags.split(":", 1)[-1].split())


def _cpu_has(variable: str, flags: set[str]) -> bool:
    """Whether the CPU has any of ``flags``; ``variable`` set to 0 or 1 overrides the answer."""
    forced = os.environ.get(variable)
    if forced in ("0", "1"):
        return forced == "1"
    return bool(flags & _cpu_flags())


INT8_VARIABLE = "ANIMAL_SPOT_FAST_INT8"


def fast_int8() -> bool:
    """Whether this CPU has int8 dot-product instructions (AVX-512 VNNI, AVX-VNNI or AMX),
    where ``--precision auto`` takes a stored int8 network unless the CPU computes bf16
    natively (several times fp32's speed there; without them ONNX Runtime's AVX2 int8
    kernels gain little).

    ``ANIMAL_SPOT_FAST_INT8=0`` (or ``1``) overrides the answer.
    """
    return _cpu_has(INT8_VARIABLE, {"avx512_vnni", "avx_vnni", "amx_int8"})


def choose_device(name: str = "auto") -> torch.device:
    """``auto`` = the first CUDA device when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= count:
        raise BadConfig(
            f"device {name}: this machine has {count} CUDA device(s)", fix="use auto or cpu"
        )
    return device


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast when forced, or under ``auto`` where the hardware does it natively.

    On CPUs without native bf16 it is 3–4× slower than fp32, so ``auto`` never picks it there.
    """
    if precision == "bf16":
        return True
    if precision != "auto":
        return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return native_bf16()


def keep_triton_out() -> None:
    """Keep Triton, the GPU kernel compiler, out of a process that predicts on the CPU.

    torchvision's detection ops import ``torch._dynamo``, which imports Triton wherever it is
    installed (a CUDA build of torch brings it): 94 MiB of resident memory that CPU inference
    never uses. A ``None`` entry in ``sys.modules`` makes its import fail, so torch takes it as
    absent; once Triton is loaded this does nothing.
    """
    sys.modules.setdefault("triton", None)  # type: ignore[arg-type]


def tune_malloc() -> bool:
    """Keep glibc from mapping and unmapping every activation buffer of a forward pass.

    The same settings as ``MALLOC_ENV``, through ``mallopt`` (the trim threshold capped at
    2 GiB, mallopt's largest): CPU inference gets 20–50 % faster, for up to ~1 GB more RSS.
    Returns whether they were applied: not on other C libraries, nor when the environment
    already sets any ``MALLOC_*_`` variable (set one yourself to leave malloc alone).
    """
    if any(name in os.environ for name in MALLOC_ENV):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # mallopt's parameters: M_TRIM_THRESHOLD -1, M_TOP_PAD -2, M_MMAP_THRESHOLD -3 (int values)
    settings = ((-3, 32 << 20), (-1, (1 << 31) - 1), (-2, 1 << 30))
    return all(libc.mallopt(key, value) == 1 for key, value in settings)


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def resident_bytes() -> int:
    """The process's resident memory now (``/proc/self/statm``; else the peak so far)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class FreeMemoryKeeper:
    """Gives the pages malloc holds free back to the system (glibc ``malloc_trim``) whenever
    the process has grown by ``slack_bytes`` since the last time.

    With `tune_malloc`'s thresholds nothing is trimmed by itself, and buffers whose sizes vary
    from pass to pass leave freed holes that stay resident: ``--fast``, when it ran tuned, peaked
    1753 MiB over 10 minutes against 1427 MiB over 3 (it now runs untuned), and the exact path's
    `collect` grew over hours of small score arrays. Trimming after every pass
    brought that to 1077 MiB at 15 % of the speed; after 512 MB of growth, to 1305–1356 MiB at
    4–6 % (benchmarks/RESULTS.md). No-op on other C libraries.
    """

    def __init__(self, slack_bytes: int = 512 << 20, *, ratchet: bool = False) -> None:
        self.slack_bytes = slack_bytes
        self.ratchet = ratchet
        self.ceiling = resident_bytes() + slack_bytes

    def after_pass(self) -> None:
        """Trim when grown past the ceiling; the next ceiling is ``slack_bytes`` above what is
        left (``ratchet``: never below the last one, for loops whose working set is freed
        between passes, which a trim would hand back and the next pass fault in again)."""
        if resident_bytes() <= self.ceiling:
            return
        libc = _libc()
        if libc is not None and hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)
        after = resident_bytes() + self.slack_bytes
        self.ceiling = max(self.ceiling, after) if self.ratchet else after


def limit_threads() -> int:
    """Use no more intra-op threads than the CPUs this process may run on; returns the count."""
    if hasattr(os, "sched_getaffinity"):
        available = len(os.sched_getaffinity(0))
        if torch.get_num_threads() > available:
            torch.set_num_threads(available)
    return torch.get_num_threads()


_DONE = object()


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Produce ``items`` in a background thread, up to ``depth`` ahead (errors re-raised here)."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(_DONE)
        except BaseException as err:  # handed to the consumer, which raises it
            slots.put(err)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(0.05)
