"""Where the model and people disagree, and where programmatic (CDL) and human labels conflict.

`find_disagreements` is the chart's rule (`web/src/lib/predictions/disagreements.ts`) on
candle positions, so the queue ranks exactly what the chart draws:

- ``missed_by_model``: a human pattern span no prediction matches, lying inside the range
  the model predicted over (outside it the model said nothing);
- ``missed_by_human``: a prediction no human span matches (found by the model only);
- ``label_mismatch``: a prediction matched only by human spans of other labels.

A prediction matched by a human span of its label agrees; one matched by a negative (``O``)
human span was dismissed by a person: neither is a disagreement. Match: the spans share
more than half of the shorter one's candles.

`find_conflicts`: a programmatic span and a human span that share a candle and say
different things *in the same vocabulary*: the human span is ``O`` ("no pattern here") or
carries one of the programmatic labels, and its label is not the programmatic span's. A
chart pattern over a candlestick pattern is no conflict (both can be true at once). A human
span with a programmatic label that no programmatic span of that label touches (the person
saw an engulfing TA-Lib did not) conflicts too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.review.intervals import as_positions, match_matrix, shared_candles

NEGATIVE_LABEL = "O"
KINDS: tuple[str, ...] = ("missed_by_model", "label_mismatch", "missed_by_human")


@dataclass(frozen=True)
class SpanArrays:
    """Labelled spans as parallel arrays.

    start, end : ndarray of shape (n,), int64 (inclusive candle positions)
    label : ndarray of shape (n,), object
    confidence : ndarray of shape (n,), float64 (1.0 for spans without one)
    """

    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> SpanArrays:
        return cls(as_positions([]), as_positions([]), np.zeros(0, dtype=object), np.zeros(0))

    @classmethod
    def from_frame(cls, spans: pd.DataFrame | None, *, where: str, n_candles: int | None = None) -> SpanArrays:
        """From a DataFrame with int ``start``, ``end``, str ``label`` and optional ``confidence``.

        Raises
        ------
        ValueError
            Naming `where` and the first bad span, when a column is missing or a span is not
            within ``0..n_candles - 1`` with start <= end.
        """
        if spans is None or len(spans) == 0:
            return cls.empty()
        missing = [c for c in ("start", "end", "label") if c not in spans.columns]
        if missing:
            raise ValueError(f"{where}: spans lack columns {missing}; give int start, end (inclusive) and str label")
        start, end = as_positions(spans["start"]), as_positions(spans["end"])
        bad = (start < 0) | (start > end)
        if n_candles is not None:
            bad |= end >= n_candles
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            limit = f"0..{n_candles - 1}" if n_candles is not None else ">= 0"
            raise ValueError(
                f"{where}: span {start[i]}..{end[i]} is not within {limit} with start <= end; "
                "spans are inclusive candle positions into the series"
            )
        label = np.asarray(spans["label"].astype(str), dtype=object)
        conf = spans["confidence"].to_numpy(dtype=np.float64) if "confidence" in spans.columns else np.ones(len(start))
        return cls(start, end, label, conf)

    def take(self, selector: np.ndarray) -> SpanArrays:
        return SpanArrays(self.start[selector], self.end[selector], self.label[selector], self.confidence[selector])


@dataclass(frozen=True)
class Disagreements:
    """Disagreements as parallel arrays (see the module docstring for the kinds).

    start, end : ndarray of shape (n,), int64
        The human span (``missed_by_model``) or the prediction (the other kinds).
    kind : ndarray of shape (n,), object
    model_label, human_label : ndarray of shape (n,), object (``""`` when that side is silent)
    """

    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray
    model_label: np.ndarray
    human_label: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def find_disagreements(
    human: SpanArrays, predicted: SpanArrays, *, predicted_range: tuple[int, int] | None = None
) -> Disagreements:
    """The chart's three kinds of disagreement (module docstring).

    Parameters
    ----------
    human : SpanArrays
        Human spans, negatives (``O``) included.
    predicted : SpanArrays
        The model's spans.
    predicted_range : (int, int), optional
        First and last candle the model predicted over; a human span not inside it is never
        ``missed_by_model``. Default: everywhere.
    """
    rows: list[tuple[int, int, str, str, str]] = []
    matched = match_matrix(predicted.start, predicted.end, human.start, human.end)
    shared = shared_candles(predicted.start, predicted.end, human.start, human.end)
    for i in range(len(predicted)):
        hits = np.flatnonzero(matched[i])
        p = (int(predicted.start[i]), int(predicted.end[i]))
        labels = human.label[hits]
        if len(hits) == 0:
            rows.append((*p, "missed_by_human", str(predicted.label[i]), ""))
        elif (labels == predicted.label[i]).any() or (labels == NEGATIVE_LABEL).any():
            continue
        else:
            best = hits[np.argmax(shared[i, hits])]
            rows.append((*p, "label_mismatch", str(predicted.label[i]), str(human.label[best])))
    lo, hi = predicted_range if predicted_range is not None else (-np.inf, np.inf)
    found = np.asarray(matched.any(axis=0), dtype=bool).reshape(len(human))
    for j in range(len(human)):
        if human.label[j] == NEGATIVE_LABEL or found[j] or human.start[j] < lo or human.end[j] > hi:
            continue
        rows.append((int(human.start[j]), int(human.end[j]), "missed_by_model", "", str(human.label[j])))
    rows.sort()
    return Disagreements(
        as_positions([r[0] for r in rows]),
        as_positions([r[1] for r in rows]),
        np.asarray([r[2] for r in rows], dtype=object),
        np.asarray([r[3] for r in rows], dtype=object),
        np.asarray([r[4] for r in rows], dtype=object),
    )


def find_conflicts(
    human: SpanArrays, programmatic: SpanArrays, *, programmatic_labels: Iterable[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Candle intervals where programmatic and human labels conflict (module docstring).

    Parameters
    ----------
    human, programmatic : SpanArrays
    programmatic_labels : iterable of str, optional
        The labels the programmatic source can give (default: those among `programmatic`);
        a human span with one of them must be matched by a programmatic span of its label.

    Returns
    -------
    start, end : ndarray of shape (n_conflicts,), int64
        The union of the two conflicting spans (a human span seen by nothing: itself).
    """
    vocabulary = set(programmatic_labels) if programmatic_labels is not None else set(programmatic.label.tolist())
    in_vocabulary = np.asarray([lab == NEGATIVE_LABEL or lab in vocabulary for lab in human.label.tolist()], dtype=bool)
    touch = shared_candles(human.start, human.end, programmatic.start, programmatic.end) > 0
    differs = human.label[:, None] != programmatic.label[None, :]
    hi, pi = np.nonzero(touch & differs & in_vocabulary[:, None])
    starts = np.minimum(human.start[hi], programmatic.start[pi]).tolist()
    ends = np.maximum(human.end[hi], programmatic.end[pi]).tolist()
    same = touch & ~differs
    for j in np.flatnonzero(in_vocabulary & (human.label != NEGATIVE_LABEL)).tolist():
        if not same[j].any():
            starts.append(int(human.start[j]))
            ends.append(int(human.end[j]))
    return as_positions(starts), as_positions(ends)
