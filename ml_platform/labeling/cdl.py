"""Programmatic labels from TA-Lib's CDL* candlestick functions.

Each configured function runs once over a partition's full raw candles. A positive value
on candle ``i`` (TA-Lib writes +100, +200 for a confirmed pattern, +80 for an engulfing
whose bodies share an end) becomes ``bullish_{pattern}``, a negative one ``bearish_{pattern}``
(the function name in lower case without ``CDL``: ``CDLENGULFING`` -> ``engulfing``). The
span ends at the marked candle and covers the pattern's candles, from `PATTERN_CANDLES`
(an engulfing is 2 candles: ``i - 1 .. i``). TA-Lib reports direction-less patterns (a
doji) as +100, so they come out as ``bullish_doji``.

Look-back: TA-Lib writes 0 for the candles it cannot judge yet (its look-back, up to 14
candles for the configured patterns), which looks exactly like "no pattern". Those
candles are *unknown*: `ProgrammaticLabels.known` is False there (until every configured
function is past its look-back, except on candles a pattern with a shorter look-back
already covers), and they must never count as ``O``.
Computing on the full raw candles (not the enriched rows, whose first rows are already
dropped as indicator warm-up) keeps the look-back as short as TA-Lib needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib
from talib import abstract

from ml_platform.labeling.errors import LabelingError
from ml_platform.labeling.spans import PROGRAMMATIC_SOURCE, Spans, coverage

# Candles per pattern: the marked candle and the ones before it that the pattern spans.
PATTERN_CANDLES: dict[str, int] = {
    "CDL2CROWS": 3,
    "CDL3BLACKCROWS": 3,
    "CDL3INSIDE": 3,
    "CDL3LINESTRIKE": 4,
    "CDL3OUTSIDE": 3,
    "CDL3STARSINSOUTH": 3,
    "CDL3WHITESOLDIERS": 3,
    "CDLABANDONEDBABY": 3,
    "CDLADVANCEBLOCK": 3,
    "CDLBELTHOLD": 1,
    "CDLBREAKAWAY": 5,
    "CDLCLOSINGMARUBOZU": 1,
    "CDLCONCEALBABYSWALL": 4,
    "CDLCOUNTERATTACK": 2,
    "CDLDARKCLOUDCOVER": 2,
    "CDLDOJI": 1,
    "CDLDOJISTAR": 2,
    "CDLDRAGONFLYDOJI": 1,
    "CDLENGULFING": 2,
    "CDLEVENINGDOJISTAR": 3,
    "CDLEVENINGSTAR": 3,
    "CDLGAPSIDESIDEWHITE": 3,
    "CDLGRAVESTONEDOJI": 1,
    "CDLHAMMER": 1,
    "CDLHANGINGMAN": 1,
    "CDLHARAMI": 2,
    "CDLHARAMICROSS": 2,
    "CDLHIGHWAVE": 1,
    "CDLHIKKAKE": 3,
    "CDLHIKKAKEMOD": 4,
    "CDLHOMINGPIGEON": 2,
    "CDLIDENTICAL3CROWS": 3,
    "CDLINNECK": 2,
    "CDLINVERTEDHAMMER": 1,
    "CDLKICKING": 2,
    "CDLKICKINGBYLENGTH": 2,
    "CDLLADDERBOTTOM": 5,
    "CDLLONGLEGGEDDOJI": 1,
    "CDLLONGLINE": 1,
    "CDLMARUBOZU": 1,
    "CDLMATCHINGLOW": 2,
    "CDLMATHOLD": 5,
    "CDLMORNINGDOJISTAR": 3,
    "CDLMORNINGSTAR": 3,
    "CDLONNECK": 2,
    "CDLPIERCING": 2,
    "CDLRICKSHAWMAN": 1,
    "CDLRISEFALL3METHODS": 5,
    "CDLSEPARATINGLINES": 2,
    "CDLSHOOTINGSTAR": 1,
    "CDLSHORTLINE": 1,
    "CDLSPINNINGTOP": 1,
    "CDLSTALLEDPATTERN": 3,
    "CDLSTICKSANDWICH": 3,
    "CDLTAKURI": 1,
    "CDLTASUKIGAP": 3,
    "CDLTHRUSTING": 2,
    "CDLTRISTAR": 3,
    "CDLUNIQUE3RIVER": 3,
    "CDLUPSIDEGAP2CROWS": 3,
    "CDLXSIDEGAP3METHODS": 3,
}


@dataclass(frozen=True)
class ProgrammaticLabels:
    """The CDL spans of one candle series.

    spans : Spans
        Source ``programmatic``, ids ``{function}@{epoch seconds of the marked candle}``.
    known : ndarray of shape (n_candles,), bool
        False during the look-back of any configured function, unless a span covers the candle.
    lookback : int
        The longest look-back of the configured functions (0 when none is configured).
    """

    spans: Spans
    known: np.ndarray
    lookback: int


def pattern_label(function: str, value: int) -> str:
    """``bullish_engulfing`` for (``CDLENGULFING``, +100), ``bearish_engulfing`` for -100/-200."""
    return f"{'bullish' if value > 0 else 'bearish'}_{function.removeprefix('CDL').lower()}"


def check_patterns(patterns: Sequence[str]) -> None:
    """Raise if a configured name is not a TA-Lib CDL function with a known candle count."""
    for index, name in enumerate(patterns):
        if name not in PATTERN_CANDLES or not hasattr(talib, name):
            raise LabelingError(
                f"labeling.cdl.patterns[{index}]: {name!r} is not a TA-Lib candlestick function "
                f"(use one of {', '.join(sorted(PATTERN_CANDLES))})"
            )


def label_candles(candles: pd.DataFrame, patterns: Sequence[str]) -> ProgrammaticLabels:
    """Run the CDL functions over consecutive candles.

    Parameters
    ----------
    candles : DataFrame of shape (n_candles, 6)
        The canonical raw candles (``time open high low close volume``), in time order.
    patterns : sequence of str
        TA-Lib function names (``labeling.cdl.patterns``).

    Returns
    -------
    ProgrammaticLabels
        Spans sorted by start, end, label.
    """
    check_patterns(patterns)
    prices = [candles[name].to_numpy(dtype=np.float64) for name in ("open", "high", "low", "close")]
    times = candles["time"].to_numpy(dtype=np.int64)
    n = len(times)
    parts = []
    lookback = 0
    for name in patterns:
        function_lookback = int(abstract.Function(name).lookback)  # type: ignore[attr-defined]
        lookback = max(lookback, function_lookback)
        values = np.asarray(getattr(talib, name)(*prices))
        marked = np.flatnonzero(values != 0)
        marked = marked[marked >= function_lookback]  # TA-Lib writes 0 there; belt and braces
        signs = values[marked] > 0
        labels = np.where(signs, pattern_label(name, 1), pattern_label(name, -1)).astype(object)
        parts.append(
            Spans.build(
                np.maximum(marked - (PATTERN_CANDLES[name] - 1), 0),
                marked,
                labels,
                np.full(len(marked), PROGRAMMATIC_SOURCE, dtype=object),
                [f"{name}@{t}" for t in times[marked].tolist()],
            )
        )
    spans = Spans.empty()
    for part in parts:
        spans = spans + part
    known = (np.arange(n) >= lookback) | (coverage(spans, n) > 0)
    return ProgrammaticLabels(spans=spans.sorted(), known=known, lookback=min(lookback, n))
