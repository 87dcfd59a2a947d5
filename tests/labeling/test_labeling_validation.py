"""Invalid annotations (each reason), min_confidence, strict mode, the one warning, and snapping."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from ml_platform.labeling import (
    InvalidAnnotationsError,
    label_partition,
    snap_indices,
    validate_for_config,
)
from ml_platform.partitions import Partition

EURUSD_1H = Partition("EURUSD", "1h")


@pytest.mark.parametrize(
    ("changes", "kind", "text"),
    [
        ({"pair": "USDJPY"}, "unknown_pair", "pair 'USDJPY' is not configured (partitions.pairs: EURUSD, BTC-USDT)"),
        ({"timeframe": "15m"}, "unknown_timeframe", "timeframe '15m' is not configured"),
        (
            {"start_time": 1_700_003_600, "end_time": 1_700_000_000},
            "end_before_start",
            "end_time 1700000000 is before start_time 1700003600",
        ),
        ({"confidence": 1.5}, "confidence_out_of_range", "confidence 1.5 is not in [0, 1]"),
        ({"confidence": -0.1}, "confidence_out_of_range", "confidence -0.1 is not in [0, 1]"),
        (
            {"label": "triangle"},
            "unknown_label",
            "label 'triangle' is not in labeling.labels (bull_flag, double_top, head_and_shoulders) nor 'O'",
        ),
        ({"label": "bullish_engulfing"}, "unknown_label", "label 'bullish_engulfing' is not in labeling.labels"),
    ],
)
def test_each_invalid_reason_is_reported(kit, changes, kind, text) -> None:
    base = kit.ann("bull_flag", 1, 3, id="bad")
    fields = {name: getattr(base, name) for name in base.__struct_fields__} | changes
    annotation = type(base)(**fields)
    valid, skipped = validate_for_config([annotation, kit.ann("O", 4, 5, id="ok")], kit.config())
    assert [a.id for a in valid] == ["ok"]
    assert [(s.id, s.kinds) for s in skipped] == [("bad", (kind,))]
    assert text in skipped[0].reason


def test_several_reasons_of_one_annotation_are_all_listed(kit) -> None:
    annotation = kit.ann("triangle", 3, 1, id="bad", confidence=2.0)
    _, skipped = validate_for_config([annotation], kit.config())
    assert skipped[0].kinds == ("end_before_start", "confidence_out_of_range", "unknown_label")


def _label(kit, annotations, n=20, warmup=0, **labeling):
    raw = kit.candles(n)
    return label_partition(kit.enriched(raw, warmup), raw, annotations, EURUSD_1H, kit.config(**labeling))


def test_spans_outside_the_candles_or_in_the_warmup_are_skipped(kit) -> None:
    annotations = [
        kit.ann("bull_flag", 25, 30, id="after"),
        kit.ann("bull_flag", -9, -2, id="before"),
        kit.ann("bull_flag", 0, 1, id="warmup"),
        kit.ann("bull_flag", 1, 4, id="partly-warmup"),
        kit.ann("bull_flag", 18, 40, id="partly-after"),
        kit.ann("double_top", 6, 7, id="fine"),
    ]
    result = _label(kit, annotations, warmup=2)
    assert {(s.id, s.kinds) for s in result.skipped} == {
        ("after", ("outside_candles",)),
        ("before", ("outside_candles",)),
        ("warmup", ("in_warmup",)),
    }
    reasons = {s.id: s.reason for s in result.skipped}
    assert "the first 2 candles are the indicators' warm-up" in reasons["warmup"]
    assert "covers no candle (the candles run from" in reasons["after"]
    assert result.statistics.invalid_skipped == 3
    assert result.statistics.skipped_by_reason == {"outside_candles": 2, "in_warmup": 1}
    assert result.statistics.annotations_used == 3
    tags = result.frame["tag"].tolist()
    assert tags[:3] == ["I-bull_flag", "I-bull_flag", "I-bull_flag"]  # rows are candles 2..19
    assert tags[-2:] == ["B-bull_flag", "I-bull_flag"]  # clipped at the last candle


def test_one_warning_lists_every_skipped_id_and_reason(kit, caplog) -> None:
    annotations = [
        kit.ann("triangle", 1, 2, id="a1"),
        kit.ann("bull_flag", 40, 41, id="a2"),
        kit.ann("bull_flag", 5, 4, id="a3"),
        kit.ann("bull_flag", 6, 8, id="ok"),
    ]
    with caplog.at_level(logging.WARNING, logger="ml_platform.labeling"):
        result = _label(kit, annotations)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith(
        "EURUSD|1h: skipped 3 invalid annotations (end_before_start 1, outside_candles 1, unknown_label 1):"
    )
    for line in ("a1 (EURUSD|1h): label 'triangle'", "a2 (EURUSD|1h): span", "a3 (EURUSD|1h): end_time"):
        assert line in message
    assert result.warning == message


def test_strict_mode_makes_invalid_annotations_an_error(kit) -> None:
    annotations = [kit.ann("triangle", 1, 2, id="a1"), kit.ann("bull_flag", 40, 41, id="a2")]
    with pytest.raises(
        InvalidAnnotationsError, match=r"(?s)found 2 invalid.*a1 .*a2 .*labeling.strict is true, so labeling stopped"
    ):
        _label(kit, annotations, strict=True)
    assert _label(kit, [kit.ann("bull_flag", 1, 2)], strict=True).skipped == []


def test_min_confidence_filters_and_counts(kit) -> None:
    annotations = [
        kit.ann("bull_flag", 1, 2, confidence=0.49),
        kit.ann("bull_flag", 5, 6, confidence=0.5),
        kit.ann("O", 10, 12, confidence=0.2),
        kit.ann("double_top", 14, 15, confidence=1.0),
    ]
    result = _label(kit, annotations, min_confidence=0.5)
    assert result.frame["tag"].tolist()[:7] == ["O", "O", "O", "O", "O", "B-bull_flag", "I-bull_flag"]
    assert result.frame["tag"].tolist()[14] == "B-double_top"
    assert result.statistics.below_min_confidence == 2
    assert result.statistics.annotations_used == 2
    assert result.skipped == []  # filtered annotations are not invalid


def test_snapping_inside_candles_in_gaps_and_past_the_ends(kit) -> None:
    hour = kit.HOUR
    # candles 0..4, a gap (5, 6, 7 missing, like a weekend), then 8..9
    times = np.array([kit.t(i) for i in (0, 1, 2, 3, 4, 8, 9)])
    cases = {
        "inside candles": ((kit.t(2) + 1800, kit.t(3) + 10), (2, 3)),
        "exact times": ((kit.t(1), kit.t(4)), (1, 4)),
        "start in the gap snaps forward": ((kit.t(5) + 100, kit.t(9)), (5, 6)),
        "end in the gap snaps back": ((kit.t(3), kit.t(6)), (3, 4)),
        "start inside the last candle before the gap": ((kit.t(4) + 1800, kit.t(8)), (4, 5)),
        "before the first candle is clipped": ((kit.t(0) - 5 * hour, kit.t(1)), (0, 1)),
        "after the last candle is clipped": ((kit.t(8) + 60, kit.t(30)), (5, 6)),
        "entirely in the gap": ((kit.t(5), kit.t(7)), None),
        "entirely after": ((kit.t(11), kit.t(12)), None),
        "entirely before": ((kit.t(-5), kit.t(-1)), None),
    }
    starts = np.array([c[0][0] for c in cases.values()])
    ends = np.array([c[0][1] for c in cases.values()])
    start, end = snap_indices(starts, ends, times, hour)
    for k, (name, (_, expected)) in enumerate(cases.items()):
        covers = start[k] <= end[k] and start[k] < len(times) and end[k] >= 0
        if expected is None:
            assert not covers, name
        else:
            assert (start[k], end[k]) == expected, name


def test_snapped_spans_label_the_candles_they_cover(kit) -> None:
    raw = kit.candles(10, times=[kit.t(i) for i in (0, 1, 2, 3, 4, 8, 9, 10, 11, 12)])
    annotations = [
        kit.ann("bull_flag", 0, 0, id="gap", start_time=kit.t(2) + 1799, end_time=kit.t(6)),
        kit.ann("double_top", 0, 0, id="in-gap", start_time=kit.t(5), end_time=kit.t(7)),
    ]
    result = label_partition(kit.enriched(raw), raw, annotations, EURUSD_1H, kit.config())
    assert result.frame["tag"].tolist() == [
        "O",
        "O",
        "B-bull_flag",
        "I-bull_flag",
        "I-bull_flag",
        "O",
        "O",
        "O",
        "O",
        "O",
    ]
    assert [(s.id, s.kinds) for s in result.skipped] == [("in-gap", ("outside_candles",))]


def test_millisecond_times_get_a_hint(kit) -> None:
    annotation = kit.ann("bull_flag", 0, 0, id="ms", start_time=kit.t(2) * 1000, end_time=kit.t(4) * 1000)
    result = _label(kit, [annotation])
    assert "are the times epoch milliseconds? the export uses seconds" in result.skipped[0].reason
