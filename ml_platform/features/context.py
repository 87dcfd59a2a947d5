"""Neighbouring candles' features on each row, for per-candle (BIO) models.

A candle inside a two-candle pattern cannot be told apart from its neighbours alone: the
row needs the features of the previous `k` candles and, when looking ahead is allowed
(annotating history), of the next `j`. Training and serving both call `add_context`, so
both see exactly the same columns.

Leakage: `next > 0` reads the future. Fine for labelling history, wrong for live trading:
use ``features.context.next: 0`` for a causal model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.config import ContextConfig


def context_columns(feature_columns: Sequence[str], context: ContextConfig) -> list[str]:
    """Names of the added columns: ``{column}_prev{k}`` then ``{column}_next{k}``, per offset."""
    names = [f"{column}_prev{k}" for k in range(1, context.previous + 1) for column in feature_columns]
    names += [f"{column}_next{k}" for k in range(1, context.next + 1) for column in feature_columns]
    return names


def add_context(frame: pd.DataFrame, feature_columns: Sequence[str], context: ContextConfig) -> pd.DataFrame:
    """Return `frame` with the context columns appended.

    Parameters
    ----------
    frame : DataFrame of shape (n_candles, n_columns)
        Consecutive candles (one partition or one request), in time order.
    feature_columns : sequence of str
        The columns to shift (the model's base features).
    context : ContextConfig
        `previous` and `next` offsets.

    Returns
    -------
    DataFrame of shape (n_candles, n_columns + len(feature_columns) * (previous + next))
        The first `previous` and last `next` rows have NaN context: they cannot be
        predicted (see `valid_context_slice`).
    """
    base = frame.loc[:, list(feature_columns)].to_numpy(dtype=np.float64)
    n_rows, n_features = base.shape
    offsets = [-k for k in range(1, context.previous + 1)] + list(range(1, context.next + 1))
    shifted = np.full((n_rows, n_features * len(offsets)), np.nan)
    for block, offset in enumerate(offsets):
        target = shifted[:, block * n_features : (block + 1) * n_features]
        if offset < 0 and n_rows > -offset:
            target[-offset:] = base[:offset]
        elif offset > 0 and n_rows > offset:
            target[:-offset] = base[offset:]
    extra = pd.DataFrame(shifted, columns=context_columns(feature_columns, context), index=frame.index)
    return pd.concat([frame, extra], axis=1)


def valid_context_slice(n_rows: int, context: ContextConfig) -> slice:
    """The rows of an `add_context` result whose context is complete."""
    return slice(context.previous, max(context.previous, n_rows - context.next))
