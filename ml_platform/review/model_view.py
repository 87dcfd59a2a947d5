"""`ModelView`: what the queue needs from a model, whatever kind it is.

The queue reads a model through two things: *candidates* (spans the model gave class
probabilities to: a span detector's candidate spans, or single candles of a per-candle
model) and *predicted spans* (what the chart draws). The adapters build a view from:

- a span detector (`view_from_detector`: ``SpanDetector.score`` and ``.predict``), or from
  their frames (`view_from_scores`);
- the served per-candle model (`view_from_candle_predictions`: `CandlePredictions` of
  ``Predictor.predict_series``, spans grouped as the service groups them).

When only the most probable pattern's probability and ``O``'s are known (``score``'s
``confidence`` and ``outside`` columns), the row is ``[outside, confidence, rest]`` with the
other patterns' mass lumped in ``rest``: exact with one or two pattern classes, a lower
bound of the entropy otherwise. Columns ``p_<class>`` in the scores, when present, are used
as the full probabilities instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml_platform.inference.results import CandlePredictions
from ml_platform.inference.spans import group_spans
from ml_platform.review.disagreements import NEGATIVE_LABEL, SpanArrays
from ml_platform.review.intervals import as_positions


@dataclass(frozen=True)
class ModelView:
    """A model's answer over one series.

    candidate_start, candidate_end : ndarray of shape (n_candidates,), int64
    proba : ndarray of shape (n_candidates, n_classes), float64
        Class probabilities of each candidate (any class order; used for uncertainty).
    candidate_label : ndarray of shape (n_candidates,), object
        The candidate's most probable pattern label.
    candidate_confidence : ndarray of shape (n_candidates,), float64
        That pattern's probability.
    predicted : SpanArrays
        The spans the model predicts (with confidences).
    predicted_range : (int, int)
        First and last candle the model predicted over.
    """

    candidate_start: np.ndarray
    candidate_end: np.ndarray
    proba: np.ndarray
    candidate_label: np.ndarray
    candidate_confidence: np.ndarray
    predicted: SpanArrays
    predicted_range: tuple[int, int]


def _score_proba(scored: pd.DataFrame) -> np.ndarray:
    full = [c for c in scored.columns if str(c).startswith("p_")]
    if full:
        return scored[full].to_numpy(dtype=np.float64)
    outside = scored["outside"].to_numpy(dtype=np.float64)
    best = scored["confidence"].to_numpy(dtype=np.float64)
    rest = np.clip(1.0 - outside - best, 0.0, 1.0)
    return np.column_stack([outside, best, rest])


def view_from_scores(
    scored: pd.DataFrame,
    predicted: pd.DataFrame,
    *,
    n_candles: int,
    predicted_range: tuple[int, int] | None = None,
) -> ModelView:
    """A view from ``SpanDetector.score`` and ``.predict`` frames.

    Parameters
    ----------
    scored : DataFrame with int ``start``, ``end``, str ``label``, float ``confidence``, ``outside``
        (optionally ``p_<class>`` columns with every class's probability).
    predicted : DataFrame with int ``start``, ``end``, str ``label``, float ``confidence``
    n_candles : int
        Candles of the series both describe.
    predicted_range : (int, int), default=(0, n_candles - 1)
    """
    missing = [c for c in ("start", "end", "label", "confidence", "outside") if c not in scored.columns]
    if missing:
        raise ValueError(f"view_from_scores: scores lack columns {missing}; give SpanDetector.score's frame")
    return ModelView(
        candidate_start=as_positions(scored["start"]),
        candidate_end=as_positions(scored["end"]),
        proba=_score_proba(scored),
        candidate_label=np.asarray(scored["label"].astype(str), dtype=object),
        candidate_confidence=scored["confidence"].to_numpy(dtype=np.float64),
        predicted=SpanArrays.from_frame(predicted, where="predicted spans", n_candles=n_candles),
        predicted_range=predicted_range if predicted_range is not None else (0, n_candles - 1),
    )


def view_from_detector(detector: Any, candles: pd.DataFrame) -> ModelView:
    """A view of a fitted `ml_platform.shapes.detector.SpanDetector` over `candles` (score + predict)."""
    return view_from_scores(detector.score(candles), detector.predict(candles), n_candles=len(candles))


def view_from_candle_predictions(predictions: CandlePredictions) -> ModelView:
    """A view of the per-candle model's predictions: every labelled candle is a one-candle candidate.

    Its row is ``[confidence, 1 - confidence]`` (only the top class's probability is
    served); the pattern confidence of a candle predicted ``O`` is taken as ``1 - confidence``
    (an upper bound). Predicted spans are `ml_platform.inference.spans.group_spans`.
    """
    idx = as_positions(predictions.indices)
    conf = np.asarray(predictions.confidences, dtype=np.float64)
    labels = np.asarray(predictions.labels, dtype=object)
    spans = group_spans(predictions)
    predicted = SpanArrays(
        as_positions(spans.start_indices),
        as_positions(spans.end_indices),
        np.asarray(spans.labels, dtype=object),
        np.asarray(spans.avg_confidence, dtype=np.float64),
    )
    is_outside = labels == NEGATIVE_LABEL
    lo, hi = (int(idx[0]), int(idx[-1])) if len(idx) else (0, -1)
    return ModelView(
        candidate_start=idx,
        candidate_end=idx,
        proba=np.column_stack([conf, 1.0 - conf]),
        candidate_label=labels,
        candidate_confidence=np.where(is_outside, 1.0 - conf, conf),
        predicted=predicted,
        predicted_range=(lo, hi),
    )
