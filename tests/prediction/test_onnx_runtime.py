"""`--runtime onnx`: ONNX Runtime scores and embeddings equal PyTorch's; clear refusals."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from animal_spot import audio
from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.errors import BadConfig
from animal_spot.prediction.api import predict
from animal_spot.prediction.predictor import Predictor
from animal_spot.prediction.scores import read_scores
from tests.conftest import write_wav

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

CALLS = [(1.0, 0.4, 1000.0), (4.6, 0.3, 2500.0), (8.1, 0.45, 1800.0)]


@pytest.fixture
def recording(tmp_path):
    return write_wav(tmp_path / "rec.wav", 10.3, sample_rate_hz=8000, calls=CALLS)


def test_onnx_runtime_scores_and_embeddings_equal_pytorch_at_any_batch_size(make_model, recording):
    path = make_model(classes=("noise", "tone", "sweep"))
    torch_scores = Predictor(load_model(path), hop_s=0.25).score_file(recording, latent=True)
    onnx = Predictor(load_model(path), hop_s=0.25, batch_size=7, runtime="onnx")
    assert onnx.onnx is not None
    onnx_scores = onnx.score_file(recording, latent=True)
    assert len(onnx_scores.track) == len(torch_scores.track) == 41
    np.testing.assert_allclose(onnx_scores.track.probs, torch_scores.track.probs, atol=1e-5)
    np.testing.assert_allclose(onnx_scores.embeddings, torch_scores.embeddings, atol=1e-4)
    # and the streamed ONNX path still equals each window scored alone
    whole = onnx.score_samples(audio.read(recording)).track
    np.testing.assert_allclose(onnx_scores.track.probs, whole.probs, atol=1e-6)


def test_predict_with_runtime_onnx_writes_the_scores_of_pytorch(make_model, recording, tmp_path):
    model = make_model()
    outputs = {}
    for runtime in ("torch", "onnx"):
        config = PredictConfig(
            model_path=(model,), input_file=recording, output_dir=tmp_path / runtime,
            runtime=runtime, threshold=0.3,
        )  # fmt: skip
        predict(config, progress=False)
        (outputs[runtime],) = read_scores(tmp_path / runtime / "rec.scores.csv")
    np.testing.assert_allclose(outputs["onnx"].probs, outputs["torch"].probs, atol=1e-5)


def test_runtime_onnx_refuses_bf16_and_unknown_runtimes(make_model):
    bundle = load_model(make_model())
    with pytest.raises(BadConfig, match="CPU in fp32"):
        Predictor(bundle, runtime="onnx", precision="bf16")
    with pytest.raises(BadConfig, match="unknown runtime"):
        Predictor(bundle, runtime="tvm")
    with pytest.raises(BadConfig, match="runtime"):
        PredictConfig(runtime="tvm")  # type: ignore[arg-type]


def test_runtime_onnx_without_onnxruntime_names_the_install(make_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(BadConfig, match=r"pip install 'animal-spot\[export\]'"):
        Predictor(load_model(make_model()), runtime="onnx")


def test_the_fast_path_under_onnx_runtime_equals_its_pytorch_scores(make_model, recording):
    from animal_spot.prediction.shared import SharedOverlap

    path = make_model()
    torch_fast = SharedOverlap(Predictor(load_model(path), hop_s=0.25), block_s=3.0)
    onnx_fast = SharedOverlap(Predictor(load_model(path), hop_s=0.25, runtime="onnx"), block_s=3.0)
    expected = torch_fast.score_file(recording, latent=True)
    got = onnx_fast.score_file(recording, latent=True)
    assert onnx_fast.predictor.onnx is not None
    assert len(got.track) == len(expected.track) == 41
    np.testing.assert_allclose(got.track.probs, expected.track.probs, atol=1e-5)
    np.testing.assert_allclose(got.embeddings, expected.embeddings, atol=1e-4)
