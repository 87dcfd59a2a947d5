"""Non-maximum suppression of scored spans, and spans <-> per-candle BIO tags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_platform.shapes.nms import non_max_suppression, span_iou
from ml_platform.shapes.tags import spans_to_tags, tags_to_spans


def _nms(spans: list[tuple[int, int, float]], iou: float = 0.3) -> list[int]:
    start, end, confidence = (np.asarray(v) for v in zip(*spans, strict=True))
    return non_max_suppression(start, end, confidence, iou_threshold=iou).tolist()


def test_the_more_confident_of_two_overlapping_spans_wins() -> None:
    assert _nms([(0, 9, 0.6), (1, 10, 0.9)]) == [1]


def test_spans_that_do_not_overlap_enough_all_stay_most_confident_first() -> None:
    assert _nms([(0, 9, 0.5), (20, 29, 0.7), (8, 17, 0.6)]) == [1, 2, 0]  # 8..17 vs 0..9: IoU 2/18


def test_the_threshold_is_exclusive_and_configurable() -> None:
    spans = [(0, 9, 0.9), (5, 14, 0.8)]  # IoU 5/15 = 1/3
    assert _nms(spans, iou=1 / 3) == [0, 1]
    assert _nms(spans, iou=0.3) == [0]
    assert _nms(spans, iou=0.0) == [0]
    assert _nms([(0, 9, 0.9), (0, 9, 0.8)], iou=1.0) == [0, 1]


def test_a_suppressed_span_suppresses_nothing() -> None:
    # A beats B, B would beat C, but A and C do not overlap: A and C stay
    assert _nms([(0, 9, 0.9), (4, 13, 0.8), (9, 18, 0.7)]) == [0, 2]  # IoU 6/14, 5/15, 1/19


def test_suppression_works_across_labels_and_long_spans() -> None:
    # a long span far to the left still reaches the window of a later one
    assert _nms([(0, 99, 0.5), (50, 99, 0.9), (200, 210, 0.1)]) == [1, 2]


def test_nms_edge_cases() -> None:
    assert non_max_suppression(np.zeros(0), np.zeros(0), np.zeros(0)).tolist() == []
    with pytest.raises(ValueError, match="one value per span"):
        non_max_suppression(np.array([0]), np.array([1, 2]), np.array([0.5]))
    assert span_iou(np.array([0, 10]), np.array([9, 19]), 5, 14).tolist() == [5 / 15, 5 / 15]


SPANS = pd.DataFrame({"start": [2, 8, 15], "end": [5, 12, 19], "label": ["a", "b", "a"]})


def test_spans_to_tags_to_spans_round_trip() -> None:
    tags = spans_to_tags(SPANS, 22)
    assert tags[:9].tolist() == ["O", "O", "B-a", "I-a", "I-a", "I-a", "O", "O", "B-b"]
    back = tags_to_spans(tags)
    pd.testing.assert_frame_equal(back, SPANS.astype({"start": np.int64, "end": np.int64}))
    adjacent = pd.DataFrame({"start": [0, 4], "end": [3, 7], "label": ["a", "a"]})
    pd.testing.assert_frame_equal(tags_to_spans(spans_to_tags(adjacent, 8)), adjacent.astype({"start": np.int64}))


def test_tags_to_spans_to_tags_round_trip() -> None:
    tags = ["O", "B-a", "I-a", "B-a", "O", "B-b", "I-b", "I-b"]
    assert spans_to_tags(tags_to_spans(tags), len(tags)).tolist() == tags
    assert len(tags_to_spans(["O", "O"])) == 0


def test_overlapping_spans_give_contested_candles_to_the_more_confident() -> None:
    spans = pd.DataFrame(
        {"start": [0, 4, 10], "end": [7, 13, 12], "label": ["a", "b", "c"], "confidence": [0.5, 0.9, 0.7]}
    )
    tags = spans_to_tags(spans, 15).tolist()
    assert tags == ["B-a", "I-a", "I-a", "I-a", "B-b"] + ["I-b"] * 9 + ["O"]
    assert tags_to_spans(tags)[["start", "end"]].values.tolist() == [[0, 3], [4, 13]]  # c lost every candle


def test_a_span_split_by_a_more_confident_one_keeps_both_parts() -> None:
    spans = pd.DataFrame({"start": [0, 4], "end": [9, 5], "label": ["a", "b"], "confidence": [0.5, 0.9]})
    assert tags_to_spans(spans_to_tags(spans, 10)).values.tolist() == [[0, 3, "a"], [4, 5, "b"], [6, 9, "a"]]


def test_spans_to_tags_rejects_spans_outside_the_series() -> None:
    with pytest.raises(ValueError, match=r"span 0 \(5..12\) is not within 0..9"):
        spans_to_tags(pd.DataFrame({"start": [5], "end": [12], "label": ["a"]}), 10)
