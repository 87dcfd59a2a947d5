"""Combination and ranking: one score per stretch, the dominant component as its reason.

The ranking rule. Each stretch ``s`` gets the components of `components` (each in [0, 1]),
and

    score(s) = w_u * u(s) + w_d * d(s) + w_x * x(s) + w_v * v(s)

with the weights of ``ReviewSettings.weights`` (defaults 1.0 uncertainty, 1.0
disagreement, 0.5 conflict, 0.5 coverage). Its *reason* is the component with the largest
weighted term (ties: the order of `settings.COMPONENTS`). Stretches are ranked by score,
highest first (ties: earlier start); a stretch matching a better-ranked one (more than half
of the shorter shared) is dropped, so one place of the chart appears once. Reviewed
stretches whose model answer is unchanged are removed before that (`reviewed`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ml_platform.review.intervals import suppress_matching
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
