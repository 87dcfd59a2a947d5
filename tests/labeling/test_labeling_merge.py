"""Merge strategies and negative annotations, on hand-built spans and with real TA-Lib labels."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from ml_platform.labeling import Spans, encode_bio, label_partition, merge_spans
from ml_platform.partitions import Partition

N = 15


@pytest.fixture
def sources(kit):
    human = kit.spans((2, 5, "bull_flag"))
    programmatic = Spans.build(
        [4, 8, 12],
        [5, 9, 12],
        ["bullish_engulfing", "bearish_harami", "bullish_doji"],
        ["programmatic"] * 3,
        ["CDLENGULFING@5", "CDLHARAMI@9", "CDLDOJI@12"],
    )
    negatives = kit.spans((11, 13, "O"))
    return human, programmatic, negatives


def tag(spans: Spans) -> list[str]:
    return encode_bio(spans, N).tags(0).tolist()


O = "O"


def test_human_priority_drops_programmatic_spans_under_human_ones(sources) -> None:
    result = merge_spans(*sources, "human_priority", N)
    assert tag(result.spans) == [
        O,
        O,
        "B-bull_flag",
        "I-bull_flag",
        "I-bull_flag",
        "I-bull_flag",
        O,
        O,
        "B-bearish_harami",
        "I-bearish_harami",
        O,
        O,
        O,
        O,
        O,
    ]
    assert (result.dropped_by_priority, result.dropped_by_negative) == (1, 1)


def test_programmatic_priority_drops_human_spans_under_programmatic_ones(sources) -> None:
    result = merge_spans(*sources, "programmatic_priority", N)
    assert tag(result.spans) == [
        O,
        O,
        O,
        O,
        "B-bullish_engulfing",
        "I-bullish_engulfing",
        O,
        O,
        "B-bearish_harami",
        "I-bearish_harami",
        O,
        O,
        O,
        O,
        O,
    ]
    assert (result.dropped_by_priority, result.dropped_by_negative) == (1, 1)


def test_both_keeps_each_source_and_negatives_still_override(sources) -> None:
    result = merge_spans(*sources, "both", N)
    assert result.dropped_by_priority == 0 and result.dropped_by_negative == 1
    assert tag(result.human) == [O, O, "B-bull_flag", "I-bull_flag", "I-bull_flag", "I-bull_flag"] + [O] * 9
    assert tag(result.programmatic) == [
        O,
        O,
        O,
        O,
        "B-bullish_engulfing",
        "I-bullish_engulfing",
        O,
        O,
        "B-bearish_harami",
        "I-bearish_harami",
        O,
        O,
        O,
        O,
        O,
    ]  # no doji at 12
    assert len(result.spans) == 3


def _engulfing_setup(kit):
    raw = kit.candles(80, seed=5)
    marks = np.flatnonzero(talib.CDLENGULFING(*(raw[c].to_numpy() for c in ("open", "high", "low", "close"))))
    isolated = marks[1:][np.diff(marks) > 4]  # no other pattern in the 4 candles before
    return raw, isolated


def _run(kit, raw, annotations, strategy):
    config = kit.config(cdl={"enabled": True, "patterns": ["CDLENGULFING"]}, merge_strategy=strategy)
    return label_partition(kit.enriched(raw), raw, annotations, Partition("EURUSD", "1h"), config)


def test_negative_annotations_override_cdl_labels_in_every_strategy(kit) -> None:
    raw, marks = _engulfing_setup(kit)
    first, second = int(marks[0]), int(marks[1])
    assert second - first > 2
    negative = kit.ann("O", first - 1, first)  # covers the first engulfing pattern
    for strategy in ("human_priority", "programmatic_priority", "both"):
        result = _run(kit, raw, [negative], strategy)
        frame = result.frame
        assert frame["tag"].iloc[first - 1 : first + 1].tolist() == ["O", "O"], strategy
        assert frame["tag"].iloc[second - 1].startswith("B-") and frame["tag"].iloc[second - 1].endswith("_engulfing")
        assert frame["label_known"].iloc[first - 1 : first + 1].all()  # human O is a known O
        assert result.statistics.programmatic_dropped_by_negative >= 1
    assert frame["tag_programmatic"].iloc[first - 1 : first + 1].tolist() == ["O", "O"]
    assert frame["tag_human"].iloc[first - 1 : first + 1].tolist() == ["O", "O"]


def test_each_strategy_on_real_cdl_labels(kit) -> None:
    raw, marks = _engulfing_setup(kit)
    mark = int(marks[0])
    human = kit.ann("head_and_shoulders", mark - 3, mark)  # overlaps the first engulfing pattern
    talib_tag = "B-" + _run(kit, raw, [], "human_priority").frame["tag"].iloc[mark - 1][2:]
    human_tags = ["B-head_and_shoulders"] + ["I-head_and_shoulders"] * 3

    frame = _run(kit, raw, [human], "human_priority").frame
    assert frame["tag"].iloc[mark - 3 : mark + 1].tolist() == human_tags

    frame = _run(kit, raw, [human], "programmatic_priority").frame
    assert frame["tag"].iloc[mark - 3 : mark + 1].tolist() == ["O", "O", talib_tag, "I" + talib_tag[1:]]

    frame = _run(kit, raw, [human], "both").frame
    assert frame["tag"].iloc[mark - 3 : mark + 1].tolist() == human_tags  # tag = human_priority
    assert frame["tag_human"].iloc[mark - 3 : mark + 1].tolist() == human_tags
    assert frame["tag_programmatic"].iloc[mark - 3 : mark + 1].tolist() == ["O", "O", talib_tag, "I" + talib_tag[1:]]
