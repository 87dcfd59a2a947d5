"""Programmatic labels: the same marks as direct TA-Lib calls, spans by pattern length, look-back unknown."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from talib import abstract

from ml_platform.labeling import PATTERN_CANDLES, LabelingError, label_candles, label_partition, pattern_label
from ml_platform.partitions import Partition

PATTERNS = ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI", "CDL3OUTSIDE"]


def test_labels_match_direct_talib_calls_on_sample_like_data(kit) -> None:
    candles = kit.candles(600, seed=11)
    result = label_candles(candles, PATTERNS)
    prices = [candles[c].to_numpy() for c in ("open", "high", "low", "close")]
    times = candles["time"].to_numpy()
    assert result.lookback == max(abstract.Function(name).lookback for name in PATTERNS) == 11
    assert result.known[11:].all()
    in_lookback = np.zeros(11, bool)  # unknown unless a pattern with a shorter look-back covers the candle
    for start, end in zip(result.spans.start.tolist(), result.spans.end.tolist(), strict=True):
        in_lookback[start : end + 1] = True  # slicing stops at candle 10
    assert result.known[:11].tolist() == in_lookback.tolist()
    total = 0
    for name in PATTERNS:
        values = getattr(talib, name)(*prices)
        lookback = abstract.Function(name).lookback
        assert not values[:lookback].any()  # TA-Lib's look-back reads as 0: "unknown", not "no pattern"
        marked = np.flatnonzero(values)
        expected = {(int(i) - PATTERN_CANDLES[name] + 1, int(i), pattern_label(name, int(values[i]))) for i in marked}
        mine = result.spans.take(np.array([i.startswith(f"{name}@") for i in result.spans.id], dtype=bool))
        assert set(zip(mine.start.tolist(), mine.end.tolist(), mine.label.tolist(), strict=True)) == expected
        assert mine.id.tolist() == [f"{name}@{times[e]}" for e in mine.end.tolist()]
        total += len(marked)
    assert total == len(result.spans) > 50
    assert set(result.spans.source.tolist()) == {"programmatic"}


def test_label_names_and_the_candle_table() -> None:
    assert pattern_label("CDLENGULFING", 100) == "bullish_engulfing"
    assert pattern_label("CDLENGULFING", -200) == "bearish_engulfing"
    assert pattern_label("CDL3BLACKCROWS", -100) == "bearish_3blackcrows"
    assert set(PATTERN_CANDLES) == set(talib.get_function_groups()["Pattern Recognition"])
    assert [PATTERN_CANDLES[name] for name in ("CDLENGULFING", "CDLHAMMER", "CDLMORNINGSTAR")] == [2, 1, 3]


def test_an_unknown_pattern_names_the_config_key(kit) -> None:
    with pytest.raises(LabelingError, match=r"labeling.cdl.patterns\[1\]: 'CDLNOPE' is not a TA-Lib candlestick"):
        label_candles(kit.candles(20), ["CDLDOJI", "CDLNOPE"])


def test_lookback_rows_are_unknown_in_the_bio_file_not_o(kit) -> None:
    raw = kit.candles(60, seed=11)
    enriched = kit.enriched(raw)  # no warm-up: the CDL look-back reaches into the file
    config = kit.config(cdl={"enabled": True, "patterns": ["CDLHAMMER", "CDLENGULFING"]}, merge_strategy="both")
    result = label_partition(enriched, raw, [kit.ann("bull_flag", 3, 4)], Partition("EURUSD", "1h"), config)
    frame = result.frame
    prices = [raw[c].to_numpy() for c in ("open", "high", "low", "close")]
    engulfing = np.flatnonzero(talib.CDLENGULFING(*prices))
    assert talib.CDLHAMMER(*prices)[:11].sum() == 0 and engulfing[0] < 11  # fixture: one pattern in the look-back
    covered = np.zeros(60, bool)
    covered[3:5] = True  # the human span
    for end in engulfing:
        covered[end - 1 : end + 1] = True
    expected_known = covered | (np.arange(60) >= 11)
    assert frame["label_known"].tolist() == expected_known.tolist()
    unknown = ~expected_known
    assert frame["tag_programmatic"][unknown].isna().all() and frame["tag_programmatic"][~unknown].notna().sum() >= 49
    assert (frame["tag"][unknown] == "O").all()
    assert frame["tag"].iloc[3:5].tolist() == ["B-bull_flag", "I-bull_flag"]
    statistics = result.statistics
    assert statistics.unknown_rows == unknown.sum() > 0
    assert statistics.samples_per_label()["O"] == (frame["tag"] == "O").sum() - unknown.sum()  # not counted as O
    assert sum(statistics.samples_per_label().values()) == 60 - unknown.sum()
