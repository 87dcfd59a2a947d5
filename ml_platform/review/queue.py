"""`build_review_queue`: rank the stretches of one series by how much a label there is expected to teach.

The steps, each in its own module:

1. what the model says (`model_view.ModelView`: candidates with class probabilities, and
   predicted spans), what people said (human spans, negatives included) and, optionally,
   the programmatic (CDL) spans;
2. the disagreements the chart draws and the CDL-vs-human conflicts (`disagreements`);
3. the stretches to consider (`stretches.propose_stretches`);
4. their components (`components`): uncertainty, disagreement, conflict, coverage;
5. the score, the reason, the ranking (`ranking`, whose docstring states the rule: by
   default a greedy batch that spreads the items over the series and balances the labels
   asked about), with reviewed stretches left out while the model's answer there is
   unchanged (`reviewed`).

It is a pure function of its inputs: the Dagster asset, the service endpoint and the web
panel wrap it (load the series, the model's view, the annotations and the reviewed
records; encode the `ReviewQueue`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ml_platform.review.components import (
    conflict_component,
    coverage_component,
    disagreement_component,
    entropy,
    margin,
    uncertainty_component,
)
from ml_platform.review.disagreements import (
    KINDS,
    NEGATIVE_LABEL,
    Disagreements,
    SpanArrays,
    find_conflicts,
    find_disagreements,
)
from ml_platform.review.intervals import CHUNK, aggregate_matching, distance_to, match_matrix
from ml_platform.review.model_view import ModelView
from ml_platform.review.ranking import combine, rank, rank_batch
from ml_platform.review.results import ReviewItem, ReviewQueue
from ml_platform.review.reviewed import ReviewedStretch, fingerprint, model_answers, positions_of, reviewed_status
from ml_platform.review.settings import ReviewSettings
from ml_platform.review.stretches import propose_stretches


def _weightiest_kind(
    start: np.ndarray, end: np.ndarray, found: Disagreements, kind_weights: dict[str, float]
) -> np.ndarray:
    """Per stretch, the disagreement kind with the largest weight among those matching it (None when none)."""
    out = np.full(len(start), None, dtype=object)
    best = np.full(len(start), -1.0)
    for kind in KINDS:
        rows = np.flatnonzero(found.kind == kind)
        if len(rows) == 0:
            continue
        hit = aggregate_matching(start, end, found.start[rows], found.end[rows], np.ones(len(rows)))
        better = (hit > 0) & (kind_weights.get(kind, 0.0) > best)
        out[better] = kind
        best[better] = kind_weights.get(kind, 0.0)
    return out


def _pattern_labels(start: np.ndarray, end: np.ndarray, view: ModelView) -> np.ndarray:
    """Per stretch, the model's pattern label: its predicted span's, else its best candidate's (None: no candidate)."""
    label, _, chosen = model_answers(start, end, view)
    out = np.full(len(start), None, dtype=object)
    out[chosen >= 0] = label[chosen >= 0]
    if len(view.candidate_start) == 0:
        return out
    for a in range(0, len(start), CHUNK):  # bounds memory on long series
        sl = slice(a, a + CHUNK)
        matched = match_matrix(start[sl], end[sl], view.candidate_start, view.candidate_end)
        j = np.argmax(np.where(matched, view.candidate_confidence[None, :], -np.inf), axis=1)
        fill = (chosen[sl] < 0) & matched.any(axis=1)
        out[sl][fill] = view.candidate_label[j[fill]]
    return out


def _label_counts(humans: SpanArrays) -> dict[str, int]:
    """Human pattern spans per label (negatives left out)."""
    labels, counts = np.unique(humans.label[humans.label != NEGATIVE_LABEL].astype(str), return_counts=True)
    return {str(a): int(b) for a, b in zip(labels, counts, strict=True)}


def build_review_queue(
    times: np.ndarray,
    view: ModelView,
    human: pd.DataFrame | None,
    *,
    programmatic: pd.DataFrame | None = None,
    programmatic_labels: Iterable[str] | None = None,
    reviewed: Sequence[ReviewedStretch] = (),
    settings: ReviewSettings | None = None,
    limit: int | None = 50,
) -> ReviewQueue:
    """The ranked review queue of one series.

    Parameters
    ----------
    times : ndarray of shape (n_candles,)
        Epoch seconds of the series' candles, ascending.
    view : ModelView
        The model's answer over the series (`model_view`).
    human : DataFrame or None
        Human spans: int ``start``, ``end`` (inclusive positions), str ``label`` (``O`` for a
        negative annotation).
    programmatic : DataFrame, optional
        Programmatic (CDL) spans, same columns.
    programmatic_labels : iterable of str, optional
        Every label the programmatic source can give (default: those in `programmatic`).
    reviewed : sequence of ReviewedStretch, default=()
        Records of reviewed stretches (`reviewed.mark_reviewed`).
    settings : ReviewSettings, default=ReviewSettings()
    limit : int or None, default=50
        Items returned (None: all).

    Returns
    -------
    ReviewQueue
    """
    settings = settings or ReviewSettings()
    times = np.asarray(times, dtype=np.int64)
    n = len(times)
    if n and np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly ascending epoch seconds, one per candle of the series")
    if limit is not None and limit < 0:
        raise ValueError(f"limit={limit} must be >= 0 (or None for every item)")
    humans = SpanArrays.from_frame(human, where="human spans", n_candles=n)
    cdl = SpanArrays.from_frame(programmatic, where="programmatic spans", n_candles=n)
    uncertainty = entropy(view.proba) if settings.uncertainty == "entropy" else margin(view.proba)
    found = find_disagreements(humans, view.predicted, predicted_range=view.predicted_range)
    conflicts = find_conflicts(humans, cdl, programmatic_labels=programmatic_labels)
    r_start, r_end = positions_of(reviewed, times)
    inside = r_start <= r_end
    annotated = (np.concatenate([humans.start, r_start[inside]]), np.concatenate([humans.end, r_end[inside]]))

    stretches = propose_stretches(
        n,
        predicted=view.predicted,
        human=humans,
        conflicts=conflicts,
        candidate_start=view.candidate_start,
        candidate_end=view.candidate_end,
        uncertainty=uncertainty,
        annotated=annotated,
        settings=settings,
    )
    s, e = stretches.start, stretches.end
    components = {
        "uncertainty": uncertainty_component(
            s, e, view.candidate_start, view.candidate_end, uncertainty, how=settings.aggregate
        ),
        "disagreement": disagreement_component(s, e, found.start, found.end, found.kind, settings.kind_weights),
        "conflict": conflict_component(s, e, *conflicts),
        "coverage": coverage_component(s, e, *annotated, scale=settings.coverage_scale),
    }
    hidden, reentered = reviewed_status(s, e, reviewed, times=times, view=view, step=settings.fingerprint_step)
    if settings.batch:
        order, components["uncertainty"], components["coverage"] = rank_batch(
            s,
            e,
            components,
            distance_to(s, e, *annotated),
            weights=settings.weights,
            scale=settings.coverage_scale,
            label=_pattern_labels(s, e, view) if settings.balance else None,
            counts=_label_counts(humans),
            hidden=hidden,
            limit=limit,
        )
        score, reason = combine(components, settings.weights)
    else:
        score, reason = combine(components, settings.weights)
        order = rank(s, e, score, hidden=hidden)
    if limit is not None:
        order = order[:limit]
    label, confidence, chosen = model_answers(s[order], e[order], view)
    kind = _weightiest_kind(s[order], e[order], found, settings.kind_weights)
    items = []
    for k, i in enumerate(order.tolist()):
        j = int(chosen[k])
        items.append(
            ReviewItem(
                rank=k + 1,
                start=int(s[i]),
                end=int(e[i]),
                start_time=int(times[s[i]]),
                end_time=int(times[e[i]]),
                score=float(score[i]),
                components={name: float(values[i]) for name, values in components.items()},
                reason=str(reason[i]),
                source=str(stretches.source[i]),
                prediction=str(label[k]),
                confidence=float(confidence[k]),
                predicted_start=int(view.predicted.start[j]) if j >= 0 else None,
                predicted_end=int(view.predicted.end[j]) if j >= 0 else None,
                disagreement=kind[k],
                fingerprint=fingerprint(str(label[k]), float(confidence[k]), step=settings.fingerprint_step),
                reentered=bool(reentered[i]),
            )
        )
    return ReviewQueue(
        n_candles=n,
        weights=dict(settings.weights),
        considered=len(stretches),
        hidden=int(hidden.sum()),
        items=items,
    )
