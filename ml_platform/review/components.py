"""The scoring components: pure functions on arrays, each in [0, 1], higher = review sooner.

A stretch is ``start..end`` (inclusive candle positions). For a stretch ``s``:

- **uncertainty** ``u(s) = agg_{c matches s} h(p_c)``: the candidates ``c`` matching the
  stretch (more than half of the shorter shared), ``agg`` max (default) or mean, ``h``
  either the normalised entropy ``-sum_k p_k log p_k / log K`` (`entropy`) or one minus
  the margin of the two most probable classes ``1 - (p_(1) - p_(2))`` (`margin`); 0 when
  no candidate matches.
- **disagreement** ``d(s) = max_{g matches s} w_kind(g)``: the disagreements ``g`` (the
  chart's kinds, `disagreements.find_disagreements`) matching the stretch, each worth its
  kind's weight (clipped to [0, 1]); 0 when none.
- **conflict** ``x(s) = 1 - 2^-n``: ``n`` programmatic-vs-human conflicts sharing a candle
  with the stretch (one: 0.5, two: 0.75, ...).
- **coverage** ``v(s) = 1 - exp(-d / scale)``: ``d`` the candles between the stretch and the
  nearest annotated candle (human span of any label, or reviewed stretch); 1 when nothing
  is annotated.

These are the values before ranking. The batch ranking (`ranking.rank_batch`, the default)
then lowers two of them as it goes: coverage also counts the stretches ranked above as
annotated, and uncertainty is multiplied by the class balance of the model's label there;
a queue item reports the values it was ranked with.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ml_platform.review.intervals import aggregate_matching, distance_to, shared_candles

TINY = 1e-12


def _check_proba(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"class probabilities have shape {proba.shape}; give (n_candidates, n_classes)")
    return proba


def entropy(proba: np.ndarray) -> np.ndarray:
    """Normalised entropy of each row of class probabilities.

    Parameters
    ----------
    proba : ndarray of shape (n, k)
        Rows sum to 1 (they are renormalised).

    Returns
    -------
    ndarray of shape (n,) in [0, 1]: 0 for a one-hot row, 1 for a uniform one (0 when k = 1).
    """
    proba = _check_proba(proba)
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    p = proba / np.maximum(proba.sum(axis=1, keepdims=True), TINY)
    h = -(p * np.log(np.maximum(p, TINY))).sum(axis=1)
    return np.clip(h / np.log(proba.shape[1]), 0.0, 1.0)


def margin(proba: np.ndarray) -> np.ndarray:
    """One minus the margin between the two most probable classes of each row.

    Parameters
    ----------
    proba : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n,) in [0, 1]: 0 when one class has all the mass, 1 on a tie.
    """
    proba = _check_proba(proba)
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    top2 = -np.sort(-proba, axis=1)[:, :2]
    return np.clip(1.0 - (top2[:, 0] - top2[:, 1]), 0.0, 1.0)


def uncertainty_component(
    start: np.ndarray,
    end: np.ndarray,
    candidate_start: np.ndarray,
    candidate_end: np.ndarray,
    candidate_uncertainty: np.ndarray,
    *,
    how: str = "max",
) -> np.ndarray:
    """``u(s)``: the candidates' uncertainty aggregated over each stretch (module docstring).

    Parameters
    ----------
    start, end : ndarray of shape (n_stretches,)
    candidate_start, candidate_end, candidate_uncertainty : ndarray of shape (n_candidates,)
    how : {"max", "mean"}, default="max"

    Returns
    -------
    ndarray of shape (n_stretches,) in [0, 1].
    """
    return aggregate_matching(start, end, candidate_start, candidate_end, candidate_uncertainty, how=how)


def disagreement_component(
    start: np.ndarray,
    end: np.ndarray,
    disagreement_start: np.ndarray,
    disagreement_end: np.ndarray,
    kind: np.ndarray,
    kind_weights: Mapping[str, float],
) -> np.ndarray:
    """``d(s)``: the weightiest disagreement matching each stretch (module docstring).

    Parameters
    ----------
    start, end : ndarray of shape (n_stretches,)
    disagreement_start, disagreement_end, kind : ndarray of shape (n_disagreements,)
    kind_weights : mapping of kind to weight; a missing kind weighs 0

    Returns
    -------
    ndarray of shape (n_stretches,) in [0, 1].
    """
    worth = np.clip(np.asarray([kind_weights.get(str(k), 0.0) for k in kind], dtype=np.float64), 0.0, 1.0)
    return aggregate_matching(start, end, disagreement_start, disagreement_end, worth, how="max")


def conflict_component(
    start: np.ndarray, end: np.ndarray, conflict_start: np.ndarray, conflict_end: np.ndarray
) -> np.ndarray:
    """``x(s) = 1 - 2^-n``, n the conflicts sharing a candle with each stretch.

    Returns
    -------
    ndarray of shape (n_stretches,) in [0, 1).
    """
    if len(conflict_start) == 0:
        return np.zeros(len(start))
    n = (shared_candles(start, end, conflict_start, conflict_end) > 0).sum(axis=1)
    return 1.0 - np.power(0.5, n)


def coverage_component(
    start: np.ndarray,
    end: np.ndarray,
    annotated_start: np.ndarray,
    annotated_end: np.ndarray,
    *,
    scale: float = 200.0,
) -> np.ndarray:
    """``v(s) = 1 - exp(-d / scale)``, d the candles to the nearest annotated interval.

    Parameters
    ----------
    start, end : ndarray of shape (n_stretches,)
    annotated_start, annotated_end : ndarray of shape (n_annotated,)
    scale : float, default=200.0

    Returns
    -------
    ndarray of shape (n_stretches,) in [0, 1]; all 1 when nothing is annotated.
    """
    if scale <= 0:
        raise ValueError(f"scale={scale} must be > 0 (candles)")
    d = distance_to(start, end, annotated_start, annotated_end)
    return np.where(np.isinf(d), 1.0, 1.0 - np.exp(-np.where(np.isinf(d), 0.0, d) / scale))
