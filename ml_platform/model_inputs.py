"""Model input columns from a `build_features` frame: the one code path for training and serving.

Training (on a labeled partition) and the inference service (on a request's candles) both
call these functions with the settings stored in the model bundle, so the columns, their
order and the rows that can be predicted agree by construction.

- BIO (per-candle) models: the row's base features plus those of the previous ``k`` and
  next ``j`` candles (`ml_platform.features.add_context`; config ``features.context``).
- Window models: one window of ``labeling.window.size`` candles per row, flattened as
  ``{feature}_t{offset}``, feature-major (``close_t0 .. close_t47, rsi_14_t0 ..``), offset
  0 the window's first candle: the labeling stage's `window_column_names`. For serving,
  each candle gets the window centred on it the way labeling centres a span's window: the
  candle sits at offset ``(size - 1) // 2``; the service slides it along the request.

Leakage: context ``next > 0`` and centred windows read candles after the row. That is what
annotating history needs; for a causal live model set ``features.context.next: 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.config import ContextConfig
from ml_platform.features import add_context, context_columns, valid_context_slice


def bio_feature_columns(base_feature_columns: Sequence[str], context: ContextConfig) -> list[str]:
    """The final input columns of a per-candle model: base features, then ``_prev{k}``, then ``_next{k}``."""
    return [*base_feature_columns, *context_columns(base_feature_columns, context)]


def bio_model_inputs(
    feature_frame: pd.DataFrame, base_feature_columns: Sequence[str], context: ContextConfig
) -> tuple[pd.DataFrame, slice]:
    """Per-candle model inputs.

    Parameters
    ----------
    feature_frame : DataFrame of shape (n_candles, n_columns)
        Consecutive candles in time order holding every base feature column (a
        `build_features` frame, or a labeled BIO partition, which carries the same columns).
    base_feature_columns : sequence of str
        The model's base features (``BundleMeta.base_feature_columns``).
    context : ContextConfig
        Previous/next candles attached to each row.

    Returns
    -------
    inputs : DataFrame of shape (n_candles, len(bio_feature_columns(...)))
        Exactly the model's columns, in order, with `feature_frame`'s index.
    valid : slice
        The rows whose context is complete (the first ``previous`` and last ``next`` rows
        have NaN context and cannot be predicted).
    """
    missing = [column for column in base_feature_columns if column not in feature_frame.columns]
    if missing:
        raise KeyError(
            f"feature frame lacks the model's base feature columns {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}: were the features built with the bundle's config?"
        )
    base = feature_frame.loc[:, list(base_feature_columns)]
    with_context = add_context(base, base_feature_columns, context)
    return with_context.loc[:, bio_feature_columns(base_feature_columns, context)], valid_context_slice(
        len(base), context
    )


def window_feature_columns(base_feature_columns: Sequence[str], size: int) -> list[str]:
    """The input columns of a window model: ``{feature}_t{offset}``, feature-major (as labeling writes them)."""
    return [f"{column}_t{offset}" for column in base_feature_columns for offset in range(size)]


def window_model_inputs(
    feature_frame: pd.DataFrame, base_feature_columns: Sequence[str], size: int
) -> tuple[pd.DataFrame, slice]:
    """One flattened window per candle, centred on it (``(size - 1) // 2`` candles before, the rest after).

    Parameters
    ----------
    feature_frame : DataFrame of shape (n_candles, n_columns)
        Consecutive candles in time order with every base feature column.
    base_feature_columns : sequence of str
    size : int
        Candles per window (``labeling.window.size`` of the bundle's config).

    Returns
    -------
    inputs : DataFrame of shape (n_candles, size * len(base_feature_columns))
        Row ``i`` holds candles ``i - (size-1)//2 .. i - (size-1)//2 + size - 1``; columns in
        `window_feature_columns` order; NaN where the window runs past either end.
    valid : slice
        The rows whose window lies entirely inside the frame.
    """
    if size < 1:
        raise ValueError(f"window size {size} must be >= 1")
    base = feature_frame.loc[:, list(base_feature_columns)].to_numpy(dtype=np.float64)
    n_rows, n_features = base.shape
    before = (size - 1) // 2
    stacked = np.full((n_rows, n_features, size), np.nan)  # flattened feature-major: column f * size + offset
    for offset in range(size):
        shift = offset - before  # candle i + shift is at `offset` in row i's window
        lo, hi = max(0, -shift), min(n_rows, n_rows - shift)
        if lo < hi:
            stacked[lo:hi, :, offset] = base[lo + shift : hi + shift]
    out = stacked.reshape(n_rows, n_features * size)
    frame = pd.DataFrame(out, columns=window_feature_columns(base_feature_columns, size), index=feature_frame.index)
    after = size - 1 - before
    return frame, slice(before, max(before, n_rows - after))
