"""The span detector's candidate and feature code as it was before it was vectorised (issue 13).

A reference for `test_fast_path.py` (the optimised code must give identical candidates,
features, spans and confidences) and for ``bench/bench_serving.py --mode span`` (the cold
batch before/after figures, measured side by side in one run). `reference_code()` swaps it
into the modules the detector calls and restores them on exit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from ml_platform.shapes import candidates as candidates_module
from ml_platform.shapes import detector as detector_module
from ml_platform.shapes import features as features_module
from ml_platform.shapes.candidates import Candidates
from ml_platform.shapes.features import EXTRA_PIVOTS, MISSING, SeriesArrays, _in_atrs, feature_names
from ml_platform.shapes.pivots import Pivots
from ml_platform.shapes.ranges import bins
from ml_platform.shapes.settings import DetectorSettings


@contextmanager
def reference_code() -> Iterator[None]:
    """Within the block, `SpanDetector` proposes and describes candidates with this module's code.

    Series arrays must be built inside the block too (`SeriesArrays.from_candles` then builds
    this module's `RangeExtremes`, which `shape_features` here queries).
    """
    swapped = [
        (candidates_module, "breakout_candles", breakout_candles),
        (features_module, "RangeExtremes", RangeExtremes),  # built by SeriesArrays.from_candles
        (detector_module, "shape_features", shape_features),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in swapped]
    for module, name, code in swapped:
        setattr(module, name, code)
    try:
        yield
    finally:
        for module, name, code in saved:
            setattr(module, name, code)


def breakout_candles(level: Pivots, close: np.ndarray, *, max_length: int) -> np.ndarray:
    """For every pivot, the first later candle whose close breaks the previous pivot's price, shape (n_pivots,).

    After a peak ``i`` that is the first close below pivot ``i - 1`` (a trough), after a
    trough the first close above the peak before it. Only the ``max_length`` candles after
    the pivot are searched; -1 where there is none (and for the first pivot).

    Parameters
    ----------
    level : Pivots
        One zigzag's alternating pivots.
    close : float array of shape (n_candles,)
    max_length : int
        Longest look-ahead, in candles.
    """
    out = np.full(len(level), -1, dtype=np.int64)
    n = len(close)
    for i in range(1, len(level)):
        first = int(level.index[i]) + 1
        window = close[first : min(n, first + max_length)]
        crossed = window < level.price[i - 1] if level.kind[i] > 0 else window > level.price[i - 1]
        hits = np.flatnonzero(crossed)
        if len(hits):
            out[i] = first + int(hits[0])
    return out


class RangeExtremes:  # the sparse table with a 2-D gather and a log2 per query
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


def shape_features(
    series: SeriesArrays,
    candidates: Candidates,
    pivots: Sequence[Pivots],
    *,
    settings: DetectorSettings,
) -> np.ndarray:
    """The feature matrix of `candidates`, shape (n_candidates, len(feature_names(settings))), float32.

    Parameters
    ----------
    series : SeriesArrays
        The candles the candidates index into.
    candidates : Candidates
        Spans with the index of the scale that proposed them.
    pivots : sequence of Pivots
        The zigzag at every scale of ``settings.scales`` (as `propose_candidates` returns).
    settings : DetectorSettings

    No candidates give an empty matrix of shape (0, n_features).
    """
    if len(candidates) == 0:  # numpy cannot infer the width of an empty block
        return np.zeros((0, len(feature_names(settings))), dtype=np.float32)
    s, e = candidates.start, candidates.end
    length = (e - s + 1).astype(np.float64)
    top, bottom = series.highs.max(s, e), series.lows.min(s, e)
    span_range = np.maximum(top - bottom, 1e-12 * np.maximum(np.abs(top), 1e-300))

    def norm(values: np.ndarray) -> np.ndarray:
        shape = (-1,) + (1,) * (values.ndim - 1)
        return (values - bottom.reshape(shape)) / span_range.reshape(shape)

    lo, hi = bins(s, e, settings.path_points)
    columns: list[np.ndarray] = [
        norm(series.closes.mean(lo, hi)),
        norm(series.highs.max(lo, hi)),
        norm(series.lows.min(lo, hi)),
        norm(series.open[s])[:, None],
        norm(series.close[e])[:, None],
    ]
    atr = np.maximum(series.atrs.mean(s, e), 1e-300)
    pivot_block = _pivot_features(candidates, pivots, norm, length, settings=settings)
    columns += [pivot_block, _in_atrs(pivot_block, span_range / atr, settings=settings)]

    # volume and volatility profiles relative to the span plus its context before
    before = np.rint(length * settings.context).astype(np.int64)
    c_lo = np.maximum(s - before, 0)
    for means in (series.volumes, series.true_ranges):
        reference = np.maximum(means.mean(c_lo, e), 1e-12)
        lo_q, hi_q = bins(s, e, settings.profile_points)
        profile = means.mean(lo_q, hi_q) / reference[:, None]
        has_before = s > c_lo
        prior = np.where(has_before, means.mean(c_lo, np.maximum(s - 1, c_lo)), np.nan)
        ratio = np.where(has_before, means.mean(s, e) / np.maximum(prior, 1e-12), MISSING)
        columns += [profile, ratio[:, None]]

    # where the price came from before the span, and went after it, in span ranges
    has_before = s > c_lo
    prev_hi = np.maximum(s - 1, c_lo)
    columns.append(
        np.column_stack(
            [
                np.where(has_before, (series.close[s] - series.close[c_lo]) / span_range, 0.0),
                np.where(has_before, norm(series.highs.max(c_lo, prev_hi)), MISSING),
                np.where(has_before, norm(series.lows.min(c_lo, prev_hi)), MISSING),
            ]
        )
    )
    if settings.after > 0:
        ahead = np.maximum(np.rint(length * settings.after).astype(np.int64), 1)
        a_hi = np.minimum(e + ahead, series.n - 1)
        has_after = a_hi > e
        next_lo = np.minimum(e + 1, a_hi)
        columns.append(
            np.column_stack(
                [
                    np.where(has_after, (series.close[a_hi] - series.close[e]) / span_range, 0.0),
                    np.where(has_after, norm(series.highs.max(next_lo, a_hi)), MISSING),
                    np.where(has_after, norm(series.lows.min(next_lo, a_hi)), MISSING),
                ]
            )
        )
    k = np.asarray(settings.scales, dtype=np.float64)[candidates.scale]
    columns.append(np.column_stack([np.log(length), span_range / atr, k, (series.close[e] - series.open[s]) / atr]))
    return np.concatenate([np.asarray(c, dtype=np.float64).reshape(len(s), -1) for c in columns], axis=1).astype(
        np.float32
    )


def _pivot_slots(level: Pivots, s: np.ndarray, e: np.ndarray, slots: int) -> tuple[np.ndarray, ...]:
    """The first `slots` pivots of `level` inside each span: (candle index, kind, price, valid, count)."""
    first = np.searchsorted(level.index, s, side="left")
    count = np.searchsorted(level.index, e, side="right") - first
    position = first[:, None] + np.arange(slots)[None, :]
    valid = np.arange(slots)[None, :] < count[:, None]
    if len(level) == 0:
        zeros = np.zeros(position.shape)
        return zeros.astype(np.int64), zeros, zeros, valid, count
    position = np.minimum(position, len(level) - 1)
    return level.index[position], level.kind[position], level.price[position], valid, count


def _pivot_features(
    candidates: Candidates, pivots: Sequence[Pivots], norm, length: np.ndarray, *, settings: DetectorSettings
) -> np.ndarray:
    """Ordered pivot slots, counts, and peak/trough summaries, shape (n, 3 * slots + 2 + 2 * 12)."""
    n, slots = len(candidates), settings.max_pivots + EXTRA_PIVOTS
    s, e = candidates.start, candidates.end
    index = np.zeros((n, slots), dtype=np.int64)
    kind = np.zeros((n, slots))
    price = np.zeros((n, slots))
    valid = np.zeros((n, slots), dtype=bool)
    count = np.zeros(n)
    for scale, level in enumerate(pivots):
        rows = np.flatnonzero(candidates.scale == scale)
        if len(rows):
            i, k, p, v, c = _pivot_slots(level, s[rows], e[rows], slots)
            index[rows], kind[rows], price[rows], valid[rows], count[rows] = i, k, p, v, c
    finest = _pivot_slots(pivots[0], s, e, 1)[4] if pivots else np.zeros(n)
    height = np.where(valid, norm(price), MISSING)
    where = np.where(valid, (index - s[:, None]) / np.maximum(length - 1, 1)[:, None], MISSING)
    ordered = np.stack([np.where(valid, kind, 0.0), height, where], axis=2).reshape(n, -1)
    peak = valid & (kind > 0)
    trough = valid & (kind < 0)
    return np.column_stack(
        [
            ordered,
            count,
            finest,
            _summary(np.where(peak, height, -np.inf), where, peak),
            _summary(np.where(trough, 1.0 - height, -np.inf), where, trough),  # troughs as depths
        ]
    )


def _summary(score: np.ndarray, where: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Head-and-shoulders style summary of the pivots selected by `mask`, ranked by `score` (higher = more extreme).

    Returns shape (n, 12): extreme (score, position), left and right shoulder (the most
    extreme pivot before / after it), shoulder difference, symmetry of the shoulders'
    distances to the extreme, and the second most extreme pivot (score, position,
    spacing to the extreme, difference).
    """
    n, slots = score.shape
    rows = np.arange(n)
    any_pivot = mask.any(axis=1)
    head = np.argmax(score, axis=1)
    head_score = np.where(any_pivot, score[rows, head], MISSING)
    head_pos = np.where(any_pivot, where[rows, head], MISSING)
    column = np.arange(slots)[None, :]

    def side(selector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        picked = np.where(selector & mask, score, -np.inf)
        best = np.argmax(picked, axis=1)
        exists = np.isfinite(picked[rows, best])
        return exists, np.where(exists, score[rows, best], MISSING), np.where(exists, where[rows, best], MISSING)

    left_ok, left_score, left_pos = side(column < head[:, None])
    right_ok, right_score, right_pos = side(column > head[:, None])
    both = left_ok & right_ok
    shoulder_diff = np.where(both, np.abs(left_score - right_score), MISSING)
    left_gap, right_gap = head_pos - left_pos, right_pos - head_pos
    symmetry = np.where(
        both, np.minimum(left_gap, right_gap) / np.maximum(np.maximum(left_gap, right_gap), 1e-9), MISSING
    )
    second_ok, second_score, second_pos = side(column != head[:, None])
    return np.column_stack(
        [
            head_score,
            head_pos,
            left_score,
            left_pos,
            right_score,
            right_pos,
            shoulder_diff,
            symmetry,
            second_score,
            second_pos,
            np.where(second_ok, np.abs(second_pos - head_pos), MISSING),
            np.where(second_ok, head_score - second_score, MISSING),
        ]
    )
