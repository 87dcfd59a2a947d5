"""Pivot geometry of candidate spans at fixed reference scales, in ATRs.

The pivot features of `ml_platform.shapes.features` describe a span by the pivots of the
scale that proposed it (the finest whose run it is), heights in span ranges. So one shape
is described by different pivots depending on which zigzag proposed the candidate, and in
a unit (the span's own range) that makes a shallow wiggle and a deep reversal look alike.
A chart book states a shape in a few measurements at one scale of swings: the two peaks
of a double top within about an ATR of each other, the trough a few ATRs below them, the
close that breaks the trough. These features give, for every reference scale in
``settings.geometry_scales`` (their pivots come with the candidates':
`ml_platform.shapes.settings.DetectorSettings.pivot_levels`), the same few measurements
for every candidate, whichever scale proposed it:

- ``geo{k}_count``: pivots of the scale inside the span;
- ``geo{k}_first_kind``: +1 when the first is a peak, -1 a trough (0: none);
- ``geo{k}_start_gap`` / ``geo{k}_end_gap``: candles from the start to the first pivot and
  from the last pivot to the end, over the length;
- ``geo{k}_level_{j}``: pivot ``j``'s price against the first pivot's, in ATRs, signed so
  that the first pivot's side is positive (a double top and a double bottom read alike;
  the first kind tells them apart);
- ``geo{k}_gap_{j}``: candles between pivots ``j - 1`` and ``j``, over the length;
- ``geo{k}_end_break``: how far the end's close lies beyond the pivot before the last one,
  away from the last (positive: the shape is confirmed at the end);
- ``geo{k}_prior_break``: the same for the most extreme close between the last pivot and the
  end (positive: confirmed before the end);
- ``geo{k}_overshoot``: how far price went past the last pivot, on its side, after it;
- ``geo{k}_retrace``: the largest move back from the last pivot towards the one before it,
  after the last pivot, as a fraction of that last leg;
- ``geo{k}_break_{j}`` / ``geo{k}_prior_{j}`` for the pivots ``j`` of `ANCHORS` (a double
  top's trough or a flag's pole top, a neckline's second trough): how far the end's close,
  and the most extreme close between pivot ``j + 1`` and the end, lie beyond pivot ``j``,
  away from the first pivot's side (positive: broken; at the end, or before it);
- ``geo{k}_retrace_1``: the largest move back after pivot 1 as a fraction of the first leg
  (a flag's pullback against its pole).

Missing values (a pivot slot past the count) are -1, as in the other shape features.

ATRs are taken at the span's last pivot of the scale (at its end when it has none), the
unit and the place chart rules state their tolerances in. Scale-free: every price term is
a difference over an ATR or a leg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ml_platform.shapes.edges import prior_break

if TYPE_CHECKING:
    from ml_platform.shapes.candidates import Candidates
    from ml_platform.shapes.features import SeriesArrays, _PivotTable
    from ml_platform.shapes.settings import DetectorSettings

MISSING = -1.0
LEVELS = 6
"""Pivots measured per scale (a head and shoulders has 5, with the start of its run 6)."""
ANCHORS = (1, 3)
"""Pivots whose breaking is measured: a double top's trough or a flag's pole top (1), a neckline's second trough (3)."""


def _tag(k: float) -> str:
    return f"{k:g}".replace(".", "_")


def geometry_feature_names(settings: DetectorSettings) -> list[str]:
    """The column names of `geometry_features`, in order (empty without ``settings.geometry_scales``)."""
    names: list[str] = []
    for k in settings.geometry_scales:
        g = f"geo{_tag(k)}"
        names += [f"{g}_count", f"{g}_first_kind", f"{g}_start_gap", f"{g}_end_gap"]
        names += [f"{g}_level_{j}" for j in range(1, LEVELS)] + [f"{g}_gap_{j}" for j in range(1, LEVELS)]
        names += [f"{g}_end_break", f"{g}_prior_break", f"{g}_overshoot", f"{g}_retrace"]
        names += [f"{g}_{kind}_{j}" for j in ANCHORS for kind in ("break", "prior")] + [f"{g}_retrace_1"]
    return names


def geometry_features(
    series: SeriesArrays, candidates: Candidates, table: _PivotTable, *, settings: DetectorSettings
) -> np.ndarray:
    """The geometry features of `candidates`, shape (n_candidates, len(geometry_feature_names(settings)))."""
    blocks = [_one_scale(series, candidates, table, settings.pivot_levels().index(k)) for k in settings.geometry_scales]
    if not blocks:
        return np.zeros((len(candidates), 0))
    return np.hstack(blocks)


def _one_scale(series: SeriesArrays, candidates: Candidates, table: _PivotTable, scale: int) -> np.ndarray:
    n = len(candidates)
    s, e = candidates.start, candidates.end
    length = (e - s + 1).astype(np.float64)
    first, count = table.runs(np.full(n, scale, dtype=np.int64), s, e)
    total = len(table.keys)
    if total == 0:
        count = np.zeros(n, dtype=np.int64)
    top = max(total - 1, 0)
    step = np.arange(LEVELS)[None, :]
    at = np.minimum(first[:, None] + step, top)
    valid = step < count[:, None]
    if total:
        index, kind, price = table.index[at], table.kind[at], table.price[at]
    else:
        index, kind, price = np.zeros((n, LEVELS), dtype=np.int64), np.zeros((n, LEVELS)), np.zeros((n, LEVELS))
    has1, has2 = count >= 1, count >= 2
    last = np.minimum(first + count - 1, top).clip(0)
    before_last = np.minimum(first + count - 2, top).clip(0)
    if total:
        i_last, k_last, p_last, p_ref = table.index[last], table.kind[last], table.price[last], table.price[before_last]
    else:
        i_last, k_last, p_last, p_ref = e, np.zeros(n), np.zeros(n), np.zeros(n)
    i_last = np.where(has1, i_last, e)
    k_last = np.where(has1, k_last, 0.0)
    atr = np.maximum(series.atrs.mean(i_last, i_last), 1e-300)
    k_first = np.where(has1, kind[:, 0], 0.0)

    columns: list[np.ndarray] = [
        count.astype(np.float64),
        k_first,
        np.where(has1, (index[:, 0] - s) / length, MISSING),
        np.where(has1, (e - i_last) / length, MISSING),
    ]
    levels = k_first[:, None] * (price[:, 1:] - price[:, :1]) / atr[:, None]
    columns.extend(np.where(valid[:, 1:], levels, MISSING).T)
    gaps = (index[:, 1:] - index[:, :-1]) / length[:, None]
    columns.extend(np.where(valid[:, 1:], gaps, MISSING).T)
    close = series.close
    columns.append(np.where(has2, k_last * (p_ref - close[e]) / atr, MISSING))
    columns.append(prior_break(series, i_last, e, k_last, p_ref, atr, has2))
    after = has1 & (e > i_last)
    a_lo = np.minimum(i_last + 1, e)
    after_at = series.highs.positions(a_lo, e)
    high_after, low_after = series.highs.max_at(after_at), series.lows.min_at(after_at)
    beyond = np.where(k_last > 0, high_after - p_last, p_last - low_after) / atr
    columns.append(np.where(after, beyond, MISSING))
    back = np.where(k_last > 0, p_last - low_after, high_after - p_last)
    leg = np.maximum(np.abs(p_last - p_ref), 1e-12)
    columns.append(np.where(after & has2, back / leg, MISSING))
    columns.extend(_anchored(series, s, e, index, price, count, k_first, atr))
    return np.column_stack(columns)


def _anchored(
    series: SeriesArrays,
    s: np.ndarray,
    e: np.ndarray,
    index: np.ndarray,
    price: np.ndarray,
    count: np.ndarray,
    k_first: np.ndarray,
    atr: np.ndarray,
) -> list[np.ndarray]:
    """Breaks of the `ANCHORS` pivots (at the end, and before it) and the retrace after pivot 1.

    A break of pivot ``j`` is the close beyond it away from the first pivot's side
    (``k_first * (p_j - close)``, positive: broken), as a double top's close below its trough
    or a bull flag's close above its pole top. "prior" is the most extreme close of the
    candles after pivot ``j + 1`` and before the end (positive: broken before the end).
    """
    columns: list[np.ndarray] = []
    close = series.close
    index = np.clip(index, s[:, None], e[:, None])  # slots past the count hold pivots outside the span
    for j in ANCHORS:
        p_j = price[:, j]
        columns.append(np.where(count > j, k_first * (p_j - close[e]) / atr, MISSING))
        i_next = index[:, min(j + 1, LEVELS - 1)]
        columns.append(prior_break(series, i_next, e, k_first, p_j, atr, count > j + 1))
    ok = (count >= 2) & (e > index[:, 1])
    lo = np.minimum(index[:, 1] + 1, e)
    at = series.highs.positions(lo, e)
    up = price[:, 1] > price[:, 0]
    toward = np.where(up, series.lows.min_at(at), series.highs.max_at(at))
    leg = np.maximum(np.abs(price[:, 1] - price[:, 0]), 1e-12)
    columns.append(np.where(ok, np.where(up, price[:, 1] - toward, toward - price[:, 1]) / leg, MISSING))
    return columns
