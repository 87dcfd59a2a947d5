"""Class weights per class index from ``training.class_weights`` (the fit's sample weights)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ml_platform.bundle import pattern_of

logger = logging.getLogger(__name__)


def class_weight_map(y: np.ndarray, classes: Sequence[str], setting: str | dict[str, float]) -> dict[int, float] | None:
    """Weights per class index from ``training.class_weights``.

    ``"balanced"``: ``n_rows / (n_classes * rows_of_class)`` over the classes present in `y`
    (scikit-learn's formula); ``"none"``: None; a map: keys are class tags (``B-bull_flag``)
    or pattern labels (``bull_flag``, covering its ``B-``/``I-`` tags) or ``O``; classes
    not named get 1.0.
    """
    if setting == "none":
        return None
    if isinstance(setting, str):  # "balanced"
        counts = np.bincount(y, minlength=len(classes))
        present = np.flatnonzero(counts)
        return {int(i): float(len(y) / (len(present) * counts[i])) for i in present}
    weights: dict[int, float] = {}
    used: set[str] = set()
    for index, cls in enumerate(classes):
        key = cls if cls in setting else (pattern_of(cls) or cls)
        if key in setting:
            used.add(key)
        weights[index] = float(setting.get(key, 1.0))
    unknown = sorted(set(setting) - used)
    if unknown:
        logger.warning(
            "training.class_weights names %s, which are not classes of this partition (%s)", unknown, list(classes)
        )
    return weights
