"""The models a predict config names, composed into one scorer: one model, an ensemble, fast
shared frames, a cascade, and/or a detector in front of a classifier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backbones import backbone_of
from ..bundle import FRAMING, PER_WINDOW, ModelBundle, load_model
from ..config import PredictConfig
from ..console import say
from ..errors import BadConfig
from ..kinds import RUNTIMES
from ..registry import Registry
from .pipeline import Ensemble, Scorer, Single, TwoStage
from .predictor import Predictor

log = logging.getLogger(__name__)
Load = Callable[[Path], Predictor]


def predictor_for(bundle: ModelBundle, **options: Any) -> Predictor:
    """The Predictor a bundle's backbone scores with (`Predictor`'s arguments)."""
    return backbone_of(bundle.config.model).predictor(bundle, **options)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ScorerKind:
    """A way of scoring that wraps the scorer built so far, when the config asks for it.

    Attributes:
        order: kinds apply in rising order (a detector stage goes around everything else).
        is_wanted: whether a predict config asks for it.
        wrap: ``(scorer, predictors, config, load)`` → the wrapped scorer; ``load`` reads one
            more model the way the others were read.
    """

    order: int
    is_wanted: Callable[[PredictConfig], bool]
    wrap: Callable[[Scorer, list[Predictor], PredictConfig, Load], Scorer]


# The base scorer (one model, or an ensemble of the --model_path given) comes first.
SCORER_KINDS: Registry[ScorerKind] = Registry("scorer kind")


def _fast(scorer: Scorer, predictors: list[Predictor], config: PredictConfig, load: Load) -> Scorer:
    from .shared import BLOCK_S, CONTEXT_FRAMES, make_fast

    others = [
        p.bundle.config.model.backbone
        for p in predictors
        if not backbone_of(p.bundle.config.model).reads_spectrograms
    ]
    if others:
        raise BadConfig(
            f"--fast shares a CNN's overlapping spectrogram frames; a {others[0]} model has none",
            fix="drop --fast (--cascade saves time with any model)",
        )
    block_s = BLOCK_S
    if config.max_memory_gb is not None:
        from .memory import fast_block_s

        budget = config.max_memory_gb
        block_s = min(fast_block_s(p, budget, BLOCK_S, CONTEXT_FRAMES) for p in predictors)
        say(f"--max_memory_gb {budget:g}: --fast runs {block_s:.1f} s of frames at a time")
    return make_fast(scorer, block_s)


def _cascade(
    scorer: Scorer, predictors: list[Predictor], config: PredictConfig, load: Load
) -> Scorer:
    from .cascade import Cascade

    grid = predictors[0].grid
    start_s, end_s = grid.span_s(0, grid.window_frames)
    return Cascade(
        scorer,
        window_s=end_s - start_s,
        hop_s=config.hop_s,
        candidate_threshold=config.cascade_threshold,
    )


def _two_stage(
    scorer: Scorer, predictors: list[Predictor], config: PredictConfig, load: Load
) -> Scorer:
    assert config.detector_model is not None
    return TwoStage(load(config.detector_model), scorer, str(config.detector_model))


SCORER_KINDS.add("fast", ScorerKind(10, lambda config: config.fast, _fast))
SCORER_KINDS.add("cascade", ScorerKind(20, lambda config: config.cascade, _cascade))
SCORER_KINDS.add(
    "two_stage", ScorerKind(30, lambda config: config.detector_model is not None, _two_stage)
)


def build_scorer(config: PredictConfig) -> Scorer:
    """The models ``config`` names, composed: one or an ensemble, then each `SCORER_KINDS`
    entry the config asks for (--fast, --cascade, a --detector_model in front)."""
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
        legacy_windows = wants_legacy_windows(bundle, config, path)
        int8 = int8_for(bundle, path, config, legacy_windows)
        options = {} if int8 is None else {"int8": int8}
        predictor = predictor_for(
            bundle,
            legacy_windows=legacy_windows,
            window_s=config.window_s,
            hop_s=config.hop_s,
            batch_size=config.batch_size,
            device=config.device,
            precision="32" if int8 is not None else config.precision,
            **options,
            num_workers=config.num_workers,
            runtime=config.runtime,
        )
        # (--fast fits its block instead; a TorchScript file has no layers to measure)
        if config.max_memory_gb is not None and not (config.fast or config.jit_load):
            from .memory import fit_batches

            if backbone_of(bundle.config.model).reads_spectrograms:
                (size,) = fit_batches([predictor], config.max_memory_gb)
                budget = config.max_memory_gb
                say(f"--max_memory_gb {budget:g}: {path} scores {size} windows a batch")
        return predictor

    predictors = [load(path) for path in config.model_path]
    names = [str(path) for path in config.model_path]
    scorer: Scorer = Single(predictors[0]) if len(predictors) == 1 else Ensemble(predictors, names)
    kinds = sorted((SCORER_KINDS.get(name) for name in SCORER_KINDS), key=lambda k: k.order)
    for kind in kinds:
        if kind.is_wanted(config):
            scorer = kind.wrap(scorer, predictors, config, load)
    return scorer


def int8_for(
    bundle: ModelBundle, path: Path, config: PredictConfig, legacy_windows: bool
) -> bytes | None:
    """The model's int8 network (`int8`) when the config asks for it, else None.

    ``--precision int8``: the one stored beside the model, or one made and checked now.
    ``--precision auto``: the stored one, where the CPU has int8 instructions (`fast_int8`)
    but no native bf16 (which is faster still), and the model is scored on the CPU over
    frame-grid windows by PyTorch; never made here, since that needs the model's clips and
    changes the scores (a little).

    Raises:
        BadConfig: ``int8`` for a birdnet model, or no clips to calibrate on.
        BadModel: the int8 network disagrees with fp32 too often.
    """
    import torch

    from .int8 import int8_network, int8_paths, stored_int8
    from .runtime import choose_device, fast_int8, native_bf16

    reads_spectrograms = backbone_of(bundle.config.model).reads_spectrograms
    if config.precision == "auto":
        if not (
            reads_spectrograms
            and not legacy_windows
            and not config.jit_load
            and RUNTIMES.get(config.runtime).runner is None
            and choose_device(config.device).type == "cpu"
            and fast_int8()
            and not native_bf16()  # AMX's bf16 took 16-21 % less time than int8 (RESULTS.md)
        ):
            return None
        stored = stored_int8(path)
        if stored is None:
            return None
        say(f"{path}: --precision auto runs {int8_paths(path)[0].name} ({stored[1].summary()})")
        return stored[0]
    if config.precision != "int8":
        return None
    if not reads_spectrograms:
        raise BadConfig(
            f"--precision int8 quantizes a CNN; a {bundle.config.model.backbone} model has none",
            path=path,
        )
    return int8_network(bundle, path, config.int8_calibration_dir, torch.get_num_threads())


def wants_legacy_windows(bundle: ModelBundle, config: PredictConfig, path: Path) -> bool:
    """``--legacy_windows`` as given; by default on for a model converted from a ``.pk``.

    Such a model was trained on ANIMAL-SPOT's front end and is scored as ANIMAL-SPOT scored it,
    unless a frame-grid option (``--fast``, ``--cascade``, ``--runtime onnx``) is asked for.

    Raises:
        BadConfig: ``--legacy_windows`` for a model that reads no spectrogram (birdnet).
    """
    reads_spectrograms = backbone_of(bundle.config.model).reads_spectrograms
    if config.legacy_windows is not None:
        if config.legacy_windows and not reads_spectrograms:
            raise BadConfig(
                f"--legacy_windows is for spectrogram networks, not {bundle.config.model.backbone}",
                path=path,
            )
        return config.legacy_windows
    # A model trained on per-window spectrograms (an ANIMAL-SPOT one) is scored the same way.
    if not reads_spectrograms or bundle.provenance.get(FRAMING) != PER_WINDOW:
        return False
    frame_grid = [
        flag
        for flag, on in (
            ("--fast", config.fast),
            ("--cascade", config.cascade),
            (f"--runtime {config.runtime}", RUNTIMES.get(config.runtime).on_frame_grid),
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
