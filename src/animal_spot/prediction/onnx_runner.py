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


def export_onnx(
    model: AudioClassifier, input_shape: tuple[int, ...], features_only: bool = False
) -> bytes:
    """The network as ONNX (in memory) with a free batch axis: logits and embedding outputs.

    ``features_only``: the backbone's last feature map instead, with a free frames axis too.
    """
    if features_only:
        network: nn.Module = _Features(model)
        outputs, free_axes = ["features"], {0: "batch", 3: "frames"}
    else:
        network, outputs, free_axes = (
            _LogitsAndEmbedding(model),
            ["logits", "embedding"],
            {0: "batch"},
        )
    network = network.eval().to(memory_format=torch.contiguous_format)
    example = torch.zeros((2, *input_shape))
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
    model.to(memory_format=torch.channels_last)  # as the PyTorch path keeps it
    return buffer.getvalue()


def _session(network: bytes, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(network, options, providers=["CPUExecutionProvider"])


class OnnxRunner:
    """``runner(x)`` → (logits, embeddings) as NumPy arrays, for ``x`` of ``(B, 1, F, T)``.

    ``runner.features(x)`` gives the backbone's last feature map for inputs of any length
    (``--fast`` runs the backbone over whole blocks); that network is exported on first use.
    """

    session: Any

    def __init__(self, model: AudioClassifier, input_shape: tuple[int, int, int], threads: int):
        require_onnxruntime()
        self.model = model
        self.input_shape = input_shape
        self.threads = threads
        self.session = _session(export_onnx(model, input_shape), threads)
        self._features_session: Any = None

    @classmethod
    def from_features(cls, network: bytes, model: AudioClassifier, threads: int) -> OnnxRunner:
        """A runner of a feature network made elsewhere (the int8 one, free batch and frames
        axes); ``model``'s own head, in fp32, turns its feature maps into logits."""
        require_onnxruntime()
        runner = cls.__new__(cls)
        runner.model, runner.input_shape, runner.threads = model, (), threads
        runner.session = None
        runner._features_session = _session(network, threads)
        return runner

    def __call__(self, x: Tensor) -> tuple[np.ndarray, np.ndarray]:
        if self.session is None:  # a feature network: the head runs in PyTorch
            features = torch.from_numpy(self.features(x))
            with torch.inference_mode():
                logits = self.model.forward_head(features)
                embedding = self.model.forward_head(features, pre_logits=True)
            return logits.numpy(), embedding.numpy()
        logits, embedding = self.session.run(None, {"x": _array(x)})
        return logits, embedding

    def features(self, x: Tensor) -> np.ndarray:
        if self._features_session is None:
            network = export_onnx(self.model, self.input_shape, features_only=True)
            self._features_session = _session(network, self.threads)
        return self._features_session.run(None, {"x": _array(x)})[0]


def _array(x: Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
