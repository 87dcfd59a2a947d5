"""What a prediction returns: the labels of consecutive candles, and of a whole stored series."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ml_platform.bundle import pattern_of

OUTSIDE_LABEL = "O"


@dataclass(frozen=True)
class CandlePredictions:
    """The labels of consecutive candles.

    n_candles : int
        Candles in the input.
    indices : int64 array of shape (n_labeled,)
        Positions of the labelled candles in the input (consecutive, ascending).
    times : int64 array of shape (n_labeled,)
    class_ids : int array of shape (n_labeled,)
        Index into ``classes`` of the most probable class.
    confidences : float64 array of shape (n_labeled,)
        Its probability.
    classes, tags_are_bio : the bundle's classes; whether they are BIO tags (``B-x``/``I-x``).
    unlabeled_leading, unlabeled_trailing : int
        Input candles before the first and after the last labelled one.
    skipped : int64 array
        Positions inside the labelled range whose model inputs were not finite (not predicted).
    reason : str
        Why the leading/trailing candles have no label ("" when every candle has one).
    """

    n_candles: int
    indices: np.ndarray
    times: np.ndarray
    class_ids: np.ndarray
    confidences: np.ndarray
    classes: tuple[str, ...]
    unlabeled_leading: int
    unlabeled_trailing: int
    skipped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reason: str = ""

    @property
    def tags(self) -> list[str]:
        """The raw class tag of each labelled candle (``B-bull_flag``, ``I-bull_flag``, ``O``)."""
        classes = self.classes
        return [classes[i] for i in self.class_ids.tolist()]

    @property
    def labels(self) -> list[str]:
        """The pattern name of each labelled candle (B-/I- stripped; ``O`` for none)."""
        names = class_labels(self.classes)
        return [names[i] for i in self.class_ids.tolist()]


@dataclass(frozen=True)
class SeriesPredictions:
    """`Predictor.predict_series`: the labels of a whole stored series, to answer ranges by slicing.

    n_candles : int
        Stored candles the series was computed from.
    warmup_rows : int
        The indicators' warm-up measured on them.
    predictions : CandlePredictions
        ``predict_range(candles, 0, n_candles - 1)``: indices are positions in the store.
    """

    n_candles: int
    warmup_rows: int
    predictions: CandlePredictions


def class_labels(classes: Sequence[str]) -> list[str]:
    """The pattern name of each class: ``B-bull_flag`` and ``I-bull_flag`` -> ``bull_flag``, ``O`` -> ``O``."""
    return [pattern_of(tag) or OUTSIDE_LABEL for tag in classes]
