"""Stretch proposal: the stretches of candles the queue considers, and where each comes from.

Sources (`SOURCES`), in the order a stretch proposed twice keeps its first source:

- ``predicted``: every span the model predicts;
- ``human``: every human span (negatives included), so misses and mismatches are reviewable;
- ``conflict``: every programmatic-vs-human conflict interval;
- ``uncertain``: candidate spans at least ``settings.min_uncertainty`` uncertain, most
  uncertain first, matching ones suppressed, at most ``settings.max_uncertain``;
- ``coverage``: the series tiled with ``settings.coverage_length``-candle stretches, kept
  when at least ``settings.coverage_min_gap`` candles from every annotated interval.

Proposal only decides *where*; `ranking` decides *which first*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml_platform.review.disagreements import SpanArrays
from ml_platform.review.intervals import as_positions, distance_to, suppress_matching
from ml_platform.review.settings import ReviewSettings

SOURCES: tuple[str, ...] = ("predicted", "human", "conflict", "uncertain", "coverage")


@dataclass(frozen=True)
class Stretches:
    """Candidate stretches for review.

    start, end : ndarray of shape (n,), int64 (inclusive candle positions)
    source : ndarray of shape (n,), object (one of `SOURCES`)
    """

    start: np.ndarray
    end: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, selector: np.ndarray) -> Stretches:
        return Stretches(self.start[selector], self.end[selector], self.source[selector])


def uncertain_stretches(
    candidate_start: np.ndarray,
    candidate_end: np.ndarray,
    uncertainty: np.ndarray,
    *,
    min_uncertainty: float = 0.5,
    limit: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """The most uncertain candidates, matching ones suppressed.

    Parameters
    ----------
    candidate_start, candidate_end, uncertainty : ndarray of shape (n_candidates,)
    min_uncertainty : float, default=0.5
    limit : int, default=200

    Returns
    -------
    start, end : ndarray of shape (<= limit,), int64
    """
    keep = np.flatnonzero(uncertainty >= min_uncertainty)
    if len(keep) == 0 or limit == 0:
        return as_positions([]), as_positions([])
    keep = keep[np.argsort(-uncertainty[keep], kind="stable")[: 20 * limit]]  # bound the suppression's work
    chosen = keep[suppress_matching(candidate_start[keep], candidate_end[keep], uncertainty[keep])][:limit]
    return candidate_start[chosen], candidate_end[chosen]


def coverage_stretches(
    n_candles: int,
    annotated_start: np.ndarray,
    annotated_end: np.ndarray,
    *,
    length: int = 120,
    min_gap: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """The series tiled with `length`-candle stretches, those at least `min_gap` candles from any annotation.

    Parameters
    ----------
    n_candles : int
    annotated_start, annotated_end : ndarray of shape (n_annotated,)
    length : int, default=120
        The last tile is shorter when `n_candles` is not a multiple.
    min_gap : int, default=60

    Returns
    -------
    start, end : ndarray of shape (n_tiles_kept,), int64
    """
    if n_candles <= 0:
        return as_positions([]), as_positions([])
    start = np.arange(0, n_candles, length, dtype=np.int64)
    end = np.minimum(start + length - 1, n_candles - 1)
    far = distance_to(start, end, annotated_start, annotated_end) >= min_gap
    return start[far], end[far]


def propose_stretches(
    n_candles: int,
    *,
    predicted: SpanArrays,
    human: SpanArrays,
    conflicts: tuple[np.ndarray, np.ndarray],
    candidate_start: np.ndarray,
    candidate_end: np.ndarray,
    uncertainty: np.ndarray,
    annotated: tuple[np.ndarray, np.ndarray],
    settings: ReviewSettings,
) -> Stretches:
    """Every source's stretches (module docstring), exact duplicates removed (first source kept).

    Parameters
    ----------
    n_candles : int
    predicted, human : SpanArrays
    conflicts : (start, end) arrays of the conflict intervals
    candidate_start, candidate_end, uncertainty : ndarray of shape (n_candidates,)
    annotated : (start, end) arrays of the annotated intervals (human spans and reviewed stretches)
    settings : ReviewSettings

    Returns
    -------
    Stretches, clipped to ``0..n_candles - 1``.
    """
    unc = uncertain_stretches(
        candidate_start,
        candidate_end,
        uncertainty,
        min_uncertainty=settings.min_uncertainty,
        limit=settings.max_uncertain,
    )
    cov = coverage_stretches(n_candles, *annotated, length=settings.coverage_length, min_gap=settings.coverage_min_gap)
    parts = [
        (predicted.start, predicted.end, "predicted"),
        (human.start, human.end, "human"),
        (conflicts[0], conflicts[1], "conflict"),
        (unc[0], unc[1], "uncertain"),
        (cov[0], cov[1], "coverage"),
    ]
    start = np.concatenate([as_positions(s) for s, _, _ in parts])
    end = np.concatenate([as_positions(e) for _, e, _ in parts])
    source = np.concatenate([np.full(len(s), name, dtype=object) for s, _, name in parts])
    start, end = np.clip(start, 0, max(n_candles - 1, 0)), np.clip(end, 0, max(n_candles - 1, 0))
    valid = start <= end
    start, end, source = start[valid], end[valid], source[valid]
    _, first = np.unique(np.column_stack([start, end]), axis=0, return_index=True) if len(start) else (None, [])
    first = np.sort(np.asarray(first, dtype=np.int64))
    return Stretches(start[first], end[first], source[first])
