"""Edge features of candidate spans: where a span starts and ends relative to its pivots.

The shape features (`ml_platform.shapes.features`) describe what lies inside a span, resampled
and normalised by its range: two candidates over the same shape that start or end a few
candles apart look almost alike there, and the benchmark's errors on unseen instruments were
mostly such near-misses (docs/BENCHMARKS.md, "Chart shapes on real prices"). A chart reader
places a pattern's edges by events, which these features measure, in ATRs at the span's last
pivot (the unit chart books state their tolerances in) or as fractions of the span:

- ``edge_start_gap`` / ``edge_end_gap``: candles from the start to the first pivot and from
  the last pivot to the end, over the length (0 when the edge sits on a pivot);
- ``edge_last_kind``: +1 when the last pivot is a peak, -1 a trough;
- ``edge_end_break``: how far the end's close lies beyond the pivot before the last one, away
  from the last pivot (positive: the shape is confirmed, as a double top by a close below
  the trough between its peaks);
- ``edge_prior_break``: the same for the most extreme close between the last pivot and the
  end (positive: the confirmation happened before the end, so the end is late);
- ``edge_overshoot``: how far price went beyond the span's extreme on the last pivot's side
  after the last pivot (positive: the shape was invalidated before the end);
- ``edge_before_move`` / ``edge_after_move``: the close-to-close move over the quarter span
  before the start and after the end (the second only when ``settings.after > 0``);
- ``edge_leg_i``: the consecutive pivot-to-pivot moves inside the span;
- ``edge_atr_ratio``: the ATR at the last pivot over the span's mean ATR.

Scale-free like the other features: every price term is a difference divided by an ATR.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ml_platform.shapes.candidates import Candidates
    from ml_platform.shapes.features import SeriesArrays, _PivotTable
    from ml_platform.shapes.settings import DetectorSettings

MISSING = -1.0
EDGE_WINDOW = 0.25
"""The before/after moves look this many span lengths beyond the edge."""
LEGS = 6
"""Pivot-to-pivot moves given (a head and shoulders has 6 between its 7 pivots)."""


def edge_feature_names(settings: DetectorSettings) -> list[str]:
    """The column names of `edge_features`, in order (empty when ``settings.edge_features`` is off)."""
    if not settings.edge_features:
        return []
    names = ["edge_start_gap", "edge_end_gap", "edge_last_kind", "edge_end_break", "edge_prior_break"]
    names += ["edge_overshoot", "edge_before_move"]
    if settings.after > 0:
        names += ["edge_after_move"]
    names += [f"edge_leg_{i}" for i in range(LEGS)] + ["edge_atr_ratio"]
    return names


def edge_features(
    series: SeriesArrays, candidates: Candidates, table: _PivotTable, *, settings: DetectorSettings
) -> np.ndarray:
    """The edge features of `candidates`, shape (n_candidates, len(edge_feature_names(settings))), float64."""
    n = len(candidates)
    s, e = candidates.start, candidates.end
    length = (e - s + 1).astype(np.float64)
    last_n = series.n - 1
    first, count = table.runs(candidates.scale, s, e)
    top = max(len(table.keys) - 1, 0)
    has1, has2 = count >= 1, count >= 2
    i_first = table.index[np.minimum(first, top)] if len(table.keys) else np.zeros(n, dtype=np.int64)
    last = np.minimum(first + count - 1, top).clip(0)
    before_last = np.minimum(first + count - 2, top).clip(0)
    if len(table.keys):
        i_last, k_last, p_ref = table.index[last], table.kind[last], table.price[before_last]
    else:
        i_last, k_last, p_ref = s, np.zeros(n), np.zeros(n)
    i_last = np.where(has1, i_last, e)
    k_last = np.where(has1, k_last, 0.0)
    atr_last = np.maximum(series.atrs.mean(i_last, i_last), 1e-300)
    atr_span = np.maximum(series.atrs.mean(s, e), 1e-300)
    close = series.close

    columns: list[np.ndarray] = [
        np.where(has1, (i_first - s) / length, MISSING),
        np.where(has1, (e - i_last) / length, MISSING),
        k_last,
        np.where(has2, k_last * (p_ref - close[e]) / atr_last, MISSING),
    ]
    # between the last pivot and the end (exclusive): the most extreme close towards the break
    columns.append(prior_break(series, i_last, e, k_last, p_ref, atr_last, has2))
    # beyond the span's extreme (up to the last pivot) after the last pivot
    after_last = has1 & (e > i_last)
    a_lo = np.minimum(i_last + 1, e)
    after_at, upto_at = series.highs.positions(a_lo, e), series.highs.positions(s, i_last)
    high_after, low_after = series.highs.max_at(after_at), series.lows.min_at(after_at)
    high_upto, low_upto = series.highs.max_at(upto_at), series.lows.min_at(upto_at)
    overshoot = np.where(k_last > 0, high_after - high_upto, low_upto - low_after) / atr_last
    columns.append(np.where(after_last, overshoot, MISSING))
    window = np.maximum(np.rint(length * EDGE_WINDOW).astype(np.int64), 1)
    b_lo = np.maximum(s - window, 0)
    columns.append(np.where(s > b_lo, (close[s] - close[b_lo]) / atr_last, 0.0))
    if settings.after > 0:
        a_hi = np.minimum(e + window, last_n)
        columns.append(np.where(a_hi > e, (close[a_hi] - close[e]) / atr_last, 0.0))
    # consecutive pivot moves inside the span
    if len(table.keys):
        step = np.arange(LEGS + 1)[None, :]
        at = np.minimum(first[:, None] + step, top)
        valid = step < count[:, None]
        price = table.price[at]
        legs = np.where(valid[:, 1:], (price[:, 1:] - price[:, :-1]) / atr_last[:, None], MISSING)
    else:
        legs = np.full((n, LEGS), MISSING)
    columns.extend(legs.T)
    columns.append(np.where(has1, atr_last / atr_span, MISSING))
    return np.column_stack(columns) if n else np.zeros((0, len(edge_feature_names(settings))))


def prior_break(
    series: SeriesArrays,
    after: np.ndarray,
    e: np.ndarray,
    side: np.ndarray,
    level: np.ndarray,
    atr: np.ndarray,
    ok: np.ndarray,
) -> np.ndarray:
    """How far the most extreme close strictly between candle `after` and the end `e` lies beyond `level`.

    ``side * (level - close) / atr`` for the lowest close where `side` > 0 (a break downward),
    the highest elsewhere: positive when the level was broken before the end. MISSING where
    not `ok` or no candle lies between.
    """
    inner = ok & (e - after >= 2)
    lo, hi = np.minimum(after + 1, e), np.maximum(e - 1, np.minimum(after + 1, e))
    closes = series.closes_x
    if closes is None:
        raise ValueError("shape features: the SeriesArrays were built without close extremes (edge or geometry)")
    at = closes.positions(lo, hi)
    toward = np.where(side > 0, closes.min_at(at), closes.max_at(at))
    return np.where(inner, side * (level - toward) / atr, MISSING)
