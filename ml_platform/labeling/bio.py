"""BIO sequence labels: one tag per candle, ``B-{label}`` on a span's first candle, ``I-{label}``
on the rest, ``O`` elsewhere.

Overlapping spans cannot share one tag column, so each span is put on a *track*: track 0
is the ``tag`` column, track 1 ``tag_2``, and so on. Spans are taken in a fixed order
(start, then end, then label, then id) and each goes to the lowest track whose last span
ended before it starts (greedy interval partitioning: as few tracks as the deepest
overlap needs). Adjacent spans with the same label stay two spans (``B I I B I``), never
one long span.

Cost: numpy over candles (a difference array and a cumulative sum per track); the only
Python loop runs over the spans that overlap another span, never over candles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml_platform.labeling.spans import NEGATIVE_LABEL, Spans

OUTSIDE_TAG = "O"


def assign_tracks(spans: Spans) -> np.ndarray:
    """The track of each span (0-based, in the input order); spans on one track never share a candle."""
    m = len(spans)
    tracks = np.zeros(m, dtype=np.int64)
    if m < 2:
        return tracks
    order = spans.order()
    start, end = spans.start[order], spans.end[order]
    reach = np.maximum.accumulate(end)
    new_cluster = np.ones(m, dtype=bool)
    new_cluster[1:] = start[1:] > reach[:-1]  # no earlier span reaches this one
    cluster = np.cumsum(new_cluster) - 1
    crowded = np.flatnonzero(np.bincount(cluster)[cluster] > 1)
    sorted_tracks = np.zeros(m, dtype=np.int64)
    assigned: list[int] = []
    track_ends: list[int] = []
    current = -1
    for span_start, span_end, span_cluster in zip(
        start[crowded].tolist(), end[crowded].tolist(), cluster[crowded].tolist(), strict=True
    ):
        if span_cluster != current:  # every track is free again at a new cluster
            track_ends, current = [], span_cluster
        for track, last_end in enumerate(track_ends):
            if last_end < span_start:
                track_ends[track] = span_end
                assigned.append(track)
                break
        else:
            assigned.append(len(track_ends))
            track_ends.append(span_end)
    sorted_tracks[crowded] = assigned
    tracks[order] = sorted_tracks
    return tracks


@dataclass(frozen=True)
class BioCodes:
    """Integer BIO tags for one series.

    codes : ndarray of shape (n_tracks, n_candles), int32
        0 is ``O``; ``2k + 1`` is ``B-labels[k]``, ``2k + 2`` is ``I-labels[k]``. Always at
        least one track.
    labels : tuple of str
        The label vocabulary.
    """

    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_tracks(self) -> int:
        return self.codes.shape[0]

    def vocabulary(self) -> np.ndarray:
        """Tag strings by code: ``O``, ``B-labels[0]``, ``I-labels[0]``, ..."""
        names = [OUTSIDE_TAG] + [f"{prefix}-{label}" for label in self.labels for prefix in ("B", "I")]
        return np.array(names, dtype=object)

    def tags(self, track: int = 0) -> np.ndarray:
        """One track's tags as strings, ndarray of shape (n_candles,), object."""
        return self.vocabulary()[self.codes[track]]

    def entities(self, track: int = 0) -> np.ndarray:
        """One track's label per candle without the B-/I- prefix (``O`` outside spans)."""
        names = np.array([OUTSIDE_TAG, *self.labels], dtype=object)
        return names[(self.codes[track] + 1) // 2]


def tag_columns(base: str, n_tracks: int) -> list[str]:
    """``tag``, ``tag_2``, ``tag_3`` ... (or with another base, e.g. ``tag_human_2``)."""
    return [base if track == 0 else f"{base}_{track + 1}" for track in range(n_tracks)]


def training_tags(tracks: Sequence[Sequence[str] | np.ndarray]) -> np.ndarray:
    """One tag per candle from every track: the first track's, else the next track's non-``O`` tag.

    tracks : sequence of tag arrays of shape (n_candles,)
        ``tag``, ``tag_2``, ... in track order.

    Overlapping spans go to further tracks *whole*. Two engulfings in a row share a candle,
    so the second lands on ``tag_2`` and its own candles read ``O`` on ``tag``: a model
    trained on ``tag`` alone learns that a marked pattern is no pattern (on EURUSD hours
    34 % of the engulfing candles). Filling ``O`` from the next tracks keeps every marked
    candle; where spans really overlap, the first track still wins. An ``I-`` without its
    ``B-`` (the second span's tail) starts a span when read back (`bio_spans`).
    """
    if not len(tracks):
        raise ValueError("training_tags: no tag track given")
    merged = np.asarray(tracks[0], dtype=object).astype(str).copy()
    for track in tracks[1:]:
        other = np.asarray(track, dtype=object).astype(str)
        fill = (merged == OUTSIDE_TAG) & (other != OUTSIDE_TAG)
        merged[fill] = other[fill]
    return merged


def encode_bio(spans: Spans, n_candles: int, labels: Sequence[str] | None = None) -> BioCodes:
    """BIO codes for spans over a series of `n_candles` candles.

    Parameters
    ----------
    spans : Spans
        Positive spans (no ``O`` label) with indices in ``[0, n_candles)``.
    n_candles : int
    labels : sequence of str, optional
        The vocabulary, in code order; default: the spans' labels, sorted.

    Returns
    -------
    BioCodes
    """
    if np.any(spans.label == NEGATIVE_LABEL):
        raise ValueError("encode_bio takes positive spans only: negative ('O') spans are not tags")
    if len(spans) and (spans.start.min() < 0 or spans.end.max() >= n_candles or np.any(spans.start > spans.end)):
        raise ValueError(f"span indices must satisfy 0 <= start <= end < n_candles={n_candles}")
    vocabulary = tuple(labels) if labels is not None else tuple(sorted(set(spans.label.tolist())))
    if not len(spans):
        return BioCodes(np.zeros((1, n_candles), dtype=np.int32), vocabulary)
    position = {label: index for index, label in enumerate(vocabulary)}
    try:
        label_index = np.array([position[label] for label in spans.label.tolist()], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"span label {exc.args[0]!r} is not in the vocabulary {vocabulary}") from None
    tracks = assign_tracks(spans)
    n_tracks = int(tracks.max()) + 1
    begin_code, inside_code = 2 * label_index + 1, 2 * label_index + 2
    diff = np.zeros((n_tracks, n_candles + 1), dtype=np.int32)
    np.add.at(diff, (tracks, spans.start), inside_code.astype(np.int32))
    np.add.at(diff, (tracks, spans.end + 1), -inside_code.astype(np.int32))
    codes = np.cumsum(diff[:, :-1], axis=1, dtype=np.int32)
    codes[tracks, spans.start] = begin_code
    return BioCodes(codes, vocabulary)
