"""Scale-free shape features of candidate spans, one row per candidate.

What a chart reader looks at, measured so that multiplying every price by a constant or
shifting the times changes nothing (no price levels, no times):

- ``path``: the span's close (bin means), high envelope (bin maxima) and low envelope (bin
  minima), each resampled to ``settings.path_points`` bins and min-max normalised by the
  span's range (lowest low = 0, highest high = 1);
- ``pivot``: the zigzag pivots inside the span at the candidate's scale (the finest that
  proposed it, so at most ``max_pivots`` of them for an unshifted span), in order (kind,
  height in span range, position as a fraction of the span), their count at that scale
  and at the finest, and summaries a double top or head and shoulders is made of: the
  highest peak ("head") with the highest peak either side of it ("shoulders"), the second
  highest peak and their spacing, and the same for troughs;
- ``volume`` and ``volatility``: bin means of volume and true range over
  ``settings.profile_points`` bins, relative to their mean over the span and its context;
- ``context``: where the ``context x length`` candles before the span (and ``after x
  length`` candles after it) went, in span ranges;
- ``scale``: the length (log candles), the range in ATRs, the zigzag scale that proposed it.

Leakage: pivots are found over the whole series, and the ``after`` features look past the
span's end; both are harmless for spans drawn after the fact, and ``after=0`` removes the
second for a causal use.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.shapes.candidates import Candidates
from ml_platform.shapes.edges import edge_feature_names, edge_features
from ml_platform.shapes.geometry import geometry_feature_names, geometry_features
from ml_platform.shapes.pivots import Pivots, average_true_range
from ml_platform.shapes.ranges import RangeExtremes, RangeMeans, bins
from ml_platform.shapes.settings import DetectorSettings

MISSING = -1.0
"""Value of a feature that does not exist for a candidate (a pivot slot left empty, no shoulder)."""
EXTRA_PIVOTS = 2
"""Pivot slots beyond ``max_pivots`` (an edge-shifted span can hold a few more)."""
BLOCK = 4096
"""Candidates whose features are computed at once (small enough for the temporaries to stay in cache)."""


@dataclass(frozen=True)
class SeriesArrays:
    """One series' arrays and range-query helpers, built once for all its candidates.

    Build with `SeriesArrays.from_candles`; `max_length` bounds the candidate length.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    highs: RangeExtremes
    lows: RangeExtremes
    closes: RangeMeans
    closes_x: RangeExtremes | None  # close extremes, for the edge and geometry features only
    volumes: RangeMeans
    true_ranges: RangeMeans
    atrs: RangeMeans

    @property
    def n(self) -> int:
        return len(self.close)

    @classmethod
    def from_candles(cls, candles: pd.DataFrame, *, settings: DetectorSettings, max_length: int) -> SeriesArrays:
        """Parameters: candles with ``open high low close volume``; `max_length` the longest candidate."""
        o, h, l, c = (candles[col].to_numpy(dtype=np.float64) for col in ("open", "high", "low", "close"))
        volume = candles["volume"].to_numpy(dtype=np.float64)
        previous = np.concatenate((c[:1], c[:-1]))
        true_range = np.maximum(h, previous) - np.minimum(l, previous)
        longest = int(np.ceil(max_length * (1 + settings.context + settings.after))) + 2
        return cls(
            open=o,
            high=h,
            low=l,
            close=c,
            highs=RangeExtremes(h, max_length=longest),
            lows=RangeExtremes(l, max_length=longest),
            closes=RangeMeans(c),
            closes_x=RangeExtremes(c, max_length=longest)
            if settings.edge_features or settings.geometry_scales
            else None,
            volumes=RangeMeans(volume),
            true_ranges=RangeMeans(true_range),
            atrs=RangeMeans(average_true_range(h, l, c, period=settings.atr_period)),
        )


def feature_names(settings: DetectorSettings) -> list[str]:
    """The column names of `shape_features`, in order: `computed_names` less ``settings.exclude_features``."""
    names = computed_names(settings)
    return [names[i] for i in _kept(settings, tuple(names))]


def _kept(settings: DetectorSettings, names: tuple[str, ...]) -> list[int]:
    """Positions in `names` of the columns no ``settings.exclude_features`` pattern matches."""
    patterns = settings.exclude_features
    return [i for i, name in enumerate(names) if not any(fnmatch.fnmatchcase(name, p) for p in patterns)]


def computed_names(settings: DetectorSettings) -> list[str]:
    """Every feature `_fill` computes, in order (before ``settings.exclude_features``)."""
    p, q, m = settings.path_points, settings.profile_points, settings.max_pivots + EXTRA_PIVOTS
    names = [f"path_{kind}_{i}" for kind in ("close", "high", "low") for i in range(p)]
    names += ["path_open_first", "path_close_last"]
    names += [f"pivot_{i}_{field}" for i in range(m) for field in ("kind", "height", "position")]
    names += ["pivot_count", "pivot_count_finest"]
    for side in ("peak", "trough"):
        names += [f"{side}_{field}" for field in _SUMMARY_FIELDS]
    names += [f"pivot_{i}_height_atr" for i in range(m)]
    names += [f"{side}_{field}_atr" for side in ("peak", "trough") for field in _ATR_FIELDS]
    names += [f"volume_{i}" for i in range(q)] + ["volume_span_vs_before"]
    names += [f"volatility_{i}" for i in range(q)] + ["volatility_span_vs_before"]
    names += ["context_trend", "context_high", "context_low"]
    if settings.after > 0:
        names += ["after_move", "after_high", "after_low"]
    names += ["scale_log_length", "scale_range_atr", "scale_zigzag_k", "scale_net_move_atr"]
    return names + edge_feature_names(settings) + geometry_feature_names(settings)


_ATR_FIELDS = ("shoulder_difference", "second_difference")
"""Summary fields also given in ATRs (the unit chart rules state their tolerances in)."""
_SUMMARY_FIELDS = (
    "extreme_height",
    "extreme_position",
    "left_height",
    "left_position",
    "right_height",
    "right_position",
    "shoulder_difference",
    "symmetry",
    "second_height",
    "second_position",
    "second_spacing",
    "second_difference",
)


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
    names = computed_names(settings)
    out = np.empty((len(candidates), len(names)), dtype=np.float32)
    table = _PivotTable.of(pivots, n_candles=series.n)
    for a in range(0, len(candidates), BLOCK):  # row blocks: the temporaries stay in the CPU cache
        rows = slice(a, a + BLOCK)
        part = Candidates(candidates.start[rows], candidates.end[rows], candidates.scale[rows])
        _fill(out[rows], series, part, table, settings=settings)
    if settings.exclude_features:
        return np.ascontiguousarray(out[:, _kept(settings, tuple(names))])
    return out


def _fill(
    out: np.ndarray, series: SeriesArrays, candidates: Candidates, table: _PivotTable, *, settings: DetectorSettings
) -> None:
    """Write the features of `candidates` into `out`, shape (n_candidates, n_features)."""
    n, width = out.shape
    column = 0

    def put(block: np.ndarray) -> None:
        """Write `block` (one row per candidate) into the next columns of `out`, cast to float32."""
        nonlocal column
        block = np.asarray(block, dtype=np.float64).reshape(n, -1)
        out[:, column : column + block.shape[1]] = block
        column += block.shape[1]

    s, e = candidates.start, candidates.end
    length = (e - s + 1).astype(np.float64)
    span_at = series.highs.positions(s, e)
    top, bottom = series.highs.max_at(span_at), series.lows.min_at(span_at)
    span_range = np.maximum(top - bottom, 1e-12 * np.maximum(np.abs(top), 1e-300))

    def norm(values: np.ndarray) -> np.ndarray:
        shape = (-1,) + (1,) * (values.ndim - 1)
        return (values - bottom.reshape(shape)) / span_range.reshape(shape)

    lo, hi = bins(s, e, settings.path_points)
    bins_at = series.highs.positions(lo, hi)
    put(norm(series.closes.mean(lo, hi)))
    put(norm(series.highs.max_at(bins_at)))
    put(norm(series.lows.min_at(bins_at)))
    put(norm(series.open[s]))
    put(norm(series.close[e]))
    atr = np.maximum(series.atrs.mean(s, e), 1e-300)
    pivot_block = _pivot_features(candidates, table, norm, length, settings=settings)
    put(pivot_block)
    put(_in_atrs(pivot_block, span_range / atr, settings=settings))

    # volume and volatility profiles relative to the span plus its context before
    before = np.rint(length * settings.context).astype(np.int64)
    c_lo = np.maximum(s - before, 0)
    has_before = s > c_lo
    prev_hi = np.maximum(s - 1, c_lo)
    lo_q, hi_q = bins(s, e, settings.profile_points)
    for means in (series.volumes, series.true_ranges):
        reference = np.maximum(means.mean(c_lo, e), 1e-12)
        put(means.mean(lo_q, hi_q) / reference[:, None])
        prior = np.where(has_before, means.mean(c_lo, prev_hi), np.nan)
        put(np.where(has_before, means.mean(s, e) / np.maximum(prior, 1e-12), MISSING))

    # where the price came from before the span, and went after it, in span ranges
    before_at = series.highs.positions(c_lo, prev_hi)
    put(np.where(has_before, (series.close[s] - series.close[c_lo]) / span_range, 0.0))
    put(np.where(has_before, norm(series.highs.max_at(before_at)), MISSING))
    put(np.where(has_before, norm(series.lows.min_at(before_at)), MISSING))
    if settings.after > 0:
        ahead = np.maximum(np.rint(length * settings.after).astype(np.int64), 1)
        a_hi = np.minimum(e + ahead, series.n - 1)
        has_after = a_hi > e
        next_lo = np.minimum(e + 1, a_hi)
        after_at = series.highs.positions(next_lo, a_hi)
        put(np.where(has_after, (series.close[a_hi] - series.close[e]) / span_range, 0.0))
        put(np.where(has_after, norm(series.highs.max_at(after_at)), MISSING))
        put(np.where(has_after, norm(series.lows.min_at(after_at)), MISSING))
    k = np.asarray(settings.scales, dtype=np.float64)[candidates.scale]
    put(np.log(length))
    put(span_range / atr)
    put(k)
    put((series.close[e] - series.open[s]) / atr)
    if settings.edge_features:
        put(edge_features(series, candidates, table, settings=settings))
    if settings.geometry_scales:
        put(geometry_features(series, candidates, table, settings=settings))
    if column != width:  # a block was added without its feature names
        raise AssertionError(f"shape_features wrote {column} columns, computed_names has {width}")


def _in_atrs(pivot_block: np.ndarray, range_in_atrs: np.ndarray, *, settings: DetectorSettings) -> np.ndarray:
    """The pivot heights and the `_ATR_FIELDS` of `_pivot_features`' block in ATRs, MISSING kept."""
    slots = settings.max_pivots + EXTRA_PIVOTS
    summary = 3 * slots + 2
    picked = [3 * i + 1 for i in range(slots)] + [
        summary + side * len(_SUMMARY_FIELDS) + _SUMMARY_FIELDS.index(field) for side in (0, 1) for field in _ATR_FIELDS
    ]
    values = pivot_block[:, picked]
    return np.where(values == MISSING, MISSING, values * range_in_atrs[:, None])


@dataclass(frozen=True)
class _PivotTable:
    """The pivots of every scale in one sorted array: pivot ``j`` of scale ``k`` has the key ``k * stride + index``.

    ``stride`` exceeds every candle position, so a span's pivots at its scale are one
    contiguous run of `keys` (`_pivot_slots`).
    """

    keys: np.ndarray
    stride: int
    index: np.ndarray
    kind: np.ndarray
    price: np.ndarray
    finest: np.ndarray  # candle positions of the finest scale's pivots

    @classmethod
    def of(cls, pivots: Sequence[Pivots], *, n_candles: int) -> _PivotTable:
        empty = np.zeros(0, dtype=np.int64)
        stride = n_candles + 1
        if not pivots:
            return cls(empty, stride, empty, np.zeros(0), np.zeros(0), empty)
        index = np.concatenate([level.index for level in pivots])
        keys = np.concatenate([k * stride + level.index for k, level in enumerate(pivots)])
        kind = np.concatenate([level.kind for level in pivots])
        price = np.concatenate([level.price for level in pivots])
        return cls(keys, stride, index, kind, price, pivots[0].index)

    def runs(self, scale: np.ndarray, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per span ``s..e``, the position in `keys` of its first pivot at its `scale`, and how many it holds."""
        base = scale * self.stride
        first = np.searchsorted(self.keys, base + s, side="left")
        return first, np.searchsorted(self.keys, base + e, side="right") - first


def _pivot_slots(table: _PivotTable, scale: np.ndarray, s: np.ndarray, e: np.ndarray, slots: int) -> tuple:
    """The first `slots` pivots inside each span at its scale: (candle index, kind, price, valid, count).

    Slots past a span's count are not valid (their values are arbitrary pivots).
    """
    n, total = len(s), len(table.keys)
    if total == 0:
        zeros = np.zeros((n, slots))
        return zeros.astype(np.int64), zeros, zeros, np.zeros((n, slots), dtype=bool), np.zeros(n, dtype=np.int64)
    first, count = table.runs(scale, s, e)
    step = np.arange(slots)[None, :]
    position = np.minimum(first[:, None] + step, total - 1)
    valid = step < count[:, None]
    return table.index[position], table.kind[position], table.price[position], valid, count


def _pivot_features(
    candidates: Candidates, table: _PivotTable, norm, length: np.ndarray, *, settings: DetectorSettings
) -> np.ndarray:
    """Ordered pivot slots, counts, and peak/trough summaries, shape (n, 3 * slots + 2 + 2 * 12)."""
    n, slots = len(candidates), settings.max_pivots + EXTRA_PIVOTS
    s, e = candidates.start, candidates.end
    index, kind, price, valid, count = _pivot_slots(table, candidates.scale, s, e, slots)
    finest = np.searchsorted(table.finest, e, side="right") - np.searchsorted(table.finest, s, side="left")
    height = np.where(valid, norm(price), MISSING)
    where = np.where(valid, (index - s[:, None]) / np.maximum(length - 1, 1)[:, None], MISSING)
    fields = len(_SUMMARY_FIELDS)
    block = np.empty((n, 3 * slots + 2 + 2 * fields))
    block[:, 0 : 3 * slots : 3] = np.where(valid, kind, 0.0)
    block[:, 1 : 3 * slots : 3] = height
    block[:, 2 : 3 * slots : 3] = where
    block[:, 3 * slots] = count
    block[:, 3 * slots + 1] = finest
    peak = valid & (kind > 0)
    trough = valid & (kind < 0)
    summary = 3 * slots + 2
    _summary(np.where(peak, height, -np.inf), where, peak, out=block[:, summary : summary + fields])
    depth = np.where(trough, 1.0 - height, -np.inf)  # troughs as depths
    _summary(depth, where, trough, out=block[:, summary + fields :])
    return block


def _summary(score: np.ndarray, where: np.ndarray, mask: np.ndarray, *, out: np.ndarray) -> None:
    """Head-and-shoulders style summary of the pivots selected by `mask`, ranked by `score` (higher = more extreme).

    Writes `out`, shape (n, 12): extreme (score, position), left and right shoulder (the most
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
    columns = (
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
    )
    for i, values in enumerate(columns):
        out[:, i] = values
