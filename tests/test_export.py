"""`animal-spot export`: TorchScript and ONNX files whose outputs equal the model.pt network's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from animal_spot.bundle import ModelBundle, load_model
from animal_spot.cli import main
from animal_spot.config import (
    AudioConfig,
    ExperimentConfig,
    ModelConfig,
    SpectrogramConfig,
    frontend_dict,
)
from animal_spot.errors import AnimalSpotError
from animal_spot.export import export, frontend_path
from animal_spot.models import build_model

CLASSES = ("noise", "upcall", "gunshot")
N_FREQ, N_FRAMES = 64, 75  # 300 ms at 16 kHz, hop 64


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = ExperimentConfig(
        audio=AudioConfig(sample_rate_hz=16000),
        spectrogram=SpectrogramConfig(
            n_fft=256, hop_length=64, n_freq_bins=N_FREQ, fmin_hz=100, fmax_hz=7000,
            sequence_len_ms=300,
        ),
    )  # fmt: skip
    torch.manual_seed(0)
    model = build_model(ModelConfig(), len(CLASSES)).eval()
    bundle = ModelBundle(config, list(CLASSES), model, thresholds={"upcall": 0.7})
    return bundle.save(tmp_path_factory.mktemp("model") / "model.pt")


@pytest.fixture(scope="module")
def onnx_file(model_path: Path) -> Path:
    """The model exported once to ONNX at the default place, beside it."""
    return export(model_path, "onnx")


@pytest.fixture(scope="module")
def original(model_path: Path) -> torch.nn.Module:
    """The network as model.pt gives it back."""
    return load_model(model_path).model


def logits(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).numpy()


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_export_gives_the_original_outputs(model_path, original, tmp_path):
    output = tmp_path / "detector.ts.pt"

    assert main(["export", "--model_path", str(model_path), "--output", str(output)]) == 0

    extra = {"frontend.json": ""}
    scripted = torch.jit.load(str(output), _extra_files=extra)
    x = torch.rand(3, 1, N_FREQ, N_FRAMES, generator=torch.Generator().manual_seed(1))
    assert np.abs(logits(scripted, x) - logits(original, x)).max() < 1e-4
    assert json.loads(extra["frontend.json"])["classes"] == list(CLASSES)


def test_onnx_export_gives_the_original_outputs_at_any_batch_size(original, onnx_file):
    onnxruntime = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")

    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    for batch in (1, 4):
        x = torch.rand(batch, 1, N_FREQ, N_FRAMES, generator=torch.Generator().manual_seed(batch))
        (exported,) = session.run(None, {"spectrogram": x.numpy()})
        assert exported.shape == (batch, len(CLASSES))
        assert np.abs(exported - logits(original, x)).max() < 1e-4
    proto = onnx.load(str(onnx_file))
    assert proto.opset_import[0].version >= 17
    assert any(p.key == "animal_spot_frontend" for p in proto.metadata_props)


def test_frontend_json_beside_the_export_lets_another_runtime_rebuild_the_input(
    model_path, onnx_file
):
    description = json.loads(frontend_path(onnx_file).read_text())

    bundle = load_model(model_path)
    assert description["frontend"] == frontend_dict(bundle.config.audio, bundle.config.spectrogram)
    assert description["input"]["shape"] == ["batch", 1, N_FREQ, N_FRAMES]
    assert description["classes"] == list(CLASSES)
    assert description["noise_class"] == "noise"
    assert description["thresholds"] == {"upcall": 0.7}
    assert description["normalisation"]["kind"] == "0/1-dB"
    assert description["model_file"] == "model.onnx"


def test_default_output_lies_beside_the_model(model_path, onnx_file):
    assert onnx_file == model_path.with_name("model.onnx")
    assert frontend_path(onnx_file) == model_path.with_name("model.frontend.json")
    assert frontend_path(onnx_file).is_file()


def test_onnx_export_without_the_onnx_package_exits_2_naming_the_extra(model_path, tmp_path):
    # A None entry in sys.modules makes `import onnx` fail as if it were not installed.
    code = (
        "import sys; sys.modules['onnx'] = None; from animal_spot.cli import main; "
        f"sys.exit(main(['export', '--model_path', {str(model_path)!r}, '--format', 'onnx', "
        f"'--output', {str(tmp_path / 'm.onnx')!r}]))"
    )

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "animal-spot export: ONNX export needs the onnx package — pip install animal-spot[export]"
    ]
    assert not (tmp_path / "m.onnx").exists()


def test_export_of_a_missing_model_exits_2(tmp_path, capsys):
    assert main(["export", "--model_path", str(tmp_path / "none.pt"), "--format", "onnx"]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_an_onnx_file_that_runs_differently_is_refused_and_not_left_behind(
    model_path, tmp_path, monkeypatch
):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    run = onnxruntime.InferenceSession.run

    def off_by_a_little(self, names, feed):  # what a wrong conversion would give
        return [out + 1e-2 for out in run(self, names, feed)]

    monkeypatch.setattr(onnxruntime.InferenceSession, "run", off_by_a_little)
    target = tmp_path / "bad.onnx"
    with pytest.raises(AnimalSpotError, match=r"ONNX export differs from the original by 0\.01"):
        export(model_path, "onnx", target)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".onnx" or ".tmp" in p.name]
