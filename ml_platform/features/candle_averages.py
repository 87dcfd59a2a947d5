"""A candle measured against its neighbours, the yardsticks TA-Lib's candle rules use.

TA-Lib calls a body "long", "short" or "doji" and a shadow "long" or "very short" by
comparing it with the average of the previous 10 candles (body, range, shadows), and
places a body "near", "above" or "gapping" the previous candle's in units of the previous
5 candles' average range (its `CandleSettings` defaults). A candle's own geometry does not
carry those averages, and a model given only neighbours' geometry has to rebuild a
10-candle mean from them; these columns hand it over. Measured in `bench/bench_learning.py`
(b): macro F1 against TA-Lib's CDL labels on a pair never seen in training rose from 0.59
to 0.98 (XGBoost) with them.

Every column is a ratio of two lengths, so it does not depend on the price level:

    body_avg           body / mean body of the previous 10 candles
    body_avgrange      body / mean range of the previous 10
    range_avg          range / mean range of the previous 10
    upper_avgrange     upper shadow / mean range of the previous 10
    lower_avgrange     lower shadow / mean range of the previous 10
    upper_avgshadow    upper shadow / mean shadow (upper and lower averaged) of the previous 10
    lower_avgshadow    lower shadow / mean shadow of the previous 10
    upper_body         upper shadow / body
    lower_body         lower shadow / body
    top_prevtop        (body top - previous body top) / mean range of the previous 5
    bottom_prevbottom  (body bottom - previous body bottom) / the same
    bottom_prevtop     (body bottom - previous body top) / the same
    top_prevbottom     (body top - previous body bottom) / the same
    bottom_prevlow     (body bottom - previous low) / the same
    top_prevhigh       (body top - previous high) / the same

Finite by construction: a zero yardstick (flat candles, a zero body) is replaced by a
length far below any price tick (`TINY` times the close), so 0 / 0 reads 0 and a real
length over nothing reads "very large", and every ratio is clipped to +-`RATIO_CAP`.
The first `AVERAGE_PERIOD` candles have no full average yet: NaN there, dropped with the
indicators' warm-up by `build_features`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_platform.features.candle_features import candle_lengths

AVERAGE_PERIOD = 10
"""Candles in the body, range and shadow averages (TA-Lib's BodyLong/ShadowLong period)."""
NEAR_PERIOD = 5
"""Candles in the average range that measures body placement (TA-Lib's Near/Far period)."""
TINY = 1e-12
"""A yardstick of zero becomes this fraction of the close: far below any price tick."""
RATIO_CAP = 1e3
"""Ratios are clipped to +-RATIO_CAP: a body a thousand times the average is simply long."""

CANDLE_AVERAGE_COLUMNS = (
    "body_avg",
    "body_avgrange",
    "range_avg",
    "upper_avgrange",
    "lower_avgrange",
    "upper_avgshadow",
    "lower_avgshadow",
    "upper_body",
    "lower_body",
    "top_prevtop",
    "bottom_prevbottom",
    "bottom_prevtop",
    "top_prevbottom",
    "bottom_prevlow",
    "top_prevhigh",
)


def candle_averages(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """Compute the fifteen columns of the module docstring.

    Parameters
    ----------
    open_, high, low, close : float64 arrays of shape (n_candles,)
        Positive prices (the candle loader guarantees it).

    Returns
    -------
    columns : dict of str to float64 arrays of shape (n_candles,)
        Keys in `CANDLE_AVERAGE_COLUMNS` order; NaN in the first `AVERAGE_PERIOD` rows,
        finite everywhere else.
    """
    body, top, bottom, upper, lower = candle_lengths(open_, high, low, close)
    price_range = high - low
    floor = TINY * close

    def over(numerator: np.ndarray, yardstick: np.ndarray) -> np.ndarray:
        return numerator / np.maximum(yardstick, floor)

    avg_body = _previous_mean(body, AVERAGE_PERIOD)
    avg_range = _previous_mean(price_range, AVERAGE_PERIOD)
    avg_shadow = _previous_mean((upper + lower) / 2, AVERAGE_PERIOD)
    near = _previous_mean(price_range, NEAR_PERIOD)
    columns = {
        "body_avg": over(body, avg_body),
        "body_avgrange": over(body, avg_range),
        "range_avg": over(price_range, avg_range),
        "upper_avgrange": over(upper, avg_range),
        "lower_avgrange": over(lower, avg_range),
        "upper_avgshadow": over(upper, avg_shadow),
        "lower_avgshadow": over(lower, avg_shadow),
        "upper_body": over(upper, body),
        "lower_body": over(lower, body),
        "top_prevtop": over(top - _previous(top), near),
        "bottom_prevbottom": over(bottom - _previous(bottom), near),
        "bottom_prevtop": over(bottom - _previous(top), near),
        "top_prevbottom": over(top - _previous(bottom), near),
        "bottom_prevlow": over(bottom - _previous(low), near),
        "top_prevhigh": over(top - _previous(high), near),
    }
    warmup = min(AVERAGE_PERIOD, len(close))
    for values in columns.values():
        np.clip(values, -RATIO_CAP, RATIO_CAP, out=values)
        values[:warmup] = np.nan
    return columns


def _previous_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the `window` values before each position (NaN until there are that many)."""
    return pd.Series(values).rolling(window).mean().shift(1).to_numpy()


def _previous(values: np.ndarray) -> np.ndarray:
    """Each position's predecessor (NaN for the first)."""
    return np.concatenate(([np.nan], values[:-1])) if len(values) else values
