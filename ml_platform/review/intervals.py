"""Inclusive candle intervals as numpy arrays: overlaps, the chart's match rule, distances, suppression.

Every interval is ``start..end`` with both ends inclusive candle positions (int64). The
match rule is the chart's (`web/src/lib/predictions/disagreements.ts`): two spans match
when they share more than half of the shorter one's candles.
"""

from __future__ import annotations

import numpy as np

CHUNK = 2_000
"""Rows of the first argument handled at once by the pairwise functions (bounds memory)."""


def as_positions(values: object) -> np.ndarray:
    """`values` as a 1-D int64 array."""
    return np.asarray(values, dtype=np.int64).reshape(-1)


def shared_candles(a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray) -> np.ndarray:
    """Candles shared by every pair.

    Parameters
    ----------
    a_start, a_end : ndarray of shape (n_a,)
    b_start, b_end : ndarray of shape (n_b,)

    Returns
    -------
    ndarray of shape (n_a, n_b), int64, 0 where the intervals do not touch.
    """
    lo = np.maximum(a_start[:, None], b_start[None, :])
    hi = np.minimum(a_end[:, None], b_end[None, :])
    return np.maximum(hi - lo + 1, 0)


def match_matrix(a_start: np.ndarray, a_end: np.ndarray, b_start: np.ndarray, b_end: np.ndarray) -> np.ndarray:
    """The chart's match rule for every pair: ``2 * shared > min(len_a, len_b)``.

    Returns
    -------
    ndarray of shape (n_a, n_b), bool.
    """
    shared = shared_candles(a_start, a_end, b_start, b_end)
    shorter = np.minimum((a_end - a_start + 1)[:, None], (b_end - b_start + 1)[None, :])
    return 2 * shared > shorter


def aggregate_matching(
    start: np.ndarray,
    end: np.ndarray,
    item_start: np.ndarray,
    item_end: np.ndarray,
    values: np.ndarray,
    *,
    how: str = "max",
) -> np.ndarray:
    """Per interval, the max (or mean) of `values` over the items that match it (0 when none).

    Parameters
    ----------
    start, end : ndarray of shape (n,)
    item_start, item_end, values : ndarray of shape (m,)
    how : {"max", "mean"}, default="max"

    Returns
    -------
    ndarray of shape (n,), float64.
    """
    if how not in ("max", "mean"):
        raise ValueError(f"how={how!r} is not an aggregation; use 'max' or 'mean'")
    out = np.zeros(len(start))
    if len(item_start) == 0:
        return out
    values = np.asarray(values, dtype=np.float64)
    for a in range(0, len(start), CHUNK):
        sl = slice(a, a + CHUNK)
        matched = match_matrix(start[sl], end[sl], item_start, item_end)
        if how == "max":
            out[sl] = np.where(matched, values[None, :], 0.0).max(axis=1)
        else:
            count = matched.sum(axis=1)
            out[sl] = np.where(count > 0, (matched * values[None, :]).sum(axis=1) / np.maximum(count, 1), 0.0)
    return out


def distance_to(start: np.ndarray, end: np.ndarray, ref_start: np.ndarray, ref_end: np.ndarray) -> np.ndarray:
    """Candles strictly between each interval and the nearest reference interval (0 when they overlap or abut).

    Returns
    -------
    ndarray of shape (n,), float64; ``inf`` everywhere when there is no reference.
    """
    if len(ref_start) == 0:
        return np.full(len(start), np.inf)
    out = np.empty(len(start))
    for a in range(0, len(start), CHUNK):
        sl = slice(a, a + CHUNK)
        gap = np.maximum(ref_start[None, :] - end[sl, None], start[sl, None] - ref_end[None, :]) - 1
        out[sl] = np.maximum(gap, 0).min(axis=1)
    return out


def suppress_matching(start: np.ndarray, end: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Greedy suppression: best score first, an interval matching a kept one is dropped.

    Returns
    -------
    ndarray of int64: the kept positions into the inputs, best score first (ties: earlier start).
    """
    order = np.lexsort((start, -np.asarray(score, dtype=np.float64)))
    kept: list[int] = []
    kept_start: list[int] = []
    kept_end: list[int] = []
    for i in order.tolist():
        s, e = int(start[i]), int(end[i])
        if kept:
            ks, ke = np.asarray(kept_start), np.asarray(kept_end)
            shared = np.maximum(np.minimum(e, ke) - np.maximum(s, ks) + 1, 0)
            if (2 * shared > np.minimum(e - s + 1, ke - ks + 1)).any():
                continue
        kept.append(i)
        kept_start.append(s)
        kept_end.append(e)
    return np.asarray(kept, dtype=np.int64)
