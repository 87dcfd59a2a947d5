"""Spans to per-candle BIO tags and back, for the per-candle views (chart overlay, row metrics).

Detected spans may overlap (NMS keeps spans whose IoU is at most its threshold); one tag
track cannot hold that, so `spans_to_tags` gives each candle to the most confident span
covering it, and a span that loses part of its candles keeps the rest (a ``B-`` opens each
of its remaining runs). Spans that do not overlap survive the round trip exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_platform.training.evaluation import bio_spans

OUTSIDE = "O"


def spans_to_tags(spans: pd.DataFrame, n_candles: int) -> np.ndarray:
    """BIO tags of `n_candles` candles from spans.

    Parameters
    ----------
    spans : DataFrame with int columns ``start``, ``end`` (inclusive), str ``label``, and
        optionally float ``confidence`` (default 1.0; higher claims contested candles first).
    n_candles : int

    Returns
    -------
    tags : object array of shape (n_candles,)
        ``B-{label}`` on a span's first candle, ``I-{label}`` on the rest, ``O`` elsewhere.
    """
    tags = np.full(n_candles, OUTSIDE, dtype=object)
    if len(spans) == 0:
        return tags
    start, end = spans["start"].to_numpy(dtype=np.int64), spans["end"].to_numpy(dtype=np.int64)
    bad = (start < 0) | (end >= n_candles) | (start > end)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"spans_to_tags: span {i} ({start[i]}..{end[i]}) is not within 0..{n_candles - 1} "
            "with start <= end; give candle positions into the series"
        )
    confidence = spans["confidence"].to_numpy(dtype=np.float64) if "confidence" in spans else np.ones(len(spans))
    labels = spans["label"].astype(str).tolist()
    taken = np.zeros(n_candles, dtype=bool)
    for i in np.argsort(-confidence, kind="stable").tolist():
        s, e = int(start[i]), int(end[i])
        free = ~taken[s : e + 1]
        if not free.any():
            continue
        tags[s : e + 1][free] = f"I-{labels[i]}"
        opens = free & ~np.concatenate(([False], free[:-1]))  # the first candle of every free run
        tags[s : e + 1][opens] = f"B-{labels[i]}"
        taken[s : e + 1] = True
    return tags


def tags_to_spans(tags: Sequence[str] | np.ndarray) -> pd.DataFrame:
    """Spans of a BIO tag sequence: DataFrame with int ``start``, ``end`` (inclusive) and str ``label``.

    Reads tags as `ml_platform.training.evaluation.bio_spans` does (``B-`` opens a span,
    a stray ``I-`` opens one too).
    """
    found = bio_spans([str(t) for t in tags])
    return pd.DataFrame(
        {
            "start": np.asarray([s.start for s in found], dtype=np.int64),
            "end": np.asarray([s.end for s in found], dtype=np.int64),
            "label": pd.Series([s.label for s in found], dtype=object),
        }
    )
