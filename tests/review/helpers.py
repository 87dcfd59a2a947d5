"""Hand-built model views for the review-queue tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.review import ModelView, view_from_scores

HOUR = 3600
T0 = 1_700_000_000 - 1_700_000_000 % HOUR


def times(n: int) -> np.ndarray:
    return T0 + HOUR * np.arange(n, dtype=np.int64)


def spans(*rows: tuple[int, int, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start", "end", "label"]).astype({"start": "int64", "end": "int64"})


def predictions(*rows: tuple[int, int, str, float]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["start", "end", "label", "confidence"])
    return frame.astype({"start": "int64", "end": "int64", "confidence": "float64"})


def view(
    n: int,
    candidates: list[tuple[int, int, str, float, float]],
    predicted: Sequence[tuple[int, int, str, float]] = (),
) -> ModelView:
    """A view from candidate rows (start, end, best label, its probability, probability of O)."""
    scored = pd.DataFrame(candidates, columns=["start", "end", "label", "confidence", "outside"])
    scored = scored.astype({"start": "int64", "end": "int64"})
    return view_from_scores(scored, predictions(*predicted), n_candles=n)
