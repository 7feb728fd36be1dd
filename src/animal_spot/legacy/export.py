"""Convert an ANIMAL-SPOT ``.pk`` once into a ``model.pt`` that needs no flags afterwards."""

from __future__ import annotations

import logging
from pathlib import Path

from ..bundle import load_model
from ..errors import BadModel

log = logging.getLogger(__name__)


def convert_legacy(
    pk_path: str | Path,
    out_path: str | Path | None = None,
    *,
    sequence_len_ms: float | None = None,
    min_max_norm: bool | None = None,
) -> Path:
    """Write ``pk_path`` as a ``model.pt`` that stores what the ``.pk`` lacked.

    The training window and the normalisation are fixed in the new file, so ``load_model`` and
    ``animal-spot predict`` need neither flag again. The network keeps its legacy variant
    (``ModelConfig.time_major``, ``head_norm``), so scores stay identical to the ``.pk``'s.

    Args:
        pk_path: an ANIMAL-SPOT (or fork) ``.pk``.
        out_path: the ``model.pt`` to write; default ``<pk folder>/<pk stem>.pt``.
        sequence_len_ms: training window in ms (``--sequence_len`` of training); ``None``
            assumes the default of the program that wrote the file, with a warning.
        min_max_norm: whether training used ``--min_max_norm``; ``None`` assumes ``False``.

    Raises:
        BadModel: the file is not a ``.pk`` or cannot be converted.
    """
    pk_path = Path(pk_path)
    out = Path(out_path) if out_path is not None else pk_path.with_suffix(".pt")
    if out.resolve() == pk_path.resolve():
        raise BadModel("the output would overwrite the .pk", path=pk_path, fix="give another path")
    bundle = load_model(pk_path, sequence_len_ms=sequence_len_ms, min_max_norm=min_max_norm)
    if "legacy_source" not in bundle.provenance:
        raise BadModel("already an animal-spot model.pt; nothing to convert", path=pk_path)
    bundle.save(out)
    log.info("converted %s → %s", pk_path, out)
    return out
