"""Rule-based chart-shape detectors: textbook definitions on zigzag pivots.

Real price series come without annotations; these rules label them the way a chart
textbook defines the shapes, so a benchmark can train and score models on real prices
where a pattern is nothing but its shape. Every threshold is in average true ranges (ATR,
`pivots.average_true_range` at the pattern's last pivot), so the same settings mean the
same thing on an FX hour and a stock day. The pivots are `pivots.zigzag` at
``RuleSettings.zigzag_k``.

Definitions (defaults in `RuleSettings`; a span runs from its first candle to the
confirming candle, inclusive, and is ``min_length``-``max_length`` candles long):

- **double top**: consecutive pivots peak P1, trough T, peak P2 with ``|P1 - P2| <=
  peak_tolerance`` ATR and ``min(P1, P2) - T >= min_depth`` ATR, the peaks at least
  ``min_separation`` candles apart; confirmed by the first close below T after P2, before
  any high exceeds ``max(P1, P2) + peak_tolerance`` ATR. Span: P1 .. the confirming candle.
- **head and shoulders**: consecutive pivots peak L (left shoulder), trough T1, peak H
  (head), trough T2, peak R (right shoulder) with ``H - max(L, R) >= head_margin`` ATR,
  ``|L - R| <= shoulder_tolerance`` ATR, ``|T1 - T2| <= neckline_tolerance`` ATR (a
  roughly level neckline) and ``min(L, R) - max(T1, T2) >= shoulder_depth`` ATR; confirmed by
  the first close below the neckline (the line through T1 and T2, extended) after R,
  before any high exceeds H. Span: L .. the confirming candle.
- **bull flag**: a pole, a leg of the finer zigzag (``flag_zigzag_k``: a flag's pullback
  is often too shallow to make a pivot at ``zigzag_k``) from a trough A up to a peak B, rising at least
  ``pole_min_height`` ATR in at most ``pole_max_length`` candles; then a flag of
  ``flag_min_length``-``flag_max_length`` candles that retraces at least
  ``flag_min_retrace`` and at most ``flag_max_retrace`` of the pole (lowest low against
  the pole's height) without a close above B; confirmed by the first close above B's
  high. Span: A .. the breakout candle.
- **double bottom**, **inverse head and shoulders**, **bear flag**: the same rules on the
  mirrored series (prices negated, high and low swapped).

`detect_shapes` runs every detector and resolves overlaps (`resolve_overlaps`): a span
overlapping one already kept is dropped, the kept order being head and shoulders, then
double tops/bottoms, then flags, earlier spans first; annotators mark one pattern at a
time too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.shapes.pivots import Pivots, average_true_range, zigzag

SHAPE_LABELS: tuple[str, ...] = (
    "double_top",
    "double_bottom",
    "head_and_shoulders",
    "inverse_head_and_shoulders",
    "bull_flag",
    "bear_flag",
)
SPAN_COLUMNS = ("start", "end", "label")


@dataclass(frozen=True)
class RuleSettings:
    """The thresholds of every rule (distances in ATRs, lengths in candles); see the module docstring."""

    zigzag_k: float = 2.0
    flag_zigzag_k: float = 1.0
    min_length: int = 10
    max_length: int = 80
    # double top / bottom
    peak_tolerance: float = 1.0
    min_depth: float = 3.0
    min_separation: int = 5
    # head and shoulders
    head_margin: float = 1.0
    shoulder_tolerance: float = 2.0
    neckline_tolerance: float = 2.0
    shoulder_depth: float = 2.0
    # flags
    pole_min_height: float = 4.0
    pole_max_length: int = 15
    flag_min_length: int = 5
    flag_max_length: int = 25
    flag_min_retrace: float = 0.15
    flag_max_retrace: float = 0.5


@dataclass(frozen=True)
class _Series:
    """One orientation of a candle series (the mirror: negated prices, high and low swapped)."""

    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    atr: np.ndarray
    pivots: Pivots


def _orient(candles: pd.DataFrame, k: float, *, mirrored: bool) -> _Series:
    high, low, close = (candles[c].to_numpy(np.float64) for c in ("high", "low", "close"))
    if mirrored:
        high, low, close = -low, -high, -close
    atr = average_true_range(high, low, close)
    return _Series(high, low, close, atr, zigzag(high, low, close, k=k))


def _first(condition: np.ndarray) -> int | None:
    hits = np.flatnonzero(condition)
    return int(hits[0]) if len(hits) else None


def _top_spans(s: _Series, settings: RuleSettings) -> list[tuple[int, int]]:
    """Double tops of one orientation: (P1 index, confirming candle)."""
    index, kind, price = s.pivots.index, s.pivots.kind, s.pivots.price
    n, found = len(s.close), []
    for j in range(len(index) - 2):
        if kind[j] != 1:
            continue
        p1, t, p2 = int(index[j]), int(index[j + 1]), int(index[j + 2])
        atr = s.atr[p2]
        top = max(price[j], price[j + 2])
        if abs(price[j] - price[j + 2]) > settings.peak_tolerance * atr or p2 - p1 < settings.min_separation:
            continue
        if min(price[j], price[j + 2]) - price[j + 1] < settings.min_depth * atr:
            continue
        stop = min(n, p1 + settings.max_length)
        after = slice(p2 + 1, stop)
        broken = _first(s.close[after] < price[j + 1])
        invalid = _first(s.high[after] > top + settings.peak_tolerance * atr)
        if broken is None or (invalid is not None and invalid <= broken):
            continue
        end = p2 + 1 + broken
        if end - p1 + 1 >= settings.min_length and t > p1:
            found.append((p1, end))
    return found


def _head_and_shoulders_spans(s: _Series, settings: RuleSettings) -> list[tuple[int, int]]:
    """Heads and shoulders of one orientation: (left shoulder index, confirming candle)."""
    index, kind, price = s.pivots.index, s.pivots.kind, s.pivots.price
    n, found = len(s.close), []
    for j in range(len(index) - 4):
        if kind[j] != 1:
            continue
        left, t1, head, t2, right = (float(p) for p in price[j : j + 5])
        il, it1, _, it2, ir = (int(i) for i in index[j : j + 5])
        atr = s.atr[ir]
        if head - max(left, right) < settings.head_margin * atr:
            continue
        if abs(left - right) > settings.shoulder_tolerance * atr or abs(t1 - t2) > settings.neckline_tolerance * atr:
            continue
        if min(left, right) - max(t1, t2) < settings.shoulder_depth * atr:
            continue
        stop = min(n, il + settings.max_length)
        candles = np.arange(ir + 1, stop)
        neckline = t1 + (t2 - t1) * (candles - it1) / max(it2 - it1, 1)
        broken = _first(s.close[ir + 1 : stop] < neckline)
        invalid = _first(s.high[ir + 1 : stop] > head)
        if broken is None or (invalid is not None and invalid <= broken):
            continue
        end = ir + 1 + broken
        if end - il + 1 >= settings.min_length:
            found.append((il, end))
    return found


def _flag_spans(s: _Series, settings: RuleSettings) -> list[tuple[int, int]]:
    """Bull flags of one orientation: (pole start, breakout candle)."""
    index, kind, price = s.pivots.index, s.pivots.kind, s.pivots.price
    n, found = len(s.close), []
    for j in range(len(index) - 1):
        if kind[j] != -1:
            continue
        a, b = int(index[j]), int(index[j + 1])
        pole = price[j + 1] - price[j]
        if b - a > settings.pole_max_length or pole < settings.pole_min_height * s.atr[b]:
            continue
        stop = min(n, b + 1 + settings.flag_max_length + 1, a + settings.max_length)
        broken = _first(s.close[b + 1 : stop] > price[j + 1])
        if broken is None:
            continue
        end = b + 1 + broken
        flag_low = float(s.low[b + 1 : end].min()) if end > b + 1 else price[j + 1]
        retrace = (price[j + 1] - flag_low) / pole
        if (
            end - b - 1 < settings.flag_min_length
            or not settings.flag_min_retrace <= retrace <= settings.flag_max_retrace
        ):
            continue
        if end - a + 1 >= settings.min_length:
            found.append((a, end))
    return found


_Detector = Callable[[_Series, RuleSettings], list[tuple[int, int]]]
_DETECTORS: dict[str, tuple[_Detector, bool]] = {
    "head_and_shoulders": (_head_and_shoulders_spans, False),
    "inverse_head_and_shoulders": (_head_and_shoulders_spans, True),
    "double_top": (_top_spans, False),
    "double_bottom": (_top_spans, True),
    "bull_flag": (_flag_spans, False),
    "bear_flag": (_flag_spans, True),
}


def _frame(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(SPAN_COLUMNS))
    frame = frame.astype({"start": np.int64, "end": np.int64, "label": object})
    return frame.sort_values(["start", "end", "label"], kind="stable").reset_index(drop=True)


def detect(candles: pd.DataFrame, label: str, settings: RuleSettings | None = None) -> pd.DataFrame:
    """The spans of one shape in `candles` (columns high, low, close; positions 0..n-1).

    Returns
    -------
    spans : DataFrame with columns start, end (int64, inclusive candle positions), label
        Sorted by start; spans of one label may overlap (see `resolve_overlaps`).
    """
    if label not in _DETECTORS:
        raise ValueError(f"unknown shape {label!r}: choose from {', '.join(SHAPE_LABELS)}")
    settings = settings or RuleSettings()
    detector, mirrored = _DETECTORS[label]
    k = settings.flag_zigzag_k if label.endswith("flag") else settings.zigzag_k
    series = _orient(candles, k, mirrored=mirrored)
    return _frame([(start, end, label) for start, end in detector(series, settings)])


def double_top(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "double_top", settings)


def double_bottom(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "double_bottom", settings)


def head_and_shoulders(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "head_and_shoulders", settings)


def inverse_head_and_shoulders(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "inverse_head_and_shoulders", settings)


def bull_flag(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "bull_flag", settings)


def bear_flag(candles: pd.DataFrame, settings: RuleSettings | None = None) -> pd.DataFrame:
    return detect(candles, "bear_flag", settings)


OVERLAP_PRIORITY: dict[str, int] = {
    "head_and_shoulders": 0,
    "inverse_head_and_shoulders": 0,
    "double_top": 1,
    "double_bottom": 1,
    "bull_flag": 2,
    "bear_flag": 2,
}
"""`resolve_overlaps`' order: the more specific shape first (lower rank), then the earlier span."""


def resolve_overlaps(spans: pd.DataFrame, priority: dict[str, int] | None = None) -> pd.DataFrame:
    """Keep spans by `priority` rank (default `OVERLAP_PRIORITY`), then earliest first.

    A span overlapping one already kept is dropped.
    """
    rank = OVERLAP_PRIORITY if priority is None else priority
    rows = zip(
        spans["start"].astype(int).tolist(),
        spans["end"].astype(int).tolist(),
        spans["label"].astype(str).tolist(),
        strict=True,
    )
    ordered = sorted(rows, key=lambda row: (rank.get(row[2], len(rank)), row[0], row[1]))
    kept: list[tuple[int, int, str]] = []
    for start, end, label in ordered:
        if all(end < s or start > e for s, e, _ in kept):
            kept.append((start, end, label))
    return _frame(kept)


def detect_shapes(
    candles: pd.DataFrame, settings: RuleSettings | None = None, *, labels: tuple[str, ...] = SHAPE_LABELS
) -> pd.DataFrame:
    """Every shape in `labels` found in `candles`, overlaps resolved (`resolve_overlaps`).

    Returns
    -------
    spans : DataFrame with columns start, end (int64, inclusive candle positions), label
    """
    settings = settings or RuleSettings()
    found = [detect(candles, label, settings) for label in labels]
    rows = pd.concat(found, ignore_index=True) if found else _frame([])
    return resolve_overlaps(rows)
