"""Candidate spans: every run of a few consecutive zigzag pivots, at several scales.

A chart pattern starts and ends near turning points and is a short sequence of them (a
flag: pole and consolidation, 3-4 pivots; a double top 5; a head and shoulders 7). So the
span detector does not slide windows of every length over the series: it takes the pivots
of zigzags at several reversal sizes (`settings.scales`, in ATRs), proposes every run of
``min_pivots..max_pivots`` consecutive pivots as a span, adds start/end variants (each
edge moved by a fraction of the length) and, with ``settings.breakout_ends``, a variant of
every run that ends at its *breakout*: the first close beyond the run's second-to-last
pivot after its last one (below the trough between a double top's peaks, above a flag's
pole top), the candle that confirms a shape in a chart book. It keeps the spans whose
length is in the range the annotated spans had (widened by a margin), and drops duplicates. The cost is one zigzag
per scale plus numpy work proportional to the number of candidates.

`proposal_recall` measures the ceiling this puts on the detector: the share of annotated
spans that some candidate overlaps with IoU >= 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml_platform.shapes.pivots import Pivots, zigzag
from ml_platform.shapes.settings import DetectorSettings

BREAKOUT_CHUNK = 1 << 21
"""Look-ahead cells (pivots x candles) `breakout_candles` compares at once (bounds its memory)."""


@dataclass(frozen=True)
class Candidates:
    """Candidate spans of one series, sorted by (start, end), without duplicates.

    start, end : int64 arrays of shape (n_candidates,)
        First and last candle of each span (inclusive positions into the series).
    scale : int64 array of shape (n_candidates,)
        Index into ``settings.scales`` of the finest zigzag that proposed the span: the most
        detailed scale at which the span is still a run of at most ``max_pivots`` pivots (its
        pivots describe the span's geometry in `ml_platform.shapes.features`).
    """

    start: np.ndarray
    end: np.ndarray
    scale: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def length(self) -> np.ndarray:
        return self.end - self.start + 1


def length_range(lengths: Sequence[int] | np.ndarray, *, margin: float) -> tuple[int, int]:
    """The candidate length range from annotated span lengths: ``(min * (1 - margin), max * (1 + margin))``.

    Parameters
    ----------
    lengths : int array of shape (n_spans,)
        Lengths in candles (``end - start + 1``) of the training spans; at least one.
    margin : float
        Fraction to widen the range by on both sides.

    Returns
    -------
    (min_length, max_length) : tuple of int, ``2 <= min_length <= max_length``.
    """
    lengths = np.asarray(lengths)
    if len(lengths) == 0:
        raise ValueError("length_range: no annotated spans to learn the candidate lengths from; annotate some spans")
    low = max(2, int(np.floor(lengths.min() * (1 - margin))))
    return low, max(low, int(np.ceil(lengths.max() * (1 + margin))))


def pivot_scales(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, *, scales: Sequence[float], period: int
) -> list[Pivots]:
    """The zigzag pivots at every scale (``k`` in ATRs), in the order of `scales`."""
    return [zigzag(high, low, close, k=k, period=period) for k in scales]


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
    n, close = len(close), np.asarray(close)
    if len(level) < 2 or n == 0 or max_length < 1:
        return out
    # one row per pivot 1.., one column per look-ahead step: the first crossing column is the breakout
    first = level.index[1:] + 1
    reference = level.price[:-1]
    peak = level.kind[1:] > 0
    steps = np.arange(max_length)
    rows_per_chunk = max(1, BREAKOUT_CHUNK // max_length)  # bounds the (rows, max_length) matrices
    for a in range(0, len(first), rows_per_chunk):
        b = a + rows_per_chunk
        position = first[a:b, None] + steps[None, :]
        inside = position < n
        window = close[np.minimum(position, n - 1)]
        ref = reference[a:b, None]
        crossed = np.where(peak[a:b, None], window < ref, window > ref) & inside
        hit = np.argmax(crossed, axis=1)
        found = crossed[np.arange(len(hit)), hit]
        out[1 + a : 1 + b][found] = position[np.arange(len(hit)), hit][found]
    return out


def propose(
    pivots: Sequence[Pivots],
    n_candles: int,
    *,
    min_pivots: int,
    max_pivots: int,
    min_length: int,
    max_length: int,
    edge_shifts: Sequence[float] = (0.0,),
    close: np.ndarray | None = None,
    pivot_ends: bool = True,
) -> Candidates:
    """Candidate spans from pivots at several scales.

    Parameters
    ----------
    pivots : sequence of Pivots
        One zigzag per scale, finest first (as `pivot_scales` returns them).
    n_candles : int
        Length of the series (edges are clipped to ``0..n_candles-1``).
    min_pivots, max_pivots : int
        Runs of this many consecutive pivots become spans.
    min_length, max_length : int
        Spans outside this length range (candles, inclusive) are dropped.
    edge_shifts : sequence of float, default=(0.0,)
        Every start and every end is also moved by each shift times the run's length.
    close : float array of shape (n_candles,), optional
        When given, every run also ends at its breakout (`breakout_candles`; runs without
        one within `max_length` candles get no such variant).
    pivot_ends : bool, default=True
        Keep the runs ending on their last pivot (with their edge variants); False with
        `close` given keeps only the breakout ends.

    Returns
    -------
    Candidates
        Unique (start, end) pairs sorted by start then end; a pair proposed at several
        scales keeps the finest (the first in `pivots`).
    """
    starts, ends, scales = [], [], []
    shifts = np.asarray(edge_shifts, dtype=np.float64)
    for scale, level in enumerate(pivots):
        index = level.index
        breakouts = None if close is None else breakout_candles(level, close, max_length=max_length)
        for run in range(min_pivots, max_pivots + 1):
            if len(index) < run:
                break
            s, e = index[: len(index) - run + 1], index[run - 1 :]
            length = (e - s + 1).astype(np.float64)
            # every start shift x every end shift, shape (n_runs, n_shifts, n_shifts)
            s_var = s[:, None, None] + np.rint(length[:, None, None] * shifts[None, :, None]).astype(np.int64)
            e_var = e[:, None, None] + np.rint(length[:, None, None] * shifts[None, None, :]).astype(np.int64)
            s_var, e_var = np.broadcast_arrays(s_var, e_var)
            s_var = np.clip(s_var.ravel(), 0, n_candles - 1)
            e_var = np.clip(e_var.ravel(), 0, n_candles - 1)
            span_length = e_var - s_var + 1
            keep = (span_length >= min_length) & (span_length <= max_length) & (pivot_ends or close is None)
            starts.append(s_var[keep])
            ends.append(e_var[keep])
            scales.append(np.full(int(keep.sum()), scale, dtype=np.int64))
            if breakouts is not None:
                b = breakouts[run - 1 :]
                b_length = b - s + 1
                ok = (b >= 0) & (b_length >= min_length) & (b_length <= max_length)
                starts.append(s[ok])
                ends.append(b[ok])
                scales.append(np.full(int(ok.sum()), scale, dtype=np.int64))
    if not starts:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, empty)
    start, end, scale_of = np.concatenate(starts), np.concatenate(ends), np.concatenate(scales)
    # finest scale first within each (start, end), then keep the first of each pair
    order = np.lexsort((scale_of, end, start))
    start, end, scale_of = start[order], end[order], scale_of[order]
    first = np.ones(len(start), dtype=bool)
    first[1:] = (start[1:] != start[:-1]) | (end[1:] != end[:-1])
    return Candidates(start[first], end[first], scale_of[first])


def propose_candidates(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    *,
    settings: DetectorSettings,
    lengths: tuple[int, int],
) -> tuple[Candidates, list[Pivots]]:
    """Candidates of one series with the detector's settings; also returns the pivots per scale.

    The pivots are those of ``settings.pivot_levels()``: every scale of ``settings.scales``
    (the candidates' ``scale`` indexes them), then any geometry scale not among them.

    Parameters
    ----------
    high, low, close : float arrays of shape (n_candles,)
    settings : DetectorSettings
        ``scales``, ``min_pivots``, ``max_pivots``, ``edge_shifts``, ``breakout_ends``, ``atr_period``.
    lengths : (min_length, max_length)
        From `length_range` over the training spans.
    """
    pivots = pivot_scales(high, low, close, scales=settings.pivot_levels(), period=settings.atr_period)
    candidates = propose(
        pivots[: len(settings.scales)],
        len(high),
        min_pivots=settings.min_pivots,
        max_pivots=settings.max_pivots,
        min_length=lengths[0],
        max_length=lengths[1],
        edge_shifts=settings.edge_shifts,
        close=close if settings.breakout_ends else None,
        pivot_ends=settings.pivot_ends,
    )
    return candidates, pivots


# --------------------------------------------------------------------------- matching


def _windows(cand_start: np.ndarray, s: int, e: int, min_iou: float) -> tuple[int, int]:
    """Positions in the sorted `cand_start` of the candidates that can reach `min_iou` with (s, e)."""
    length = e - s + 1
    reach = int(np.floor(length * (1 - min_iou) / min_iou)) if min_iou > 0 else len(cand_start)
    lo = int(np.searchsorted(cand_start, s - reach, side="left"))
    hi = int(np.searchsorted(cand_start, e, side="right"))
    return lo, hi


def _iou(cs: np.ndarray, ce: np.ndarray, s: int, e: int) -> np.ndarray:
    inter = np.minimum(ce, e) - np.maximum(cs, s) + 1
    union = np.maximum(ce, e) - np.minimum(cs, s) + 1
    return np.where(inter > 0, inter / union, 0.0)


def match_candidates(
    cand_start: np.ndarray,
    cand_end: np.ndarray,
    span_start: np.ndarray,
    span_end: np.ndarray,
    *,
    min_iou: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """For every candidate, the annotated span it overlaps most, if their IoU is >= `min_iou`.

    Parameters
    ----------
    cand_start, cand_end : int arrays of shape (n_candidates,)
        Sorted by start (as `Candidates` are).
    span_start, span_end : int arrays of shape (n_spans,)
    min_iou : float, default=0.5

    Returns
    -------
    best_iou : float array of shape (n_candidates,)
        The highest IoU with any span that reaches `min_iou`, else 0.
    best_span : int array of shape (n_candidates,)
        Index of that span, or -1.
    """
    cand_start, cand_end = np.asarray(cand_start), np.asarray(cand_end)
    best_iou = np.zeros(len(cand_start))
    best_span = np.full(len(cand_start), -1, dtype=np.int64)
    for j, (s, e) in enumerate(zip(np.asarray(span_start).tolist(), np.asarray(span_end).tolist(), strict=True)):
        lo, hi = _windows(cand_start, s, e, min_iou)
        iou = _iou(cand_start[lo:hi], cand_end[lo:hi], s, e)
        better = (iou >= min_iou) & (iou > best_iou[lo:hi])
        best_iou[lo:hi][better] = iou[better]
        best_span[lo:hi][better] = j
    return best_iou, best_span


def span_best_iou(
    cand_start: np.ndarray, cand_end: np.ndarray, span_start: np.ndarray, span_end: np.ndarray
) -> np.ndarray:
    """For every annotated span, the highest IoU any candidate reaches (0 when none overlaps), shape (n_spans,).

    Candidates must be sorted by start. Only candidates that can reach IoU 0.1 are looked at.
    """
    cand_start, cand_end = np.asarray(cand_start), np.asarray(cand_end)
    best = np.zeros(len(span_start))
    for j, (s, e) in enumerate(zip(np.asarray(span_start).tolist(), np.asarray(span_end).tolist(), strict=True)):
        lo, hi = _windows(cand_start, s, e, 0.1)
        if hi > lo:
            best[j] = float(_iou(cand_start[lo:hi], cand_end[lo:hi], s, e).max())
    return best


def proposal_recall(
    candidates: Candidates, span_start: np.ndarray, span_end: np.ndarray, *, min_iou: float = 0.5
) -> float:
    """The share of annotated spans that some candidate overlaps with IoU >= `min_iou` (1.0 when no spans)."""
    if len(span_start) == 0:
        return 1.0
    best = span_best_iou(candidates.start, candidates.end, span_start, span_end)
    return float(np.mean(best >= min_iou))
