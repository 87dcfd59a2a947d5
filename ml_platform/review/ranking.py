"""Combination and ranking: one score per stretch, the dominant component as its reason.

The ranking rule. Each stretch ``s`` gets the components of `components` (each in [0, 1]),
and

    score(s) = w_u * u(s) + w_d * d(s) + w_x * x(s) + w_v * v(s)

with the weights of ``ReviewSettings.weights`` (defaults 1.0 uncertainty, 1.0
disagreement, 0.5 conflict, 0.5 coverage). Its *reason* is the component with the largest
weighted term (ties: the order of `settings.COMPONENTS`). Reviewed stretches whose model
answer is unchanged are removed first (`reviewed`).

Batch ranking (``ReviewSettings.batch``, the default; `rank_batch`): the queue is built
greedily, each next stretch the best-scoring one *as if the stretches ranked above it were
already reviewed*:

- coverage ``v(s)`` counts the stretches ranked above as annotated, so the next pick is
  not a neighbour of one just asked about (answers spread over the series);
- with ``ReviewSettings.balance`` (the default) the uncertainty is multiplied by the class
  balance ``b(s) = (1 + n_min) / (1 + n(l))`` (at most 1): ``l`` the model's pattern label
  at the stretch (its predicted span's, else its most confident candidate's), ``n(l)`` the
  human spans of that label plus the stretches of that label ranked above, ``n_min`` the
  count of the least-marked label before the batch. Uncertainty on labels people marked
  often counts less than on rare ones; a stretch answered ``O`` by the model with no
  candidate keeps ``b = 1``.

A stretch matching one ranked above (more than half of the shorter shared) is dropped, so
one place of the chart appears once; ties go to the earlier start. Scores only fall down
the queue, so queues of several series merge by score. With ``batch=False`` the scores are
static (coverage against the annotations only, no balance) and the stretches are sorted
by score (`rank`), the rule measured before 2026-11-29.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ml_platform.review.disagreements import NEGATIVE_LABEL
from ml_platform.review.intervals import match_matrix, suppress_matching
from ml_platform.review.settings import COMPONENTS


def combine(components: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The weighted sum of the components and the dominant one.

    Parameters
    ----------
    components : mapping of component name (`COMPONENTS`) to ndarray of shape (n,)
    weights : mapping of component name to weight; a missing name weighs 0

    Returns
    -------
    score : ndarray of shape (n,), float64
    reason : ndarray of shape (n,), object
        The name of the component with the largest weighted term.
    """
    if unknown := sorted(set(components) - set(COMPONENTS)):
        raise ValueError(f"unknown components {unknown}; use names from {COMPONENTS}")
    names = [c for c in COMPONENTS if c in components]
    if not names:
        raise ValueError(f"no components given; give some of {COMPONENTS}")
    terms = np.vstack([weights.get(c, 0.0) * np.asarray(components[c], dtype=np.float64) for c in names])
    reason = np.asarray(names, dtype=object)[np.argmax(terms, axis=0)]
    return terms.sum(axis=0), reason


def rank(start: np.ndarray, end: np.ndarray, score: np.ndarray, *, hidden: np.ndarray | None = None) -> np.ndarray:
    """Positions of the stretches in queue order (module docstring), hidden ones left out.

    Parameters
    ----------
    start, end, score : ndarray of shape (n,)
    hidden : ndarray of shape (n,), bool, optional

    Returns
    -------
    ndarray of int64 positions into the inputs, best first.
    """
    visible = np.flatnonzero(~hidden) if hidden is not None else np.arange(len(start))
    kept = suppress_matching(start[visible], end[visible], score[visible])
    return visible[kept]


def fewest(label: np.ndarray, counts: Mapping[str, int]) -> int:
    """The smallest count in `counts` among its labels and the pattern labels of `label` (0 for one not counted)."""
    known = {str(k) for k in counts} | {str(v) for v in label if v is not None and v != NEGATIVE_LABEL}
    return min((counts.get(k, 0) for k in known), default=0)


def balance_factor(label: np.ndarray, counts: Mapping[str, int], least: int) -> np.ndarray:
    """``(1 + least) / (1 + n(label))`` per stretch, at most 1; 1 where the label is ``O`` or None.

    ``n(label)`` is the count of that pattern label in `counts`, `least` the count of the
    least marked label (`fewest`, taken before the batch so the factor only falls).
    """
    n = np.asarray([counts.get(str(v), 0) if v is not None and v != NEGATIVE_LABEL else least for v in label])
    return np.minimum((1.0 + least) / (1.0 + n), 1.0)


def rank_batch(
    start: np.ndarray,
    end: np.ndarray,
    terms: Mapping[str, np.ndarray],
    distance: np.ndarray,
    *,
    weights: Mapping[str, float],
    scale: float,
    label: np.ndarray | None = None,
    counts: Mapping[str, int] | None = None,
    hidden: np.ndarray | None = None,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy batch ranking: each stretch is scored as if those ranked above it were reviewed.

    Each next stretch maximises ``w_u * b * u + w_d * d + w_x * x + w_v * v`` where

    - ``v = 1 - exp(-dist / scale)``, ``dist`` the candles to the nearest annotation
      (`distance`) or stretch already ranked;
    - ``b`` the class balance (`balance_factor`) of the stretch's pattern `label`, from the
      human spans per label (`counts`) plus one for each stretch of that label already
      ranked (1 everywhere when `label` is None).

    Stretches matching a ranked one are dropped; ties go to the earlier start.

    Parameters
    ----------
    start, end, distance : ndarray of shape (n,)
        ``distance`` to the annotations (``inf`` when there are none).
    terms : mapping with ``uncertainty``, ``disagreement``, ``conflict`` ndarrays of shape (n,)
    weights : mapping of component name to weight (a missing one weighs 0)
    scale : float
        `ReviewSettings.coverage_scale`.
    label : ndarray of shape (n,), object, optional
    counts : mapping of label to int, optional
    hidden : ndarray of shape (n,), bool, optional
    limit : int, optional
        Stop after this many.

    Returns
    -------
    order : ndarray of int64 positions into the inputs, best first
    uncertainty, coverage : ndarray of shape (n,), float64
        Each ranked stretch's ``b * u`` and ``v`` when it was ranked (the rest: their values before any).
    """
    n = len(start)
    w = {c: float(weights.get(c, 0.0)) for c in COMPONENTS}
    fixed = w["disagreement"] * np.asarray(terms["disagreement"]) + w["conflict"] * np.asarray(terms["conflict"])
    raw_u = np.asarray(terms["uncertainty"], dtype=np.float64)
    d = np.asarray(distance, dtype=np.float64).copy()
    alive = np.ones(n, dtype=bool) if hidden is None else ~np.asarray(hidden, dtype=bool)
    tally = dict(counts or {})
    labels = label if label is not None else np.full(n, None, dtype=object)
    least = fewest(labels, tally)

    def current() -> tuple[np.ndarray, np.ndarray]:
        v = np.where(np.isinf(d), 1.0, 1.0 - np.exp(-np.where(np.isinf(d), 0.0, d) / scale))
        u = raw_u * balance_factor(labels, tally, least) if label is not None else raw_u
        return u, v

    uncertainty, coverage = current()
    order: list[int] = []
    while alive.any() and (limit is None or len(order) < limit):
        u, v = current()
        total = np.where(alive, w["uncertainty"] * u + fixed + w["coverage"] * v, -np.inf)
        best = np.flatnonzero(total == total.max())
        i = int(best[np.argmin(start[best])])
        order.append(i)
        uncertainty[i], coverage[i] = u[i], v[i]
        alive[i] = False
        alive &= ~match_matrix(start, end, start[i : i + 1], end[i : i + 1])[:, 0]
        d = np.minimum(d, np.maximum(np.maximum(start[i] - end, start - end[i]) - 1, 0))
        if labels[i] is not None and labels[i] != NEGATIVE_LABEL:
            tally[str(labels[i])] = tally.get(str(labels[i]), 0) + 1
    return np.asarray(order, dtype=np.int64), uncertainty, coverage
