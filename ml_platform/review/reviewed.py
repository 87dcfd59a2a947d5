"""The "reviewed" bookkeeping: a reviewed stretch stays out of the queue until the model changes its answer there.

A `ReviewedStretch` stores the stretch (epoch-second times, so it survives the stored
series growing) and a *fingerprint* of the model's answer over it when it was reviewed:

- the model's answer over a stretch (`model_answers`) is the predicted span matching it
  (more than half of the shorter shared) with the highest confidence: its label and
  confidence; with none, ``O`` and the highest pattern probability of the candidates
  matching it (0 when none);
- the fingerprint is ``"{label}@{floor(confidence / step) * step:.2f}"`` (`fingerprint`),
  ``step`` = ``ReviewSettings.fingerprint_step`` (0.25: ``double_top@0.75``).

`reviewed_status`: a queue stretch matching a record is hidden while the record's
fingerprint, recomputed with the current model over the record's own stretch, is the
stored one; when it differs the stretch is back, flagged ``reentered``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np

from ml_platform.review.disagreements import NEGATIVE_LABEL
from ml_platform.review.intervals import aggregate_matching, as_positions, match_matrix
from ml_platform.review.model_view import ModelView


class ReviewedStretch(msgspec.Struct, frozen=True, kw_only=True):
    """One reviewed stretch.

    start_time, end_time : int
        Epoch seconds of its first and last candle.
    fingerprint : str
        The model's answer there when it was reviewed (`fingerprint`).
    reviewed_at : int or None, default=None
        Epoch seconds of the review, for the record.
    """

    start_time: int
    end_time: int
    fingerprint: str
    reviewed_at: int | None = None


def fingerprint(label: str, confidence: float, *, step: float = 0.25) -> str:
    """``"{label}@{confidence rounded down to a multiple of step:.2f}"``."""
    if not step > 0:
        raise ValueError(f"step={step} must be > 0; ReviewSettings.fingerprint_step is 0.25 by default")
    bucket = math.floor(min(max(confidence, 0.0), 1.0) / step + 1e-9) * step
    return f"{label}@{bucket:.2f}"


def model_answers(start: np.ndarray, end: np.ndarray, view: ModelView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's answer over each stretch (module docstring).

    Returns
    -------
    label : ndarray of shape (n,), object
    confidence : ndarray of shape (n,), float64
    predicted : ndarray of shape (n,), int64
        Index into ``view.predicted`` of the answering span, -1 when ``O``.
    """
    pred = view.predicted
    label = np.full(len(start), NEGATIVE_LABEL, dtype=object)
    confidence = aggregate_matching(
        start, end, view.candidate_start, view.candidate_end, view.candidate_confidence, how="max"
    )
    chosen = np.full(len(start), -1, dtype=np.int64)
    if len(pred) and len(start):
        matched = match_matrix(start, end, pred.start, pred.end)
        best = np.where(matched, pred.confidence[None, :], -np.inf)
        j = np.argmax(best, axis=1)
        has = matched.any(axis=1)
        chosen[has] = j[has]
        label[has] = pred.label[j[has]]
        confidence[has] = pred.confidence[j[has]]
    return label, confidence, chosen


def positions_of(records: Sequence[ReviewedStretch], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candle positions of the records in a series with these `times` (records outside it: start > end)."""
    t = np.asarray(times, dtype=np.int64)
    start = np.searchsorted(t, as_positions([r.start_time for r in records]), side="left")
    end = np.searchsorted(t, as_positions([r.end_time for r in records]), side="right") - 1
    return as_positions(start), as_positions(end)


def current_fingerprints(start: np.ndarray, end: np.ndarray, view: ModelView, *, step: float = 0.25) -> list[str]:
    """The fingerprint of the model's answer over each stretch."""
    label, confidence, _ = model_answers(start, end, view)
    return [fingerprint(str(a), float(c), step=step) for a, c in zip(label, confidence, strict=True)]


def mark_reviewed(
    start: int,
    end: int,
    *,
    times: np.ndarray,
    view: ModelView,
    step: float = 0.25,
    reviewed_at: int | None = None,
) -> ReviewedStretch:
    """The record of reviewing candles ``start..end`` under the model of `view`.

    Raises
    ------
    ValueError
        When ``start..end`` is not within the series of `times`.
    """
    if not 0 <= start <= end < len(times):
        raise ValueError(f"stretch {start}..{end} is not within 0..{len(times) - 1}; give positions into the series")
    (fp,) = current_fingerprints(as_positions([start]), as_positions([end]), view, step=step)
    return ReviewedStretch(
        start_time=int(times[start]), end_time=int(times[end]), fingerprint=fp, reviewed_at=reviewed_at
    )


def reviewed_status(
    start: np.ndarray,
    end: np.ndarray,
    records: Sequence[ReviewedStretch],
    *,
    times: np.ndarray,
    view: ModelView,
    step: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """Which stretches stay hidden, and which are back because the model's answer changed.

    Parameters
    ----------
    start, end : ndarray of shape (n,)
        The queue's stretches.
    records : sequence of ReviewedStretch
    times : ndarray of shape (n_candles,)
        Epoch seconds of the series' candles.
    view : ModelView
        The current model's answer.
    step : float, default=0.25

    Returns
    -------
    hidden, reentered : ndarray of shape (n,), bool
    """
    hidden = np.zeros(len(start), dtype=bool)
    reentered = np.zeros(len(start), dtype=bool)
    if not records or len(start) == 0:
        return hidden, reentered
    r_start, r_end = positions_of(records, times)
    inside = r_start <= r_end
    if not inside.any():
        return hidden, reentered
    kept = [r for r, ok in zip(records, inside, strict=True) if ok]
    r_start, r_end = r_start[inside], r_end[inside]
    now = current_fingerprints(r_start, r_end, view, step=step)
    same = np.asarray([a == r.fingerprint for a, r in zip(now, kept, strict=True)], dtype=bool)
    matched = match_matrix(start, end, r_start, r_end)
    hidden = (matched & same[None, :]).any(axis=1)
    reentered = ~hidden & (matched & ~same[None, :]).any(axis=1)
    return hidden, reentered
