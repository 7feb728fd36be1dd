"""The ANIMAL-SPOT training and prediction templates run as they are, in subprocesses."""

from __future__ import annotations

import subprocess
import sys

from animal_spot.bundle import load_model
from tests.conftest import write_wav

from .test_config_file import PREDICT_TEMPLATE, TRAIN_TEMPLATE
from .test_models import resnet_pk


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "animal_spot", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_training_template_trains_on_an_animal_spot_folder_reusing_its_split(tmp_path):
    data = tmp_path / "data"
    for i in range(8):
        tape = f"T{i % 4}"
        calls = [(0.1, 0.4, 3000.0)]
        write_wav(data / "site" / f"target-c_{i}_2019_{tape}_1_2.wav", 0.6, calls=calls, seed=i)
        write_wav(data / "site" / f"noise-_{i}_2019_{tape}_3_4.wav", 0.6, seed=50 + i)
    split = {"train": [0, 1, 2, 3, 4, 5], "val": [6], "test": [7]}
    for name, ids in split.items():
        rows = [
            f"site/{c}-{'c' if c == 'target' else ''}_{i}_2019_T{i % 4}_{a}_{b}.wav"
            for i in ids
            for c, a, b in (("target", 1, 2), ("noise", 3, 4))
        ]
        (data / "site" / f"{name}.csv").write_text("\n".join(rows) + "\n")
        (data / name).write_text(f"{data}/site/{name}.csv\n")
    (tmp_path / "noise").mkdir()
    write_wav(tmp_path / "noise" / "rain.wav", 2.0, seed=9)
    config = tmp_path / "train.cfg"
    config.write_text(
        TRAIN_TEMPLATE.format(root=tmp_path).replace("num_workers=8", "num_workers=0")
    )
    done = run("train", "--config", str(config), cwd=tmp_path)
    model_path = next((tmp_path / "model").glob("*/model.pt"))
    assert str(model_path) in done.stdout
    bundle = load_model(model_path)
    spec = bundle.config.spectrogram
    assert (spec.n_fft, spec.hop_length, spec.sequence_len_ms, spec.min_max_norm) == (
        1024,
        172,
        500,
        True,
    )
    assert bundle.config.model.max_pool == 2 and bundle.classes == ["noise", "target"]
    assert not (data / "train.csv").exists()  # ANIMAL-SPOT's split was reused, not redone


def test_prediction_template_runs_an_animal_spot_pk(tmp_path):
    (tmp_path / "model").mkdir()
    resnet_pk(tmp_path / "model", 18, 2, 2)
    write_wav(tmp_path / "audio" / "rec.wav", 2.0, calls=[(0.5, 0.5, 3000.0)])
    config = tmp_path / "predict.cfg"
    config.write_text(PREDICT_TEMPLATE.format(root=tmp_path))
    done = run("predict", "--config", str(config), cwd=tmp_path)
    # The template's 0.30 s window is what the old model sees, unfitted, as in predict.py.
    assert "assumed sequence_len" not in done.stderr
    assert (tmp_path / "predictions" / "rec.scores.csv").is_file()
