"""Request candles checked the way the loader checks stored ones, but strictly (no sorting).

`candles_frame` builds the canonical candle frame from columns after `validate_candles`:
finite, positive, OHLC-consistent candles with strictly increasing times, or an
`InvalidCandlesError` naming the first bad candle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.inference.errors import InvalidCandlesError


def candles_frame(
    time: Sequence[int] | np.ndarray,
    open_: Sequence[float] | np.ndarray,
    high: Sequence[float] | np.ndarray,
    low: Sequence[float] | np.ndarray,
    close: Sequence[float] | np.ndarray,
    volume: Sequence[float] | np.ndarray,
    *,
    timeframe_seconds: int | None = None,
) -> pd.DataFrame:
    """The canonical candle frame (``time`` int64, prices float64) from columns, after `validate_candles`."""
    columns = {
        "time": np.asarray(time, dtype=np.int64),
        "open": np.asarray(open_, dtype=np.float64),
        "high": np.asarray(high, dtype=np.float64),
        "low": np.asarray(low, dtype=np.float64),
        "close": np.asarray(close, dtype=np.float64),
        "volume": np.asarray(volume, dtype=np.float64),
    }
    validate_candles(columns, timeframe_seconds=timeframe_seconds)
    return pd.DataFrame(columns, copy=False)


def _plain(value: object) -> str:
    """A number as a person writes it (``1.1``, ``nan``), never a numpy repr like ``np.float64(1.1)``."""
    item = value.item() if isinstance(value, np.generic) else value
    return repr(item) if isinstance(item, int | float) else str(item)


def _timeframe_name(seconds: int) -> str:
    from ml_platform.partitions import TIMEFRAME_SECONDS

    names = [name for name, length in TIMEFRAME_SECONDS.items() if length == seconds]
    return f"{names[0]} ({seconds} s)" if names else f"{seconds} s"


def validate_candles(columns: dict[str, np.ndarray], *, timeframe_seconds: int | None = None) -> None:
    """Check request candles the way the loader checks stored ones, but strictly (no sorting).

    Parameters
    ----------
    columns : dict of str to arrays of shape (n_candles,)
        ``time`` (int64 epoch seconds) and ``open high low close volume`` (float64).

    Raises
    ------
    InvalidCandlesError
        For the first candle (lowest index) that breaks any rule, with that index and the
        values: a non-finite number, a price <= 0 or a negative volume, a high below
        open/close/low or a low above open/close, a time not after the previous candle's, or
        (with `timeframe_seconds`) a time not a whole number of timeframes after the previous
        candle's (a gap of several timeframes, e.g. a weekend, is fine).
    """
    time = columns["time"]
    n = len(time)
    if n == 0:
        raise InvalidCandlesError("no candles: send at least one candle", index=0)
    checks: list[tuple[np.ndarray, str]] = []
    for name in ("open", "high", "low", "close", "volume"):
        checks.append((~np.isfinite(columns[name]), f"{name} is not a finite number"))
    for name in ("open", "high", "low", "close"):
        checks.append((~(columns[name] > 0), f"{name} must be a positive price"))
    checks.append((~(columns["volume"] >= 0), "volume must not be negative"))
    o, h, lo, c = (columns[name] for name in ("open", "high", "low", "close"))
    checks.append((h < np.maximum(np.maximum(o, c), lo), "high is below open, close or low"))
    checks.append((lo > np.minimum(o, c), "low is above open or close"))
    checks.append((time < 0, "time must be epoch seconds >= 0"))
    out_of_order = np.zeros(n, dtype=bool)
    out_of_order[1:] = time[1:] <= time[:-1]
    checks.append(
        (
            out_of_order,
            "time is not after the previous candle's (times must be strictly increasing: "
            "sort the candles and drop duplicates)",
        )
    )
    off_grid = np.zeros(n, dtype=bool)
    if timeframe_seconds:
        steps = time[1:] - time[:-1]
        off_grid[1:] = (steps > 0) & (steps % timeframe_seconds != 0)
        checks.append(
            (
                off_grid,
                f"time is not a whole number of {_timeframe_name(timeframe_seconds)} timeframes after the previous "
                "candle's: send candles of the model's timeframe (resample finer candles first)",
            )
        )
    first = n
    for mask, _ in checks:
        if mask.any():
            first = min(first, int(np.argmax(mask)))
    if first == n:
        return
    problems = [message for mask, message in checks if mask[first]]
    values = ", ".join(f"{name}={_plain(columns[name][first])}" for name in CANONICAL_COLUMNS)
    if out_of_order[first] or off_grid[first]:
        gap = int(time[first]) - int(time[first - 1])
        values += f"; previous time={int(time[first - 1])}, {gap} s earlier"
    raise InvalidCandlesError(f"candles[{first}]: {'; '.join(problems)} ({values})", index=first)
