"""Snap annotation times to candles: each span becomes a pair of candle indices.

A candle at time ``t`` covers ``[t, t + timeframe)``. A span's start or end that falls
inside a candle snaps to that candle. One that falls between candles (a gap in the data,
such as a weekend) snaps inwards: a start to the next candle, an end to the previous
one, so the span never takes in a candle it did not reach. A span that reaches past
either end of the series is clipped to it; a span that covers no candle at all (entirely
before, after, or between candles) is skipped as ``outside_candles``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml_platform.labeling.annotations import Annotation
from ml_platform.labeling.spans import Spans
from ml_platform.labeling.validation import OUTSIDE_CANDLES, SkippedAnnotation

_MILLISECONDS = 10**11  # epoch values this large are milliseconds (seconds would be the year 5138)


def snap_indices(
    start_times: np.ndarray, end_times: np.ndarray, candle_times: np.ndarray, timeframe_seconds: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candle indices of span starts and ends (see the module docstring for the rule).

    Parameters
    ----------
    start_times, end_times : ndarray of shape (n_spans,)
        Epoch seconds.
    candle_times : ndarray of shape (n_candles,)
        Strictly increasing epoch seconds (candle open times).
    timeframe_seconds : int

    Returns
    -------
    start, end : ndarray of shape (n_spans,), int64
        ``start > end`` marks a span that covers no candle.
    """
    times = np.asarray(candle_times, dtype=np.int64)
    starts = np.asarray(start_times, dtype=np.int64)
    ends = np.asarray(end_times, dtype=np.int64)
    n = len(times)
    if n == 0:
        return np.zeros(len(starts), np.int64), np.full(len(starts), -1, np.int64)
    covering = np.searchsorted(times, starts, side="right") - 1
    inside = (covering >= 0) & (starts < times[covering.clip(0)] + timeframe_seconds)
    start = np.where(inside, covering, covering + 1)
    end = np.searchsorted(times, ends, side="right") - 1
    return start.astype(np.int64), np.minimum(end, n - 1).astype(np.int64)


def snap_annotations(
    annotations: Sequence[Annotation], candle_times: np.ndarray, timeframe_seconds: int
) -> tuple[Spans, list[SkippedAnnotation]]:
    """Spans (candle indices) of valid annotations, and the ones that cover no candle.

    Returns
    -------
    spans : Spans
        In the input order.
    skipped : list of SkippedAnnotation
        Kind ``outside_candles``.
    """
    if not annotations:
        return Spans.empty(), []
    start, end = snap_indices(
        np.array([a.start_time for a in annotations]),
        np.array([a.end_time for a in annotations]),
        candle_times,
        timeframe_seconds,
    )
    n = len(candle_times)
    usable = (start <= end) & (start < n) & (end >= 0)
    skipped = []
    if not usable.all():
        first, last = (int(candle_times[0]), int(candle_times[-1])) if n else (None, None)
        for position in np.flatnonzero(~usable):
            annotation = annotations[int(position)]
            hint = (
                "; are the times epoch milliseconds? the export uses seconds"
                if (annotation.start_time >= _MILLISECONDS)
                else ""
            )
            skipped.append(
                SkippedAnnotation.of(
                    annotation,
                    [
                        (
                            OUTSIDE_CANDLES,
                            f"span {annotation.start_time}-{annotation.end_time} covers no candle "
                            f"(the candles run from {first} to {last}, every {timeframe_seconds} s{hint})",
                        )
                    ],
                )
            )
    kept = [annotation for annotation, ok in zip(annotations, usable, strict=True) if ok]
    spans = Spans.build(
        start[usable], end[usable], [a.label for a in kept], [a.source for a in kept], [a.id for a in kept]
    )
    return spans, skipped
