"""The models a predict config names, composed into one scorer: one model, an ensemble, fast
shared frames, a cascade, and/or a detector in front of a classifier.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..bundle import FRAMING, PER_WINDOW, ModelBundle, load_model
from ..config import PredictConfig
from ..errors import BadConfig
from ..features.predictor import EmbeddingPredictor
from .pipeline import Ensemble, Scorer, Single, TwoStage
from .predictor import Predictor

log = logging.getLogger(__name__)


def predictor_for(bundle: ModelBundle, **options: Any) -> Predictor:
    """The Predictor a bundle needs (`Predictor`'s arguments): spectrograms or BirdNET's."""
    if bundle.config.model.backbone == "birdnet":
        return EmbeddingPredictor(bundle, **options)
    return Predictor(bundle, **options)


def build_scorer(config: PredictConfig) -> Scorer:
    """The models ``config`` names, composed: one, an ensemble, and/or detector → classifier."""
    if not config.model_path:
        raise BadConfig("no model given", fix="pass --model_path model.pt (repeat for an ensemble)")

    # An ANIMAL-SPOT .pk stores neither its window nor its normalisation: take them from here.
    window_ms = None if config.window_s is None else config.window_s * 1000

    def load(path: Path) -> Predictor:
        if config.jit_load:
            from .torchscript import load_torchscript

            bundle = load_torchscript(path)
        else:
            bundle = load_model(path, sequence_len_ms=window_ms, min_max_norm=config.min_max_norm)
        is_int8 = config.precision == "int8"
        options = {"int8": int8_for(bundle, path, config)} if is_int8 else {}
        return predictor_for(
            bundle,
            legacy_windows=wants_legacy_windows(bundle, config, path),
            window_s=config.window_s,
            hop_s=config.hop_s,
            batch_size=config.batch_size,
            device=config.device,
            precision="32" if is_int8 else config.precision,
            **options,
            num_workers=config.num_workers,
            runtime=config.runtime,
        )

    predictors = [load(path) for path in config.model_path]
    names = [str(path) for path in config.model_path]
    scorer: Scorer = Single(predictors[0]) if len(predictors) == 1 else Ensemble(predictors, names)
    if config.fast:
        from .shared import make_fast

        if any(p.bundle.config.model.backbone == "birdnet" for p in predictors):
            raise BadConfig(
                "--fast shares a CNN's overlapping spectrogram frames; a birdnet model has none",
                fix="drop --fast (--cascade saves time with any model)",
            )
        scorer = make_fast(scorer)
    if config.cascade:
        from .cascade import Cascade

        grid = predictors[0].grid
        start_s, end_s = grid.span_s(0, grid.window_frames)
        scorer = Cascade(
            scorer,
            window_s=end_s - start_s,
            hop_s=config.hop_s,
            candidate_threshold=config.cascade_threshold,
        )
    if config.detector_model is not None:
        scorer = TwoStage(load(config.detector_model), scorer, str(config.detector_model))
    return scorer


def int8_for(bundle: ModelBundle, path: Path, config: PredictConfig) -> bytes:
    """The model's int8 network (`int8`): stored beside it, or made and checked now.

    Raises:
        BadConfig: a birdnet model, or no clips to calibrate on.
        BadModel: the int8 network disagrees with fp32 too often.
    """
    import torch

    from .int8 import int8_network

    if bundle.config.model.backbone == "birdnet":
        raise BadConfig("--precision int8 quantizes a CNN; a birdnet model has none", path=path)
    return int8_network(bundle, path, config.int8_calibration_dir, torch.get_num_threads())


def wants_legacy_windows(bundle: ModelBundle, config: PredictConfig, path: Path) -> bool:
    """``--legacy_windows`` as given; by default on for a model converted from a ``.pk``.

    Such a model was trained on ANIMAL-SPOT's front end and is scored as ANIMAL-SPOT scored it,
    unless a frame-grid option (``--fast``, ``--cascade``, ``--runtime onnx``) is asked for.

    Raises:
        BadConfig: ``--legacy_windows`` for a model that reads no spectrogram (birdnet).
    """
    is_birdnet = bundle.config.model.backbone == "birdnet"
    if config.legacy_windows is not None:
        if config.legacy_windows and is_birdnet:
            raise BadConfig("--legacy_windows is for spectrogram networks, not birdnet", path=path)
        return config.legacy_windows
    # A model trained on per-window spectrograms (an ANIMAL-SPOT one) is scored the same way.
    if is_birdnet or bundle.provenance.get(FRAMING) != PER_WINDOW:
        return False
    frame_grid = [
        flag
        for flag, on in (
            ("--fast", config.fast),
            ("--cascade", config.cascade),
            ("--runtime onnx", config.runtime == "onnx"),
            ("--precision int8", config.precision == "int8"),
        )
        if on
    ]
    if frame_grid:
        log.warning(
            "%s: %s scores windows on the frame grid; the scores differ from ANIMAL-SPOT's "
            "predict.py (its windows: drop %s)",
            path,
            frame_grid[0],
            frame_grid[0],
        )
        return False
    return True


def primary_bundle(scorer: object) -> ModelBundle:
    """The bundle of the first model (the classifier of a two-stage pipeline)."""
    for _ in range(4):
        if isinstance(scorer, TwoStage):
            scorer = scorer.classifier
        for name in ("scorer", "predictor", "ensemble"):  # Cascade, Single/fast, FastEnsemble
            scorer = getattr(scorer, name, scorer)
        if isinstance(scorer, Predictor):
            return scorer.bundle
        if isinstance(scorer, Ensemble):
            return scorer.predictors[0].bundle
    raise TypeError(f"no model inside {type(scorer).__name__}")
