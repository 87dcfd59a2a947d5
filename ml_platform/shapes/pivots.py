"""Price pivots: the turning points of a zigzag that reverses after a move of k x ATR.

A chart shape (double top, head and shoulders, flag) is a sequence of alternating peaks
and troughs. `zigzag` finds them at one scale: a peak is confirmed once price has fallen
``k`` average true ranges below the highest high since the last trough, and the other way
round for a trough. Measuring the reversal in ATRs instead of percent makes the same ``k``
mean the same thing on a quiet FX hour and on a volatile stock day, and leaves the result
unchanged when every price is scaled (ATR scales with them) or the times shift.

Leakage: a pivot at index ``j`` is only known once the reversal has happened, at a later
candle. Over a stored series that is harmless (labels and candidates are drawn after the
fact); a live, causal use must wait for the confirmation (`Pivots.confirmed_at`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ATR_PERIOD = 14
"""Candles in the average true range that scales every reversal threshold."""


@dataclass(frozen=True)
class Pivots:
    """Alternating peaks and troughs of one zigzag, in time order.

    index : int array of shape (n_pivots,)
        Candle positions of the pivots (0-based, into the series given to `zigzag`).
    kind : int array of shape (n_pivots,)
        +1 for a peak (a high), -1 for a trough (a low); consecutive pivots alternate.
    price : float array of shape (n_pivots,)
        The high of a peak, the low of a trough.
    confirmed_at : int array of shape (n_pivots,)
        The candle at which the reversal confirmed the pivot; the last pivot, the extreme
        still in progress at the end of the series, has ``n_candles`` (not yet confirmed).
    """

    index: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    confirmed_at: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def average_true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int = ATR_PERIOD) -> np.ndarray:
    """Mean true range over the previous `period` candles, shape (n,); the first rows use what exists.

    Defined from the first candle on (an expanding mean during warm-up), never 0 unless the
    whole series so far is flat, in which case it is a tiny fraction of the price.
    """
    high, low, close = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    if len(high) == 0:
        return np.zeros(0)
    previous_close = np.concatenate(([close[0]], close[:-1]))
    true_range = np.maximum(high, previous_close) - np.minimum(low, previous_close)
    cumulative = np.concatenate(([0.0], np.cumsum(true_range)))
    ends = np.arange(1, len(high) + 1)
    starts = np.maximum(0, ends - period)
    atr = (cumulative[ends] - cumulative[starts]) / (ends - starts)
    floor = 1e-9 * np.maximum(np.abs(close), 1e-12)
    return np.maximum(atr, floor)


def zigzag(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, k: float, period: int = ATR_PERIOD) -> Pivots:
    """The pivots of a zigzag that reverses after a move of `k` x ATR.

    Parameters
    ----------
    high, low, close : float arrays of shape (n_candles,)
    k : float
        The reversal, in average true ranges (ATR over `period` candles at the reversing
        candle). Larger `k` gives fewer, larger swings.

    Returns
    -------
    Pivots
        Alternating peaks and troughs; the last one is the extreme in progress.
    """
    if k <= 0:
        raise ValueError(f"zigzag: k={k} must be > 0 (the reversal in ATRs)")
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    n = len(high)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return Pivots(empty, empty, np.zeros(0), empty)
    threshold = (k * average_true_range(high, low, close, period=period)).tolist()
    highs, lows = high.tolist(), low.tolist()
    rows: list[tuple[int, int, float, int]] = []  # (index, kind, price, confirmed_at) per pivot

    # Until the first reversal the direction is unknown: track both extremes.
    max_i, min_i = 0, 0
    trend = 0
    i = 1
    while i < n and trend == 0:
        if highs[i] > highs[max_i]:
            max_i = i
        if lows[i] < lows[min_i]:
            min_i = i
        if highs[max_i] - lows[i] >= threshold[i] and max_i < i:
            rows.append((max_i, 1, highs[max_i], i))
            trend, ext_i = -1, int(np.argmin(low[max_i : i + 1])) + max_i
        elif highs[i] - lows[min_i] >= threshold[i] and min_i < i:
            rows.append((min_i, -1, lows[min_i], i))
            trend, ext_i = 1, int(np.argmax(high[min_i : i + 1])) + min_i
        i += 1
    if trend == 0:
        return Pivots(empty, empty, np.zeros(0), empty)

    for j in range(i, n):
        if trend == 1:  # rising: the extreme is the highest high since the last trough
            if highs[j] >= highs[ext_i]:
                ext_i = j
            elif highs[ext_i] - lows[j] >= threshold[j]:
                rows.append((ext_i, 1, highs[ext_i], j))
                trend, ext_i = -1, j
        else:  # falling
            if lows[j] <= lows[ext_i]:
                ext_i = j
            elif highs[j] - lows[ext_i] >= threshold[j]:
                rows.append((ext_i, -1, lows[ext_i], j))
                trend, ext_i = 1, j
    # the extreme in progress closes the sequence (not confirmed yet)
    rows.append((ext_i, trend, highs[ext_i] if trend == 1 else lows[ext_i], n))
    index, kind, price, confirmed = zip(*rows, strict=True)
    return Pivots(
        index=np.asarray(index, dtype=np.int64),
        kind=np.asarray(kind, dtype=np.int64),
        price=np.asarray(price, dtype=np.float64),
        confirmed_at=np.asarray(confirmed, dtype=np.int64),
    )
