"""Candle geometry: the shape of each bar, in units that do not depend on the price level.

All lengths are fractions of the candle's open price, so a EURUSD bar at 1.10 and a
BTC bar at 30,000 with the same shape get the same numbers. Every value is defined for
zero-range (high == low) and zero-body (open == close) candles: no inf, no NaN.

    body_size      |close - open| / open
    body_direction +1 up, -1 down, 0 for a zero body
    upper_wick     (high - max(open, close)) / open
    lower_wick     (min(open, close) - low) / open
    wick_ratio     upper_wick / (upper_wick + lower_wick); 0.5 when there is no wick
                   (1 = all wick above the body, as in a shooting star; 0 = all below, a hammer)
    body_to_range  |close - open| / (high - low); 0 for a zero-range candle
    gap            (open - previous close) / previous close; 0 for the first candle
    range          (high - low) / open
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CANDLE_FEATURE_COLUMNS = (
    "body_size",
    "body_direction",
    "upper_wick",
    "lower_wick",
    "wick_ratio",
    "body_to_range",
    "gap",
    "range",
)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray, *, where_zero: float) -> np.ndarray:
    """numerator / denominator, with `where_zero` where the denominator is 0."""
    out = np.full(numerator.shape, where_zero, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


class CandleLengths(NamedTuple):
    """A candle's parts in price units: the body's size and ends, and the two shadows."""

    body: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    upper: np.ndarray
    lower: np.ndarray


def candle_lengths(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> CandleLengths:
    """Body size, body top and bottom, upper and lower shadow of each candle (price units)."""
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    return CandleLengths(body=np.abs(close - open_), top=top, bottom=bottom, upper=high - top, lower=bottom - low)


def candle_geometry(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> dict[str, np.ndarray]:
    """Compute the eight geometry columns.

    Parameters
    ----------
    open_, high, low, close : float64 arrays of shape (n_candles,)
        Positive prices (the candle loader guarantees it).

    Returns
    -------
    columns : dict of str to float64 arrays of shape (n_candles,)
        Keys in `CANDLE_FEATURE_COLUMNS` order.
    """
    lengths = candle_lengths(open_, high, low, close)
    body_abs = lengths.body
    upper = lengths.upper / open_
    lower = lengths.lower / open_
    price_range = high - low
    previous_close = np.concatenate(([open_[0]], close[:-1])) if len(close) else close
    return {
        "body_size": body_abs / open_,
        "body_direction": np.sign(close - open_).astype(np.float64),
        "upper_wick": upper,
        "lower_wick": lower,
        "wick_ratio": _safe_divide(upper, upper + lower, where_zero=0.5),
        "body_to_range": _safe_divide(body_abs, price_range, where_zero=0.0),
        "gap": (open_ - previous_close) / previous_close,
        "range": price_range / open_,
    }
