"""Feature engineering: one entry point, `build_features`, for training and serving alike.

The `enriched_features` asset calls it on a whole partition; the inference service calls
it on the candles of a request with the config stored in the model bundle. Because both
run the same code, preprocessing parity holds by construction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import FeaturesConfig, PipelineConfig
from ml_platform.features.candle_averages import CANDLE_AVERAGE_COLUMNS, candle_averages
from ml_platform.features.candle_features import CANDLE_FEATURE_COLUMNS, candle_geometry
from ml_platform.features.context import add_context, context_columns, valid_context_slice
from ml_platform.features.custom_loader import compute_custom
from ml_platform.features.errors import FeatureError
from ml_platform.features.talib_features import compute_indicators, indicator_columns

logger = logging.getLogger(__name__)


class InsufficientCandlesError(FeatureError):
    """Fewer candles than the indicators' warm-up needs: no row would have every feature."""


@dataclass(frozen=True)
class FeatureFrame:
    """The result of `build_features`.

    frame : DataFrame of shape (n_candles - warmup_rows, 6 + n_features)
        ``time open high low close volume`` then the feature columns, index 0..n-1.
    feature_columns : list of str
        The feature columns in order (the model's inputs before context is added).
    warmup_rows : int
        Leading candles dropped because an indicator was still in its look-back (NaN).
    """

    frame: pd.DataFrame
    feature_columns: list[str]
    warmup_rows: int


def feature_columns_for(config: FeaturesConfig) -> list[str]:
    """The feature column names a config produces, without computing anything."""
    names = [name for spec in config.indicators for name in indicator_columns(spec)]
    if config.candle_geometry:
        names += list(CANDLE_FEATURE_COLUMNS)
    if config.candle_averages:
        names += list(CANDLE_AVERAGE_COLUMNS)
    return names


def build_features(candles: pd.DataFrame, config: FeaturesConfig | PipelineConfig) -> FeatureFrame:
    """Compute the configured features for consecutive candles.

    Parameters
    ----------
    candles : DataFrame of shape (n_candles, 6)
        The canonical frame (``time open high low close volume``), in time order.
    config : FeaturesConfig or PipelineConfig
        The ``features`` section (indicators, candle geometry, rolling candle averages,
        custom features).

    Returns
    -------
    FeatureFrame
        Leading warm-up rows (NaN in an indicator or rolling-average column) are dropped
        and counted.
        Non-finite values after the warm-up are left in place for the asset check to report.

    Raises
    ------
    FeatureError
        An unknown indicator or parameter, a custom feature that fails or returns the
        wrong length; `InsufficientCandlesError` when no row survives the warm-up.
    """
    features = config.features if isinstance(config, PipelineConfig) else config
    prices = {name: candles[name].to_numpy(dtype=np.float64) for name in CANONICAL_COLUMNS[1:]}
    columns: dict[str, np.ndarray] = {"time": candles["time"].to_numpy(dtype=np.int64), **prices}
    ohlc = (prices["open"], prices["high"], prices["low"], prices["close"])
    # Columns with a look-back (NaN until it is filled) decide the warm-up rows dropped below.
    look_back = compute_indicators(prices, features.indicators)
    columns.update(look_back)
    if features.candle_geometry:
        columns.update(candle_geometry(*ohlc))
    if features.candle_averages:
        averages = candle_averages(*ohlc)
        columns.update(averages)
        look_back = {**look_back, **averages}
    for spec in features.custom:
        columns.update(compute_custom(pd.DataFrame(columns, copy=False), spec))
    warmup = _warmup_rows(look_back, len(candles))
    if warmup >= len(candles):
        # Some look-back column has no value at all: the warm-up is longer than the candles, by how much is unknown.
        still_empty = [name for name, values in look_back.items() if not (~np.isnan(values)).any()]
        shown = ", ".join(still_empty[:3]) + (f" and {len(still_empty) - 3} more" if len(still_empty) > 3 else "")
        raise InsufficientCandlesError(
            f"{len(candles)} candles are not enough for the features' warm-up: {shown} still "
            f"{'has' if len(still_empty) == 1 else 'have'} no value after all {len(candles)} candles (a longer "
            "look-back): send more history (a served model's /model/info min_candles says how many)"
        )
    frame = pd.DataFrame({name: values[warmup:] for name, values in columns.items()})
    if warmup:
        logger.info("dropped %d warm-up rows (indicator and rolling-average look-back)", warmup)
    return FeatureFrame(frame=frame, feature_columns=list(columns)[len(CANONICAL_COLUMNS) :], warmup_rows=warmup)


def _warmup_rows(indicators: dict[str, np.ndarray], n_rows: int) -> int:
    """Rows before every look-back column (indicators, rolling averages) has its first non-NaN value."""
    warmup = 0
    for values in indicators.values():
        valid = ~np.isnan(values)
        warmup = max(warmup, int(np.argmax(valid)) if valid.any() else n_rows)
    return warmup


__all__ = [
    "FeatureError",
    "FeatureFrame",
    "InsufficientCandlesError",
    "add_context",
    "build_features",
    "context_columns",
    "feature_columns_for",
    "valid_context_slice",
]
