"""Labelled candles grouped into spans: consecutive candles with the same pattern become one span."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml_platform.inference.results import OUTSIDE_LABEL, CandlePredictions, class_labels


@dataclass(frozen=True)
class SpanRecords:
    """Spans as columns (one entry per span), for fast encoding.

    label_ids : int array (index into the class-label list), starts/ends : positions
    (inclusive, into the predictions' input), avg_confidence : float64.
    """

    labels: list[str]
    start_indices: np.ndarray
    end_indices: np.ndarray
    avg_confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def group_spans(predictions: CandlePredictions) -> SpanRecords:
    """Group labelled candles into spans.

    Consecutive candles (adjacent input positions) with the same non-``O`` pattern form one
    span; a ``B-`` tag always starts a new span, as does a gap (an unpredicted candle).
    ``avg_confidence`` is the mean confidence of the span's candles.
    """
    classes = predictions.classes
    names = class_labels(classes)
    name_ids = {name: i for i, name in enumerate(dict.fromkeys(names))}
    pattern_of_class = np.array([-1 if name == OUTSIDE_LABEL else name_ids[name] for name in names], dtype=np.int64)
    begins_of_class = np.array([tag.startswith("B-") for tag in classes], dtype=bool)
    if len(predictions.class_ids) == 0:
        return SpanRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    pattern = pattern_of_class[predictions.class_ids]
    in_span = pattern >= 0
    index = predictions.indices
    starts = in_span.copy()
    starts[1:] &= (
        (pattern[1:] != pattern[:-1]) | begins_of_class[predictions.class_ids[1:]] | (index[1:] != index[:-1] + 1)
    )
    span_id = np.cumsum(starts) - 1
    members = np.flatnonzero(in_span)
    count = int(starts.sum())
    if count == 0:
        return SpanRecords([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    ids = span_id[members]
    sums = np.bincount(ids, weights=predictions.confidences[members], minlength=count)
    sizes = np.bincount(ids, minlength=count)
    first = np.flatnonzero(starts)
    last = members[np.r_[np.flatnonzero(np.diff(ids)), len(ids) - 1]]
    id_to_name = list(name_ids)
    return SpanRecords(
        labels=[id_to_name[p] for p in pattern[first].tolist()],
        start_indices=index[first],
        end_indices=index[last],
        avg_confidence=sums / sizes,
    )
