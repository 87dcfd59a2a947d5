"""Hand-built candle series for the span detector's tests: straight segments and clean shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd

HOUR = 3600
START = 1_700_000_000 - 1_700_000_000 % HOUR

# Clean shapes as (knot positions in [0, 1], levels in amplitude units), like the chart books draw them.
SHAPES: dict[str, tuple[list[float], list[float]]] = {
    "double_top": ([0.0, 0.3, 0.5, 0.7, 1.0], [0.0, 1.0, 0.55, 1.0, 0.2]),
    "head_and_shoulders": ([0.0, 0.15, 0.3, 0.5, 0.7, 0.85, 1.0], [0.0, 0.65, 0.3, 1.0, 0.3, 0.65, 0.1]),
    "bull_flag": ([0.0, 0.3, 1.0], [0.0, 1.0, 0.7]),
}


def candles_from_path(path: np.ndarray, *, wick: float, seed: int = 0, volume: float = 1000.0) -> pd.DataFrame:
    """Canonical candles whose closes follow `path` (opens at the previous close), with wicks of about `wick`."""
    rng = np.random.default_rng(seed)
    close = np.asarray(path, dtype=np.float64)
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + wick * rng.uniform(0.2, 1.0, len(close))
    low = np.minimum(open_, close) - wick * rng.uniform(0.2, 1.0, len(close))
    return pd.DataFrame(
        {
            "time": START + HOUR * np.arange(len(close), dtype=np.int64),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume * rng.uniform(0.5, 1.5, len(close)),
        }
    )


def segments(knots_x: list[int], knots_y: list[float]) -> np.ndarray:
    """A path of straight segments through the knots (x: candle positions, first 0)."""
    return np.interp(np.arange(knots_x[-1] + 1), knots_x, knots_y)


def planted_series(
    n: int, *, seed: int, labels: tuple[str, ...] = tuple(SHAPES), spacing: tuple[int, int] = (70, 110)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random walk (log price around 100) with clean shapes planted every `spacing` candles.

    Returns
    -------
    candles : DataFrame of shape (n, 6), the canonical frame.
    spans : DataFrame with ``start``, ``end``, ``label`` of every planted shape.
    """
    rng = np.random.default_rng(seed)
    sigma = 0.004
    returns = sigma * rng.normal(size=n)
    rows = []
    position = int(rng.integers(40, 80))
    while True:
        label = str(rng.choice(labels))
        length = int(rng.integers(22, 40))
        if position + length + 10 >= n:
            break
        knots_u, knots_y = SHAPES[label]
        amplitude = sigma * np.sqrt(length) * rng.uniform(3.5, 4.5)
        level = np.interp(np.arange(1, length + 1) / length, knots_u, knots_y) * amplitude
        shape_returns = np.diff(np.concatenate(([0.0], level)))
        returns[position : position + length] = shape_returns + 0.15 * sigma * rng.normal(size=length)
        # the span starts at the candle before the first move (the close the shape starts from)
        rows.append((position - 1, position + length - 1, label))
        position += int(rng.integers(*spacing))
    close = 100.0 * np.exp(np.cumsum(returns))
    candles = candles_from_path(close, wick=0.3 * sigma * 100.0, seed=seed + 1)
    spans = pd.DataFrame(rows, columns=["start", "end", "label"])
    return candles, spans
