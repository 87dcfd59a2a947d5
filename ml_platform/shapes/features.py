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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.shapes.candidates import Candidates
from ml_platform.shapes.pivots import Pivots, average_true_range
from ml_platform.shapes.ranges import RangeExtremes, RangeMeans, bins
from ml_platform.shapes.settings import DetectorSettings

MISSING = -1.0
"""Value of a feature that does not exist for a candidate (a pivot slot left empty, no shoulder)."""
EXTRA_PIVOTS = 2
"""Pivot slots beyond ``max_pivots`` (an edge-shifted span can hold a few more)."""


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
            volumes=RangeMeans(volume),
            true_ranges=RangeMeans(true_range),
            atrs=RangeMeans(average_true_range(h, l, c, period=settings.atr_period)),
        )


def feature_names(settings: DetectorSettings) -> list[str]:
    """The column names of `shape_features`, in order."""
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
    return names


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


def _in_atrs(pivot_block: np.ndarray, range_in_atrs: np.ndarray, *, settings: DetectorSettings) -> np.ndarray:
    """The pivot heights and the `_ATR_FIELDS` of `_pivot_features`' block in ATRs, MISSING kept."""
    slots = settings.max_pivots + EXTRA_PIVOTS
    summary = 3 * slots + 2
    picked = [3 * i + 1 for i in range(slots)] + [
        summary + side * len(_SUMMARY_FIELDS) + _SUMMARY_FIELDS.index(field) for side in (0, 1) for field in _ATR_FIELDS
    ]
    values = pivot_block[:, picked]
    return np.where(values == MISSING, MISSING, values * range_in_atrs[:, None])


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
