"""`Spans`: labelled candle ranges as parallel numpy arrays, the currency between labeling steps.

Every step (snapping, CDL, merge, BIO, windows) works on spans given as candle *indices*
(inclusive on both ends) into one series, never on per-candle Python objects, so the cost
grows with the number of spans, not the number of candles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NEGATIVE_LABEL = "O"
PROGRAMMATIC_SOURCE = "programmatic"


def _objects(values: Sequence[str] | np.ndarray) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values) if not isinstance(values, np.ndarray) else values
    return array


@dataclass(frozen=True)
class Spans:
    """Labelled spans of candles.

    start, end : ndarray of shape (n_spans,), int64
        First and last candle index of each span, inclusive.
    label : ndarray of shape (n_spans,), object
        ``bull_flag``, ``bullish_engulfing``, or ``O`` for an explicit "no pattern".
    source : ndarray of shape (n_spans,), object
        ``human``, ``human_correction``, ``model`` (annotation sources) or ``programmatic``.
    id : ndarray of shape (n_spans,), object
        The annotation id, or ``{CDL function}@{epoch seconds}`` for a programmatic span.
    """

    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    source: np.ndarray
    id: np.ndarray

    @classmethod
    def build(
        cls,
        start: Sequence[int] | np.ndarray,
        end: Sequence[int] | np.ndarray,
        label: Sequence[str] | np.ndarray,
        source: Sequence[str] | np.ndarray,
        id: Sequence[str] | np.ndarray,  # noqa: A002 - the export's field name
    ) -> Spans:
        spans = cls(
            start=np.asarray(start, dtype=np.int64).reshape(-1),
            end=np.asarray(end, dtype=np.int64).reshape(-1),
            label=_objects(label),
            source=_objects(source),
            id=_objects(id),
        )
        sizes = {len(spans.start), len(spans.end), len(spans.label), len(spans.source), len(spans.id)}
        if len(sizes) != 1:
            raise ValueError(f"Spans arrays differ in length: {sorted(sizes)}")
        return spans

    @classmethod
    def empty(cls) -> Spans:
        return cls.build([], [], [], [], [])

    def __len__(self) -> int:
        return len(self.start)

    @property
    def length(self) -> np.ndarray:
        """Candles per span."""
        return self.end - self.start + 1

    def take(self, selector: np.ndarray) -> Spans:
        """The spans picked by a boolean mask or an index array."""
        return Spans(
            self.start[selector], self.end[selector], self.label[selector], self.source[selector], self.id[selector]
        )

    def order(self) -> np.ndarray:
        """The deterministic order every step uses: by start, then end, then label, then id."""
        if not len(self):
            return np.zeros(0, dtype=np.int64)
        return np.lexsort((self.id.astype(str), self.label.astype(str), self.end, self.start))

    def sorted(self) -> Spans:
        return self.take(self.order())

    def __add__(self, other: Spans) -> Spans:
        return Spans(
            *(
                np.concatenate([getattr(self, name), getattr(other, name)])
                for name in ("start", "end", "label", "source", "id")
            )
        )


def coverage(spans: Spans, n_candles: int) -> np.ndarray:
    """How many spans cover each candle: ndarray of shape (n_candles,), int64."""
    diff = np.zeros(n_candles + 1, dtype=np.int64)
    np.add.at(diff, spans.start, 1)
    np.add.at(diff, spans.end + 1, -1)
    return np.cumsum(diff[:-1])


def overlaps_any(spans: Spans, others: Spans, n_candles: int) -> np.ndarray:
    """For each span of `spans`, whether it shares at least one candle with a span of `others`."""
    if not len(spans) or not len(others):
        return np.zeros(len(spans), dtype=bool)
    covered = np.concatenate([[0], np.cumsum(coverage(others, n_candles) > 0)])
    return covered[spans.end + 1] - covered[spans.start] > 0


def to_rows(spans: Spans, row_index: np.ndarray) -> tuple[Spans, np.ndarray]:
    """Re-index spans from the full candle series onto a subset of its candles.

    Parameters
    ----------
    spans : Spans
        Indices into the full series (the raw candles).
    row_index : ndarray of shape (n_rows,)
        For each kept row, its index in the full series (strictly increasing), e.g. the
        enriched_features rows, which lack the indicators' warm-up.

    Returns
    -------
    spans : Spans
        The visible spans, clipped to the kept rows, as row indices.
    visible : ndarray of shape (n_spans,), bool
        Which input spans have at least one kept row.
    """
    first = np.searchsorted(row_index, spans.start, side="left")
    last = np.searchsorted(row_index, spans.end, side="right") - 1
    visible = first <= last
    moved = spans.take(visible)
    return Spans(first[visible], last[visible], moved.label, moved.source, moved.id), visible
