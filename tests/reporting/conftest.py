"""One real chain for the prediction and evaluation reports: train → predict → evaluate.

A tone detector is trained once for the whole session (about 8 s on one thread), its target
class renamed to a label holding markup, and run over synthetic recordings with known calls.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from pathlib import Path

import matplotlib.image
import pytest
import torch

from animal_spot.annotations.event import Event
from animal_spot.annotations.raven import write_table
from animal_spot.bundle import load_model
from animal_spot.config import PredictConfig
from animal_spot.evaluation import EvaluationResult, evaluate
from animal_spot.prediction.api import PredictResult, predict
from animal_spot.synthetic import synthesize_recording
from tests.prediction.conftest import train_tone_model

HOSTILE = "<script>x"  # a class label that would run as code if written unescaped
HOP_S = 0.25
# (name, duration_s, call starts); every call is a 0.4 s tone. "extra" has no reference table.
RECORDINGS = (
    ("night", 60.0, (6.3, 15.1, 24.7, 33.2, 41.9, 52.4)),
    ("dawn", 16.0, (4.2,)),
    ("extra", 8.0, (3.1,)),
)
REFERENCED = ("night", "dawn")


@dataclasses.dataclass(frozen=True)
class Chain:
    """Where everything went, and what predict and evaluate returned."""

    model: Path
    inputs: Path
    predictions: Path
    references: Path
    evaluation: Path
    predicted: PredictResult
    evaluated: EvaluationResult


def write_inputs(folder: Path) -> Path:
    """The recordings of `RECORDINGS` and one file that is not audio (errors.csv)."""
    for seed, (name, duration_s, starts) in enumerate(RECORDINGS):
        calls = [(start_s, 0.4, "tone") for start_s in starts]
        synthesize_recording(folder / f"{name}.wav", duration_s, calls, seed=seed)
    (folder / "broken.wav").write_bytes(b"not audio")
    return folder


def predict_into(model: Path, inputs: Path, output_dir: Path, **kwargs) -> PredictResult:
    config = PredictConfig(
        model_path=(model,), input_file=inputs, output_dir=output_dir, hop_s=HOP_S
    )
    return predict(config, progress=False, **kwargs)


@pytest.fixture(scope="session")
def hostile_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained tone detector with its ``tone`` class renamed `HOSTILE`."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the same model on every machine and load
    try:
        trained = train_tone_model(tmp_path_factory.mktemp("trained"))
    finally:
        torch.set_num_threads(before)
    bundle = load_model(trained)
    bundle.classes = [HOSTILE if c == "tone" else c for c in bundle.classes]
    return bundle.save(trained.with_name("hostile.pt"))


@pytest.fixture(scope="session")
def chain(hostile_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """predict (writing its report) and evaluate (writing its report) on the recordings."""
    root = tmp_path_factory.mktemp("chain")
    inputs = write_inputs(root / "inputs")
    predictions = root / "predictions"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANIMAL_SPOT_NATIVE_BF16", "0")  # fp32 scores on every machine
        predicted = predict_into(hostile_model, inputs, predictions, report=True)
    references = root / "references"
    for name, _, starts in RECORDINGS:
        if name in REFERENCED:
            events = [Event(s, s + 0.4, HOSTILE) for s in starts]
            write_table(events, references / f"{name}.Table.1.selections.txt")
    evaluation = root / "evaluation"
    evaluated = evaluate(
        predictions,
        references,
        scores=predictions,
        output_dir=evaluation,
        n_thresholds=21,
        report=True,
    )
    return Chain(hostile_model, inputs, predictions, references, evaluation, predicted, evaluated)


# ---------------------------------------------------------------- checks shared by both reports
def section_ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"><h2>[^<]+</h2>', page)


def embedded_pngs(page: str) -> list[bytes]:
    return [
        base64.b64decode(encoded, validate=True)
        for encoded in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    ]


def assert_real_png(data: bytes) -> None:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert pixels.shape[0] >= 100 and pixels.shape[1] >= 150
    assert pixels.std() > 0.01  # not a blank canvas


def assert_self_contained(page: str) -> None:
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:", page)  # base64 holds //
    lowered = text.lower()
    assert "http:" not in lowered and "https:" not in lowered and "//" not in text
    assert "<link" not in lowered and "<script" not in lowered
    sources = re.findall(r"""src\s*=\s*["']?([^"' >]*)""", page, flags=re.IGNORECASE)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "url(" not in lowered and "@import" not in lowered  # nothing the style sheet fetches
