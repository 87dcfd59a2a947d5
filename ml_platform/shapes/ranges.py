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
        self._n = len(values)
        # flat tables (level-major) and the level of every coverable length: gathers by one flat index
        self._max_flat = np.concatenate(self._max)
        self._min_flat = np.concatenate(self._min)
        levels_of = np.floor(np.log2(np.maximum(np.arange(self.max_length), 1))).astype(np.int64)
        self._level_of = np.minimum(levels_of, len(self._max) - 1)
        del self._max, self._min

    def positions(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat table positions of the two overlapping blocks covering each ``lo..hi`` (inclusive).

        Reusable by `max_at` / `min_at` of any `RangeExtremes` of the same length and `max_length`.
        """
        lo, hi = np.asarray(lo), np.asarray(hi)
        length = hi - lo + 1
        if length.size and (length.min() < 1 or length.max() >= self.max_length):
            raise ValueError(
                f"RangeExtremes: range lengths {length.min()}..{length.max()} outside 1..{self.max_length - 1}; "
                "build the table with a larger max_length"
            )
        level = self._level_of[length]
        offset = level * self._n
        return offset + lo, offset + hi - (np.int64(1) << level) + 1

    def max_at(self, positions: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """`max` from the `positions` of the ranges."""
        return np.maximum(self._max_flat.take(positions[0]), self._max_flat.take(positions[1]))

    def min_at(self, positions: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """`min` from the `positions` of the ranges."""
        return np.minimum(self._min_flat.take(positions[0]), self._min_flat.take(positions[1]))

    def max(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Maximum over ``values[lo..hi]`` (inclusive), elementwise over arrays of any shape."""
        return self.max_at(self.positions(lo, hi))

    def min(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Minimum over ``values[lo..hi]`` (inclusive), elementwise over arrays of any shape."""
        return self.min_at(self.positions(lo, hi))


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
