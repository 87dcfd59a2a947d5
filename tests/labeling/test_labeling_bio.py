"""BIO tags: exact tags on hand-built spans, overlap tracks, and the BIO file from label_partition."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ml_platform.labeling import Spans, assign_tracks, encode_bio, label_partition
from ml_platform.labeling.bio import training_tags
from ml_platform.partitions import Partition
from ml_platform.training.evaluation import bio_spans

EURUSD_1H = Partition("EURUSD", "1h")


def tags(spans: Spans, n: int) -> list[list[str]]:
    codes = encode_bio(spans, n)
    return [codes.tags(track).tolist() for track in range(codes.n_tracks)]


def test_spans_at_the_first_and_last_candle(kit) -> None:
    assert tags(kit.spans((0, 1, "a"), (4, 5, "b")), 6) == [["B-a", "I-a", "O", "O", "B-b", "I-b"]]
    assert tags(kit.spans((0, 0, "a"), (5, 5, "a")), 6) == [["B-a", "O", "O", "O", "O", "B-a"]]
    assert tags(kit.spans((0, 5, "a")), 6) == [["B-a", "I-a", "I-a", "I-a", "I-a", "I-a"]]


def test_overlapping_spans_go_to_a_second_column(kit) -> None:
    assert tags(kit.spans((1, 4, "a"), (3, 6, "b")), 8) == [
        ["O", "B-a", "I-a", "I-a", "I-a", "O", "O", "O"],
        ["O", "O", "O", "B-b", "I-b", "I-b", "I-b", "O"],
    ]


def test_adjacent_spans_with_the_same_label_stay_two_spans(kit) -> None:
    assert tags(kit.spans((0, 2, "a"), (3, 5, "a")), 6) == [["B-a", "I-a", "I-a", "B-a", "I-a", "I-a"]]


def test_three_deep_overlap_needs_three_columns_and_tracks_are_reused(kit) -> None:
    spans = kit.spans((0, 9, "a"), (2, 3, "b"), (3, 5, "c"), (4, 4, "d"), (10, 11, "e"))
    assert assign_tracks(spans).tolist() == [0, 1, 2, 1, 0]
    result = tags(spans, 12)
    assert len(result) == 3
    assert result[1] == ["O", "O", "B-b", "I-b", "B-d", "O", "O", "O", "O", "O", "O", "O"]
    assert result[2] == ["O", "O", "O", "B-c", "I-c", "I-c", "O", "O", "O", "O", "O", "O"]


def test_greedy_tracks_use_as_few_columns_as_the_deepest_overlap(kit) -> None:
    # [0,10] and [11,20] fit on one track beside [5,12]: two columns, not three.
    assert assign_tracks(kit.spans((0, 10, "a"), (5, 12, "x"), (11, 20, "b"))).tolist() == [0, 1, 0]


def test_the_order_of_the_input_does_not_change_the_tags(kit) -> None:
    items = [(2, 5, "b"), (2, 3, "a"), (4, 8, "c"), (9, 9, "a")]
    expected = tags(kit.spans(*items), 10)
    assert expected[0][:4] == ["O", "O", "B-a", "I-a"]  # (start, end, label, id) order: the shorter span first
    for permutation in itertools.permutations(items):
        spans = kit.spans(*permutation)
        assert tags(spans.take(np.argsort([p[0] * 100 + p[1] for p in permutation])), 10) == expected
        assert tags(spans, 10) == expected


def test_no_span_gives_one_column_of_o(kit) -> None:
    assert tags(Spans.empty(), 3) == [["O", "O", "O"]]


def test_negative_spans_and_out_of_range_indices_are_rejected(kit) -> None:
    with pytest.raises(ValueError, match="positive spans only"):
        encode_bio(kit.spans((0, 1, "O")), 3)
    with pytest.raises(ValueError, match="n_candles=3"):
        encode_bio(kit.spans((2, 3, "a")), 3)


def test_bio_file_keeps_every_enriched_row_and_column_in_order(kit) -> None:
    raw = kit.candles(12)
    enriched = kit.enriched(raw, warmup=2)  # rows are raw candles 2..11
    annotations = [
        kit.ann("bull_flag", 1, 3),  # starts in the warm-up: the first row shows I-
        kit.ann("double_top", 5, 6),
        kit.ann("bull_flag", 7, 8),  # adjacent, other label
        kit.ann("double_top", 6, 9),  # overlaps both: second column
        kit.ann("bull_flag", 11, 11),  # the last candle
    ]
    result = label_partition(enriched, raw, annotations, EURUSD_1H, kit.config())
    frame = result.frame
    assert list(frame.columns) == [*enriched.columns, "tag", "tag_2", "label_known"]
    assert len(frame) == len(enriched) and frame["time"].tolist() == enriched["time"].tolist()
    assert frame["tag"].tolist() == [
        "I-bull_flag",
        "I-bull_flag",
        "O",
        "B-double_top",
        "I-double_top",
        "B-bull_flag",
        "I-bull_flag",
        "O",
        "O",
        "B-bull_flag",
    ]
    assert frame["tag_2"].tolist() == [
        "O",
        "O",
        "O",
        "O",
        "B-double_top",
        "I-double_top",
        "I-double_top",
        "I-double_top",
        "O",
        "O",
    ]
    assert frame["label_known"].all()
    assert result.skipped == []


def test_training_tags_keep_the_second_of_two_patterns_sharing_a_candle() -> None:
    # Bullish engulfing on candles 1-2, bearish engulfing on 2-3: the second goes to track 2 whole.
    spans = Spans.build([1, 2], [2, 3], ["bullish_engulfing", "bearish_engulfing"], ["programmatic"] * 2, ["a", "b"])
    codes = encode_bio(spans, 5)
    tracks = [codes.tags(track) for track in range(codes.codes.shape[0])]
    assert list(tracks[0]) == ["O", "B-bullish_engulfing", "I-bullish_engulfing", "O", "O"]
    merged = training_tags(tracks)
    assert list(merged) == ["O", "B-bullish_engulfing", "I-bullish_engulfing", "I-bearish_engulfing", "O"]
    assert [(s.label, s.start, s.end) for s in bio_spans(list(merged))] == [
        ("bullish_engulfing", 1, 2),
        ("bearish_engulfing", 3, 3),
    ]


def test_training_tags_need_a_track() -> None:
    with pytest.raises(ValueError, match="no tag track"):
        training_tags([])
