"""animal-spot: train detectors and classifiers of animal sounds and run them over recordings.

The public API, one function per command::

    import animal_spot
    result = animal_spot.prepare("data/", clips_dir="clips/")   # or prepare(PrepareConfig(...))
    run = animal_spot.train(animal_spot.load_config("experiment.toml"))
    animal_spot.predict(config)            # config.predict names models and recordings
    animal_spot.evaluate("predictions/", "reference_tables/")  # or evaluate(EvaluateConfig(...))
    animal_spot.mine("runs/x/model.pt", "quiet_nights/", "data/")  # false positives → train
    animal_spot.tune(config, animal_spot.TuneConfig(output_dir="tuning/", n_trials=50))
    bundle = animal_spot.load_model("runs/x/model.pt")

Names are imported on first use, so ``import animal_spot`` (and ``animal-spot --help``) stays
fast and torch is loaded only when a function that needs it is called.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name → module that defines it
_EXPORTS = {
    "prepare": "animal_spot.data.prepare",
    "audit_folder": "animal_spot.data.prepare",
    "train": "animal_spot.training.fit",
    "predict": "animal_spot.prediction.api",
    "mine": "animal_spot.data.mining",
    "tune": "animal_spot.tuning",
    "TuneConfig": "animal_spot.tuning",
    "evaluate": "animal_spot.evaluation",
    "export": "animal_spot.export",
    "load_model": "animal_spot.bundle",
    "ModelBundle": "animal_spot.bundle",
    "load_config": "animal_spot.config",
    "ExperimentConfig": "animal_spot.config",
    "AudioConfig": "animal_spot.config",
    "SpectrogramConfig": "animal_spot.config",
    "AugmentConfig": "animal_spot.config",
    "DataConfig": "animal_spot.config",
    "ModelConfig": "animal_spot.config",
    "TrainConfig": "animal_spot.config",
    "PredictConfig": "animal_spot.config",
    "PrepareConfig": "animal_spot.verb_config",
    "EvaluateConfig": "animal_spot.verb_config",
    "Frontend": "animal_spot.frontend.spectrogram",
    "AnimalSpotError": "animal_spot.errors",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'animal_spot' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
