"""The span detector's training data in a labeled BIO partition (``labeling.mode: span``).

The labeled file holds one row per candle with its OHLCV columns and BIO tag tracks
(``tag``, ``tag_2``, ...). `span_source` turns the chart-label tags of every track back into
spans (`ml_platform.shapes.tags.tags_to_spans`; CDL tags stay per candle) and keeps the
candles, so the split's parts can be cut into contiguous candle segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.bundle import pattern_of
from ml_platform.config import PipelineConfig
from ml_platform.shapes.tags import tags_to_spans

OHLCV = ("open", "high", "low", "close", "volume")
SPAN_COLUMNS = ("start", "end", "label")


@dataclass(frozen=True)
class SpanSource:
    """Candles and chart spans of one labeled partition.

    candles : DataFrame of shape (n_candles, 6)
        ``time open high low close volume`` of every row of the labeled file (index 0..n-1).
    spans : DataFrame with int ``start``, ``end`` (inclusive positions into `candles`), str ``label``
        The chart-label spans of every tag track, sorted by start.
    positions : int64 array of shape (n_rows,)
        The `candles` position of each dataset row (rows dropped for warm-up/context excluded).
    chart_labels : tuple of str
        ``labeling.labels`` names: the labels the detector learns; every other tag is CDL.
    """

    candles: pd.DataFrame
    spans: pd.DataFrame
    positions: np.ndarray
    chart_labels: tuple[str, ...]

    def segment(self, rows: np.ndarray) -> tuple[int, int]:
        """The inclusive candle range ``(first, last)`` spanned by dataset rows `rows` (a chronological part)."""
        if len(rows) == 0:
            raise ValueError("an empty part has no candle segment")
        picked = self.positions[np.asarray(rows, dtype=np.int64)]
        return int(picked.min()), int(picked.max())

    def spans_within(self, first: int, last: int) -> pd.DataFrame:
        """The spans lying wholly in candles ``first..last``, positions relative to `first`."""
        inside = (self.spans["start"] >= first) & (self.spans["end"] <= last)
        chosen = self.spans.loc[inside, list(SPAN_COLUMNS)].copy()
        chosen["start"] -= first
        chosen["end"] -= first
        return chosen.reset_index(drop=True)

    def is_chart(self, tag: str) -> bool:
        """Whether a BIO tag belongs to a chart label (``B-double_top``) rather than CDL or ``O``."""
        return pattern_of(tag) in self.chart_labels


def span_source(
    frame: pd.DataFrame, positions: np.ndarray, config: PipelineConfig, *, tag_columns: Sequence[str]
) -> SpanSource:
    """`SpanSource` of a labeled BIO frame; `positions` are the frame rows the dataset keeps."""
    chart = tuple(spec.name for spec in config.labeling.labels)
    candles = frame.loc[:, [c for c in ("time", *OHLCV) if c in frame.columns]].reset_index(drop=True)
    found = [tags_to_spans(frame[column].astype(str).to_numpy()) for column in tag_columns]
    spans = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=list(SPAN_COLUMNS))
    spans = spans.loc[spans["label"].isin(chart)].drop_duplicates(list(SPAN_COLUMNS))
    spans = spans.sort_values(["start", "end"], kind="stable").reset_index(drop=True)
    return SpanSource(candles=candles, spans=spans, positions=np.asarray(positions, dtype=np.int64), chart_labels=chart)
