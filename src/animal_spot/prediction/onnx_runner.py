"""The network under ONNX Runtime on the CPU: an alternative to PyTorch for the exact path.

Which of the two is faster depends on the model and the CPU (``benchmarks/predict_speed.py``
prints both); the scores agree to float rounding. The network is exported once, in memory,
with a free batch axis, and returns the logits and the penultimate-layer embedding.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import BadConfig
from ..models import AudioClassifier

ONNX_OPSET = 17


class _Features(nn.Module):
    def __init__(self, model: AudioClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return self.model.forward_features(x)


class _LogitsAndEmbedding(nn.Module):
    def __init__(self, model: AudioClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.model.forward_features(x)
        return self.model.forward_head(features), self.model.forward_head(features, True)


def require_onnxruntime() -> None:
    """Fail with the install command when ONNX Runtime or the exporter's onnx is missing."""
    try:
        import onnx  # noqa: F401  (the exporter writes through it)
        import onnxruntime  # noqa: F401
    except ImportError:
        raise BadConfig(
            "--runtime onnx needs the onnx and onnxruntime packages",
            fix="pip install 'animal-spot[export]', or use --runtime torch",
        ) from None


class OnnxRunner:
    """``runner(x)`` → (logits, embeddings) as NumPy arrays, for ``x`` of ``(B, 1, F, T)``.

    ``runner.features(x)`` gives the backbone's last feature map for inputs of any length
    (``--fast`` runs the backbone over whole blocks); that network is exported on first use.
    """

    def __init__(self, model: AudioClassifier, input_shape: tuple[int, int, int], threads: int):
        require_onnxruntime()
        self.model = model
        self.input_shape = input_shape
        self.threads = threads
        self.session = self._session(
            _LogitsAndEmbedding(model), ["logits", "embedding"], {0: "batch"}
        )
        self._features_session: Any = None

    def _session(self, network: nn.Module, outputs: list[str], free_axes: dict[int, str]) -> Any:
        import onnxruntime as ort

        network = network.eval().to(memory_format=torch.contiguous_format)
        example = torch.zeros((2, *self.input_shape))
        buffer = io.BytesIO()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notices
            torch.onnx.export(
                network,
                (example,),
                buffer,
                input_names=["x"],
                output_names=outputs,
                dynamic_axes={"x": free_axes, **{name: {0: "batch"} for name in outputs}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        self.model.to(memory_format=torch.channels_last)  # as the PyTorch path keeps it
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
        logits, embedding = self.session.run(None, {"x": _array(x)})
        return logits, embedding

    def features(self, x: Tensor) -> np.ndarray:
        if self._features_session is None:
            self._features_session = self._session(
                _Features(self.model), ["features"], {0: "batch", 3: "frames"}
            )
        return self._features_session.run(None, {"x": _array(x)})[0]


def _array(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
