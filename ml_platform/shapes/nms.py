"""Non-maximum suppression of scored spans: the most confident span wins its neighbourhood.

Candidates overlap heavily (runs of pivots at several scales share edges), so a pattern is
found many times over. `non_max_suppression` keeps the most confident span, drops every
other span that overlaps it with IoU above the threshold (whatever its label: one stretch
of candles holds one pattern), and repeats, greedily by confidence. `select_spans` applies
the detector's threshold first, then NMS: what `SpanDetector.predict` returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_platform.shapes.quality import rank_scores


def span_iou(start: np.ndarray, end: np.ndarray, s: int, e: int) -> np.ndarray:
    """IoU in candles of the spans ``start..end`` (inclusive, arrays) with the span ``s..e``, shape like `start`."""
    inter = np.minimum(end, e) - np.maximum(start, s) + 1
    union = np.maximum(end, e) - np.minimum(start, s) + 1
    return np.where(inter > 0, inter / union, 0.0)


def non_max_suppression(
    start: np.ndarray, end: np.ndarray, confidence: np.ndarray, *, iou_threshold: float = 0.1
) -> np.ndarray:
    """Indices of the spans greedy NMS keeps, most confident first.

    Parameters
    ----------
    start, end : int arrays of shape (n_spans,)
        Inclusive candle positions.
    confidence : float array of shape (n_spans,)
        Higher wins; ties go to the earlier span in the input.
    iou_threshold : float, default=0.1
        A span is dropped when its IoU with a kept, more confident span is above this
        (0 drops any overlap; 1 keeps every span).

    Returns
    -------
    keep : int array of shape (n_kept,)
        Positions into the inputs, in order of decreasing confidence.
    """
    start, end = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    confidence = np.asarray(confidence, dtype=np.float64)
    if not (len(start) == len(end) == len(confidence)):
        raise ValueError(
            f"non_max_suppression: start, end and confidence have lengths {len(start)}, {len(end)}, "
            f"{len(confidence)}; give one value per span"
        )
    if len(start) == 0:
        return np.zeros(0, dtype=np.int64)
    # spans sorted by start, so that the ones overlapping a kept span are a contiguous window
    by_start = np.argsort(start, kind="stable")
    sorted_start, sorted_end = start[by_start], end[by_start]
    longest = int((end - start).max()) + 1
    rank = np.empty(len(start), dtype=np.int64)
    rank[by_start] = np.arange(len(start))
    suppressed = np.zeros(len(start), dtype=bool)  # by sorted position
    keep: list[int] = []
    for i in np.argsort(-confidence, kind="stable").tolist():
        if suppressed[rank[i]]:
            continue
        keep.append(i)
        s, e = int(start[i]), int(end[i])
        lo = int(np.searchsorted(sorted_start, s - longest, side="left"))
        hi = int(np.searchsorted(sorted_start, e, side="right"))
        overlap = span_iou(sorted_start[lo:hi], sorted_end[lo:hi], s, e) > iou_threshold
        suppressed[lo:hi] |= overlap
    return np.asarray(keep, dtype=np.int64)


def select_spans(scored: pd.DataFrame, threshold: float, nms_iou: float) -> pd.DataFrame:
    """The rows of `scored` (`SpanDetector.score`) at or above `threshold` that survive NMS, most confident first.

    NMS ranks by `ml_platform.shapes.quality.rank_scores`: the probability, times the predicted
    IoU when `scored` has an ``iou`` column.
    """
    chosen = scored.loc[scored["confidence"].to_numpy() >= threshold].reset_index(drop=True)
    rank = rank_scores(chosen["confidence"].to_numpy(), chosen["iou"].to_numpy() if "iou" in chosen else None)
    keep = non_max_suppression(chosen["start"].to_numpy(), chosen["end"].to_numpy(), rank, iou_threshold=nms_iou)
    return chosen.loc[keep]
