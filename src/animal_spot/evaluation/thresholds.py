"""Per-class score thresholds: chosen on a validation set's curves, stored in ``model.pt``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadModel
from .curves import PrCurve
from .matching import AGNOSTIC_LABEL
from .metrics import Figures

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # torch loads only where a model is touched
    from ..bundle import ModelBundle


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The threshold picked for one class and the figures it gives on the validation set.

    Attributes:
        label: The class.
        threshold: The chosen score threshold; None where the class has no reference event.
        precision: Event precision at that threshold.
        recall: Event recall at that threshold.
        f1: Event F1 at that threshold.
        rule: ``target_precision`` (lowest threshold reaching it), ``best_precision`` (the
            target was out of reach: the lowest threshold with the highest precision),
            ``max_f1`` (no target: the middle one of the thresholds with the highest F1), or,
            with no threshold chosen, ``no_references`` or ``nothing_predicted``.
    """

    label: str
    threshold: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "rule": self.rule,
        }


def choose_threshold(curve: PrCurve, target_precision: float | None = None) -> ThresholdChoice:
    """Pick one class's threshold from its curve.

    With ``target_precision``: the lowest threshold whose precision reaches it (the most recall
    at that precision); if none does, the lowest threshold of the highest precision. Without:
    the highest F1, and where several thresholds share it, the middle one of them (ascending;
    the upper middle of an even count). Thresholds at which nothing is predicted never win.
    """
    label = curve.label
    if target_precision is not None and not 0 < target_precision <= 1:
        raise ValueError(f"target_precision = {target_precision} must lie in (0, 1]")
    if not curve.figures or curve.figures[0].n_reference == 0:
        return ThresholdChoice(label, None, None, None, None, "no_references")
    # (threshold, precision, figures) where something was predicted, thresholds ascending.
    usable = sorted(
        (
            (threshold, figures.precision, figures)
            for threshold, figures in zip(curve.thresholds, curve.figures, strict=True)
            if figures.precision is not None
        ),
        key=lambda item: item[0],
    )
    if not usable:
        return ThresholdChoice(label, None, None, 0.0, 0.0, "nothing_predicted")

    def choice(item: tuple[float, float, Figures], rule: str) -> ThresholdChoice:
        threshold, precision, figures = item
        return ThresholdChoice(label, threshold, precision, figures.recall, figures.f1, rule)

    if target_precision is not None:
        reaching = [item for item in usable if item[1] >= target_precision - 1e-12]
        if reaching:
            return choice(reaching[0], "target_precision")
        best = max(precision for _, precision, _ in usable)
        return choice(next(item for item in usable if item[1] == best), "best_precision")
    best = max(figures.f1 or 0.0 for _, _, figures in usable)
    tied = [item for item in usable if (item[2].f1 or 0.0) == best]
    # The middle of a plateau, not its edge: the edge lies next to a score that changes events.
    return choice(tied[len(tied) // 2], "max_f1")


def choose_thresholds(
    curves: Mapping[str, PrCurve], target_precision: float | None = None
) -> dict[str, ThresholdChoice]:
    """`choose_threshold` for every curve, by class name."""
    return {label: choose_threshold(curve, target_precision) for label, curve in curves.items()}


def model_thresholds(
    choices: Mapping[str, ThresholdChoice], classes: list[str], noise_class: str | None
) -> dict[str, float]:
    """The chosen thresholds keyed by the model's classes.

    The class-agnostic choice (``any``) applies to every non-noise class. Classes without a
    choice are left out, so they keep what the model had.
    """
    chosen = {label: c.threshold for label, c in choices.items() if c.threshold is not None}
    if AGNOSTIC_LABEL in chosen and AGNOSTIC_LABEL not in classes:
        value = chosen.pop(AGNOSTIC_LABEL)
        chosen |= {c: value for c in classes if noise_class is None or c != noise_class}
    return chosen


def thresholds_destination(model_path: str | Path) -> Path:
    """Where thresholds for ``model_path`` go: the file itself when it is a ``model.pt``.

    An ANIMAL-SPOT ``.pk`` is not this package's to change: its thresholds go into
    ``<stem>.model.pt`` beside it, a converted copy (made on the first call, then updated).
    """
    path = Path(model_path)
    if not path.is_file() or not _is_legacy(path):
        return path  # a model.pt, or a file load_model will refuse in its own words
    return path.with_name(f"{path.stem}.model.pt")


def _is_legacy(path: Path) -> bool:
    import torch

    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # load_model reports a bad file in its own words
        return False
    return isinstance(content, dict) and ("encoderState" in content or "encoderOpts" in content)


def write_thresholds(
    model_path: str | Path, choices: Mapping[str, ThresholdChoice], note: str = ""
) -> dict[str, float]:
    """Store the chosen thresholds in ``model.pt`` (atomically); prediction then uses them.

    A ``.pk`` is left as it is: they go into `thresholds_destination` instead.

    Returns:
        The model's thresholds after the update.

    Raises:
        BadModel: the model cannot be loaded, or a chosen class is not one of its classes.
    """
    from ..bundle import load_model  # torch only where a model is touched

    target = thresholds_destination(model_path)
    if target != Path(model_path):
        log.warning(
            "%s is an ANIMAL-SPOT model, left unchanged: the thresholds go into %s "
            "(predict with that file)",
            model_path,
            target,
        )
    bundle = load_model(target if target.exists() else model_path)
    chosen = model_thresholds(choices, bundle.classes, bundle.noise_class)
    _require_classes(bundle, chosen, model_path)
    bundle.thresholds = {**bundle.thresholds, **chosen}
    bundle.provenance = {
        **bundle.provenance,
        "thresholds_chosen": f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} {note}".strip(),
    }
    bundle.save(target)
    return dict(bundle.thresholds)


def model_event_options(
    model_path: str | Path | None, classes: Iterable[str]
) -> dict[str, float | str]:
    """The merge gap, minimum duration and event span ``model_path`` predicts with ({} if none).

    Raises:
        BadModel: the model cannot be loaded, or lacks one of ``classes`` (the scores').
    """
    if model_path is None:
        return {}
    from ..bundle import load_model

    bundle = load_model(model_path)
    _require_classes(bundle, classes, model_path)
    predict = bundle.config.predict
    return {
        "min_duration_s": predict.min_duration_s,
        "max_gap_s": predict.max_gap_s,
        "event_span": predict.event_span,
    }


def _require_classes(bundle: ModelBundle, labels: Iterable[str], model_path: str | Path) -> None:
    """Fail unless every label of the window scores is one of the model's classes."""
    foreign = sorted(set(labels) - set(bundle.classes))
    if foreign:
        raise BadModel(
            f"has no class {', '.join(map(repr, foreign))} of the window scores (its classes: "
            f"{', '.join(bundle.classes)})",
            path=model_path,
            fix="choose thresholds on window scores this model wrote",
        )
