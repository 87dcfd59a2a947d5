"""Windowed classification: one row per labelled span, its candles' features flattened.

Placement: a window has ``labeling.window.size`` candles and is centred on its span
(an odd leftover candle goes after the span), so a span of ``L`` candles gets
``(size - L) // 2`` candles of context before it. ``labeling.window.context_padding`` is
the context every window should have on both sides: a span longer than
``size - 2 * context_padding`` still gets its centred window, with less context (or
cropped, when longer than ``size``), and is counted as ``windows_with_reduced_padding``
with a warning that says which size would fit.

Edges: a window running past the first or last row either repeats the edge row
(``pad_policy: edge``) or is dropped (``drop``). Rows are never read outside the data.

Negatives: ``round(negative_ratio * positive windows)`` windows labelled ``O`` (source
``negative_sample``) are drawn without replacement, with the seeded generator, from the
window positions that touch no human span and no row whose label is unknown (CDL
look-back), and whose middle row (offset ``(size - 1) // 2``) is in no programmatic span.
Every centred window has its span on that middle row, so a negative window is never
"centred on" a pattern; CDL patterns are too frequent (often every few candles) to keep
them out of whole windows. Negative annotations (label ``O``) get their own centred
windows like any span (source ``human_correction``). Sampled windows may overlap.

Columns: ``label``, ``source``, ``start_time``, ``end_time`` (epoch seconds of the window's
first and last candle actually used), then ``{column}_t{offset}`` for each column
(feature-major: ``close_t0 .. close_t47, rsi_14_t0 ..``), ``offset`` 0 being the window's
first candle. Leakage: windows overlap their neighbours (and spans overlap), so a random
train/test split leaks; split by time with a gap of at least ``size`` rows.

Memory: the window matrix is written straight into one column-major float64 array that
the DataFrame then uses without a copy (peak about 1x the output plus an index block of
``size x 4096`` integers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.config import WindowConfig
from ml_platform.labeling.spans import NEGATIVE_LABEL, Spans

logger = logging.getLogger(__name__)

NEGATIVE_SAMPLE_SOURCE = "negative_sample"
WINDOW_META_COLUMNS = ("label", "source", "start_time", "end_time")
_WINDOW_CHUNK = 4096


@dataclass(frozen=True)
class WindowSet:
    """The window-mode frame and what happened on the way.

    frame : DataFrame of shape (n_windows, 4 + n_columns * size)
        Sorted by ``start_time``, then label.
    spans : Spans
        The spans that got a window (after ``pad_policy: drop``).
    """

    frame: pd.DataFrame
    spans: Spans
    dropped_at_edges: int
    padded_at_edges: int
    reduced_padding: int
    negatives_requested: int
    negatives_sampled: int


def window_starts(spans: Spans, size: int) -> np.ndarray:
    """First row of each span's centred window (may be negative or run past the end)."""
    return spans.start - (size - spans.length) // 2


def window_column_names(columns: Sequence[str], size: int) -> list[str]:
    """``{column}_t{offset}``, feature-major, matching `encode_windows`."""
    return [f"{column}_t{offset}" for column in columns for offset in range(size)]


def encode_windows(columns: Sequence[np.ndarray], starts: np.ndarray, size: int) -> np.ndarray:
    """Flatten the windows ``[start, start + size)`` of several per-row arrays.

    Parameters
    ----------
    columns : sequence of ndarray of shape (n_rows,)
        One array per feature.
    starts : ndarray of shape (n_windows,)
        Window first rows; rows outside ``[0, n_rows)`` repeat the edge row.
    size : int

    Returns
    -------
    ndarray of shape (n_windows, len(columns) * size), float64, Fortran-ordered
        Column ``f * size + k`` holds ``columns[f][clip(start + k)]``.
    """
    n_windows = len(starts)
    out = np.empty((len(columns), size, n_windows), dtype=np.float64)
    if n_windows and len(columns):
        if len(columns[0]) == 0:
            raise ValueError("cannot take windows from an empty series")
        offsets = np.arange(size, dtype=np.intp)[:, None]
        base = np.asarray(starts, dtype=np.intp)
        for first in range(0, n_windows, _WINDOW_CHUNK):  # a small index block at a time
            chunk = slice(first, first + _WINDOW_CHUNK)
            index = base[None, chunk] + offsets  # (size, chunk); mode="clip" repeats the edge rows
            for feature, values in enumerate(columns):
                np.take(values, index, out=out[feature, :, chunk], mode="clip")
    return out.reshape(len(columns) * size, n_windows).T


def sample_negative_starts(
    blocked: np.ndarray, centre_blocked: np.ndarray, size: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Up to `count` window starts for negative windows, sorted.

    blocked : ndarray of shape (n_rows,), bool
        Rows a negative window must not touch (human spans, unknown labels).
    centre_blocked : ndarray of shape (n_rows,), bool
        Rows that must not be a negative window's middle row (programmatic spans).
    """
    n_rows = len(blocked)
    if count <= 0 or n_rows < size:
        return np.zeros(0, dtype=np.int64)
    blocked_before = np.concatenate([[0], np.cumsum(blocked, dtype=np.int64)])
    free = blocked_before[size:] == blocked_before[:-size]
    free &= ~centre_blocked[(size - 1) // 2 : (size - 1) // 2 + len(free)]
    candidates = np.flatnonzero(free)
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False) if len(candidates) else candidates
    return np.sort(chosen).astype(np.int64)


def build_windows(
    frame: pd.DataFrame,
    columns: Sequence[str],
    spans: Spans,
    blocked: np.ndarray,
    centre_blocked: np.ndarray,
    window: WindowConfig,
    rng: np.random.Generator,
) -> WindowSet:
    """Centred windows for `spans` plus sampled negatives, as one frame.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, ...)
        The enriched rows (``time`` and `columns`), in time order.
    columns : sequence of str
        The columns to flatten.
    spans : Spans
        Row indices into `frame`; positive spans and negative (``O``) annotations.
    blocked, centre_blocked : ndarray of shape (n_rows,), bool
        Rows sampled negatives must avoid, and rows that must not be their middle row.
    window : WindowConfig
        ``size``, ``context_padding``, ``pad_policy``, ``negative_ratio``.
    rng : numpy Generator
        For the negative sample.
    """
    n_rows, size = len(frame), window.size
    starts = window_starts(spans, size)
    inside = (starts >= 0) & (starts + size <= n_rows)
    dropped, padded = 0, 0
    if window.pad_policy == "edge":
        padded = int((~inside).sum())
    else:
        dropped = int((~inside).sum())
        spans, starts = spans.take(inside), starts[inside]
    too_long = spans.length > size - 2 * window.context_padding
    if too_long.any():
        longest = int(spans.length.max())
        logger.warning(
            "%d spans are longer than labeling.window.size - 2 * context_padding = %d candles: their windows "
            "have less context than %d candles on each side (window.size %d would fit the longest, %d candles)",
            int(too_long.sum()),
            size - 2 * window.context_padding,
            window.context_padding,
            longest + 2 * window.context_padding,
            longest,
        )
    positives = int((spans.label != NEGATIVE_LABEL).sum())
    requested = int(round(window.negative_ratio * positives))
    negative_starts = sample_negative_starts(blocked, centre_blocked, size, requested, rng)
    if len(negative_starts) < requested:
        logger.warning(
            "only %d of %d negative windows fit in stretches without labels; fewer negatives than "
            "labeling.window.negative_ratio asks for",
            len(negative_starts),
            requested,
        )
    all_starts = np.concatenate([starts, negative_starts])
    labels = np.concatenate([spans.label, np.full(len(negative_starts), NEGATIVE_LABEL, dtype=object)])
    sources = np.concatenate([spans.source, np.full(len(negative_starts), NEGATIVE_SAMPLE_SOURCE, dtype=object)])
    order = np.lexsort((labels.astype(str), all_starts))
    all_starts, labels, sources = all_starts[order], labels[order], sources[order]

    matrix = encode_windows([frame[c].to_numpy(dtype=np.float64) for c in columns], all_starts, size)
    result = pd.DataFrame(matrix, columns=window_column_names(columns, size), copy=False)
    times = frame["time"].to_numpy(dtype=np.int64)
    if n_rows:
        first = np.clip(all_starts, 0, n_rows - 1)
        last = np.clip(all_starts + size - 1, 0, n_rows - 1)
        meta = {"label": labels, "source": sources, "start_time": times[first], "end_time": times[last]}
    else:
        meta = {
            "label": labels,
            "source": sources,
            "start_time": np.zeros(0, np.int64),
            "end_time": np.zeros(0, np.int64),
        }
    for position, name in enumerate(WINDOW_META_COLUMNS):
        result.insert(position, name, meta[name])
    return WindowSet(
        frame=result,
        spans=spans,
        dropped_at_edges=dropped,
        padded_at_edges=padded,
        reduced_padding=int(too_long.sum()),
        negatives_requested=requested,
        negatives_sampled=len(negative_starts),
    )
