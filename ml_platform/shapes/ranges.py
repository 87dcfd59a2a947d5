"""Vectorised range queries over one series: max/min by sparse table, means by cumulative sums.

The shape features ask, for every candidate span, the highest high and lowest low and the
mean close, volume and true range over many sub-ranges (the span, its resampling bins, the
context before and after). Answering them with numpy gathers keeps feature extraction
proportional to the number of queries, never a Python loop per candidate.
"""

from __future__ import annotations

import numpy as np


class RangeExtremes:
    """Range maximum and minimum of one array by sparse table, for ranges up to `max_length` candles.

    Parameters
    ----------
    values : float array of shape (n,)
    max_length : int
        The longest range that will be asked; the table holds ``floor(log2(max_length)) + 1``
        levels of shape (n,) each (memory ``n * levels * 8`` bytes per kind).
    """

    def __init__(self, values: np.ndarray, *, max_length: int) -> None:
        values = np.asarray(values, dtype=np.float64)
        levels = max(1, int(np.floor(np.log2(max(1, max_length)))) + 1)
        self._max = [values]
        self._min = [values]
        for level in range(1, levels):
            half = 1 << (level - 1)
            previous_max, previous_min = self._max[-1], self._min[-1]
            if half >= len(values):
                break
            shifted = np.arange(len(values)) + half
            shifted = np.minimum(shifted, len(values) - 1)
            self._max.append(np.maximum(previous_max, previous_max[shifted]))
            self._min.append(np.minimum(previous_min, previous_min[shifted]))
        self.max_length = 1 << (len(self._max) - 1) << 1  # exclusive bound on a coverable range
        self._max_table = np.stack(self._max)
        self._min_table = np.stack(self._min)
        del self._max, self._min

    def _split(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        length = hi - lo + 1
        if length.size and (length.min() < 1 or length.max() >= self.max_length):
            raise ValueError(
                f"RangeExtremes: range lengths {length.min()}..{length.max()} outside 1..{self.max_length - 1}; "
                "build the table with a larger max_length"
            )
        level = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
        level = np.minimum(level, len(self._max_table) - 1)
        return level, lo, hi - (1 << level) + 1

    def max(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Maximum over ``values[lo..hi]`` (inclusive), elementwise over arrays of any shape."""
        level, a, b = self._split(np.asarray(lo), np.asarray(hi))
        return np.maximum(self._max_table[level, a], self._max_table[level, b])

    def min(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Minimum over ``values[lo..hi]`` (inclusive), elementwise over arrays of any shape."""
        level, a, b = self._split(np.asarray(lo), np.asarray(hi))
        return np.minimum(self._min_table[level, a], self._min_table[level, b])


class RangeMeans:
    """Range means of one array from its cumulative sum; ``mean(lo, hi)`` over ``values[lo..hi]`` inclusive."""

    def __init__(self, values: np.ndarray) -> None:
        self._cumulative = np.concatenate(([0.0], np.cumsum(np.asarray(values, dtype=np.float64))))

    def mean(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo, hi = np.asarray(lo), np.asarray(hi)
        return (self._cumulative[hi + 1] - self._cumulative[lo]) / (hi - lo + 1)


def bins(start: np.ndarray, end: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """`points` consecutive bins covering each span ``start..end``, as inclusive (lo, hi) of shape (n, points).

    Bins are as even as integer edges allow; a span shorter than `points` repeats candles
    (every bin holds at least one).
    """
    start, end = np.asarray(start)[:, None], np.asarray(end)[:, None]
    length = end - start + 1
    fractions = np.arange(points + 1)[None, :] / points
    edges = start + np.floor(fractions * length).astype(np.int64)
    lo = np.minimum(edges[:, :-1], end)
    hi = np.maximum(edges[:, 1:] - 1, lo)
    return lo, hi
