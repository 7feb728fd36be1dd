"""ANIMAL-SPOT's files reach the core only through the registries ``animal_spot.legacy`` fills.

Each check runs in a fresh interpreter: this test process has imported ``legacy`` already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch

    from animal_spot.bundle import load_model
    from animal_spot.config import load_config
    from animal_spot.config import PredictConfig
    from animal_spot.errors import AnimalSpotError
    from animal_spot.prediction.api import predict

    folder = Path(sys.argv[1])
    pk = folder / "model.pk"
    torch.save({"encoderOpts": {"resnet_size": 18}, "encoderState": {}}, pk)
    config_file = folder / "config"
    config_file.write_text("data_dir=/tmp\\nmax_train_epochs=3\\n")
    recording = folder / "a.wav"
    recording.write_bytes(b"")

    def outcome(call):
        try:
            call()
        except AnimalSpotError as err:
            return str(err).splitlines()[0]
        return "loaded"

    print(outcome(lambda: load_model(pk)))
    print(outcome(lambda: load_config(config_file)))
    print(outcome(lambda: predict(PredictConfig(
        model_path=[pk], input_file=recording, output_dir=folder / "out", legacy_log=True))))
    import animal_spot.legacy  # noqa: F401
    print(outcome(lambda: load_model(pk)))
    print(load_config(config_file).train.max_train_epochs)
    """
)


def test_the_core_reads_no_animal_spot_file_until_legacy_is_imported(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, check=True
    )
    pk_before, config_before, log_before, pk_after, epochs = done.stdout.strip().splitlines()
    assert "not an animal-spot model.pt" in pk_before and "animal_spot.legacy" in pk_before
    assert "not a .toml file" in config_before and "animal_spot.legacy" in config_before
    assert "--legacy_log has no writer" in log_before
    # once imported, the .pk reader takes the file (this one lacks its weights, and says so)
    assert "model.pk" in pk_after and "not an animal-spot" not in pk_after
    assert epochs == "3"
