"""Candidate spans: pivot runs at several scales, length filter, dedup, matching and recall."""

from __future__ import annotations

import time

import msgspec
import numpy as np
import pytest

from ml_platform.shapes.candidates import (
    breakout_candles,
    length_range,
    match_candidates,
    proposal_recall,
    propose,
    propose_candidates,
    span_best_iou,
)
from ml_platform.shapes.pivots import Pivots
from ml_platform.shapes.rules import detect_shapes
from ml_platform.shapes.settings import DetectorSettings
from tests.shapes.synthetic import candles_from_path, planted_series, segments

# a gentle fall into a double top (M) made of straight segments, then a rise away from it
DOUBLE_TOP_KNOTS = ([0, 40, 49, 55, 61, 70, 100], [110.0, 100.0, 120.0, 110.0, 120.0, 104.0, 115.0])
DOUBLE_TOP_SPAN = (40, 70)


def _arrays(candles):
    return candles["high"].to_numpy(), candles["low"].to_numpy(), candles["close"].to_numpy()


def _pivots(index: list[int]) -> Pivots:
    kind = np.where(np.arange(len(index)) % 2 == 0, -1, 1)
    return Pivots(np.asarray(index), kind, np.zeros(len(index)), np.asarray(index) + 1)


def test_a_straight_segment_double_top_has_a_candidate_matching_it() -> None:
    candles = candles_from_path(segments(*DOUBLE_TOP_KNOTS), wick=0.2)
    candidates, pivots = propose_candidates(*_arrays(candles), settings=DetectorSettings(), lengths=(20, 45))
    best = span_best_iou(candidates.start, candidates.end, np.array([40]), np.array([70]))
    assert best[0] >= 0.9
    assert len(pivots) == len(DetectorSettings().scales)


def test_propose_runs_of_pivots_within_the_length_range() -> None:
    fine = _pivots([0, 10, 20, 30, 40, 50])
    candidates = propose([fine], 60, min_pivots=3, max_pivots=4, min_length=15, max_length=31)
    # runs of 3 span 21 candles, runs of 4 span 31
    assert list(zip(candidates.start.tolist(), candidates.end.tolist(), strict=True)) == [
        (0, 20),
        (0, 30),
        (10, 30),
        (10, 40),
        (20, 40),
        (20, 50),
        (30, 50),
    ]
    assert (np.diff(candidates.start) >= 0).all()


def test_propose_drops_duplicates_and_keeps_the_finest_scale() -> None:
    fine, coarse = _pivots([0, 10, 20, 30]), _pivots([0, 20, 30, 40])
    candidates = propose([fine, coarse], 50, min_pivots=3, max_pivots=3, min_length=2, max_length=100)
    spans = zip(candidates.start.tolist(), candidates.end.tolist(), strict=True)
    pairs = dict(zip(spans, candidates.scale.tolist(), strict=True))
    assert pairs == {(0, 20): 0, (0, 30): 1, (10, 30): 0, (20, 40): 1}


def test_edge_shifts_add_variants_clipped_to_the_series() -> None:
    candidates = propose(
        [_pivots([0, 10, 20])],
        25,
        min_pivots=3,
        max_pivots=3,
        min_length=2,
        max_length=100,
        edge_shifts=(-0.1, 0.0, 0.1),
    )
    pairs = set(zip(candidates.start.tolist(), candidates.end.tolist(), strict=True))
    # length 21: shifts of 2 candles; a start of -2 is clipped to 0
    assert pairs == {(0, 18), (0, 20), (0, 22), (2, 18), (2, 20), (2, 22)}


def test_length_range_widens_the_annotated_lengths() -> None:
    assert length_range([20, 40, 30], margin=0.25) == (15, 50)
    assert length_range([3], margin=0.9) == (2, 6)
    with pytest.raises(ValueError, match="no annotated spans"):
        length_range([], margin=0.25)


def test_match_candidates_takes_the_best_span_above_the_threshold() -> None:
    start, end = np.array([0, 5, 10, 40]), np.array([9, 14, 19, 49])
    iou, best = match_candidates(start, end, np.array([0, 10]), np.array([9, 19]), min_iou=0.5)
    assert best.tolist() == [0, -1, 1, -1]  # 5..14 overlaps each span with IoU 1/3
    assert iou.tolist() == [1.0, 0.0, 1.0, 0.0]


def test_proposal_recall_on_planted_shapes_is_at_least_95_percent() -> None:
    candles, spans = planted_series(4000, seed=3)
    settings = DetectorSettings()
    lengths = length_range((spans["end"] - spans["start"] + 1).to_numpy(), margin=settings.length_margin)
    candidates, _ = propose_candidates(*_arrays(candles), settings=settings, lengths=lengths)
    recall = proposal_recall(candidates, spans["start"].to_numpy(), spans["end"].to_numpy())
    assert len(spans) >= 30
    assert recall >= 0.95
    assert proposal_recall(candidates, np.zeros(0), np.zeros(0)) == 1.0


def test_candidates_of_20k_candles_take_well_under_a_second() -> None:
    candles, _ = planted_series(20_000, seed=5)
    arrays = _arrays(candles)
    started = time.perf_counter()
    candidates, _ = propose_candidates(*arrays, settings=DetectorSettings(), lengths=(15, 60))
    assert time.perf_counter() - started < 1.0
    assert len(candidates) > 1000


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="min_pivots=5 > max_pivots=3"):
        DetectorSettings(min_pivots=5, max_pivots=3)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"scale": [1.0]}, DetectorSettings)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"scales": []}, DetectorSettings)
    assert msgspec.convert({"scales": [2.0, 4.0]}, DetectorSettings).scales == (2.0, 4.0)
    settings = DetectorSettings(mirror_labels={"double_top": "double_bottom"}, edge_shifts=(-0.1, 0.0))
    assert msgspec.json.decode(msgspec.json.encode(settings), type=DetectorSettings) == settings


def test_breakout_is_the_first_close_beyond_the_previous_pivot() -> None:
    # peaks at 10 (110) and 30 (108), troughs at 20 (100) and 40 (95)
    close = np.full(60, 104.0)
    close[10], close[20], close[30], close[40] = 110.0, 100.0, 108.0, 95.0
    close[35] = 99.0  # first close below the trough at 20 after the peak at 30
    close[45:] = 109.0  # above the peak at 30 after the trough at 40
    level = Pivots(
        np.array([10, 20, 30, 40]), np.array([1, -1, 1, -1]), np.array([110.0, 100.0, 108.0, 95.0]), np.zeros(4)
    )
    assert breakout_candles(level, close, max_length=30).tolist() == [-1, -1, 35, 45]
    # only the max_length candles after the pivot are searched
    assert breakout_candles(level, close, max_length=5).tolist() == [-1, -1, 35, 45]
    assert breakout_candles(level, close, max_length=4).tolist() == [-1, -1, -1, -1]


def test_propose_with_closes_adds_runs_ending_at_their_breakout() -> None:
    close = np.full(60, 104.0)
    close[35] = 99.0
    level = Pivots(np.array([10, 20, 30]), np.array([1, -1, 1]), np.array([110.0, 100.0, 108.0]), np.zeros(3))
    plain = propose([level], 60, min_pivots=3, max_pivots=3, min_length=5, max_length=40)
    with_breakout = propose([level], 60, min_pivots=3, max_pivots=3, min_length=5, max_length=40, close=close)
    assert list(zip(plain.start.tolist(), plain.end.tolist(), strict=True)) == [(10, 30)]
    assert list(zip(with_breakout.start.tolist(), with_breakout.end.tolist(), strict=True)) == [(10, 30), (10, 35)]
    only_breakouts = propose(
        [level], 60, min_pivots=3, max_pivots=3, min_length=5, max_length=40, close=close, pivot_ends=False
    )
    assert list(zip(only_breakouts.start.tolist(), only_breakouts.end.tolist(), strict=True)) == [(10, 35)]
    # without closes there are no breakouts, and the pivot runs stay whatever pivot_ends says
    assert len(propose([level], 60, min_pivots=3, max_pivots=3, min_length=5, max_length=40, pivot_ends=False)) == 1
    # a breakout span longer than max_length is dropped
    short = propose([level], 60, min_pivots=3, max_pivots=3, min_length=5, max_length=21, close=close)
    assert list(zip(short.start.tolist(), short.end.tolist(), strict=True)) == [(10, 30)]


def test_candidates_cover_the_rule_labels_of_hand_built_shapes() -> None:
    """Proposal recall >= 95% at IoU 0.5 on the rule labels of a series of hand-drawn shapes, exact with breakouts."""
    knots_x, knots_y, x = [0], [100.0], 0
    shapes = [  # (step, level) pairs: double top, double bottom, head and shoulders, flag
        [(20, 96.0), (20, 112.0), (8, 104.0), (8, 112.0), (14, 98.0)],
        [(12, 90.0), (8, 98.0), (8, 90.0), (14, 104.0)],
        [(16, 112.0), (6, 106.0), (12, 118.0), (12, 106.0), (6, 112.0), (12, 98.0)],
        [(8, 110.0), (10, 107.0), (5, 114.0)],
    ]
    for _ in range(3):
        for shape in shapes:
            for step, level in [*shape, (25, 100.0)]:
                x += step
                knots_x.append(x)
                knots_y.append(level)
    candles = candles_from_path(segments(knots_x, knots_y), wick=0.2)
    spans = detect_shapes(candles)
    assert len(spans) >= 9 and spans["label"].nunique() >= 3
    lengths = length_range((spans["end"] - spans["start"] + 1).to_numpy(), margin=0.25)
    start, end = spans["start"].to_numpy(), spans["end"].to_numpy()
    for breakout_ends in (True, False):
        settings = DetectorSettings(scales=(1.0, 1.5, 2.0, 2.5, 4.0, 6.0), breakout_ends=breakout_ends)
        candidates, _ = propose_candidates(*_arrays(candles), settings=settings, lengths=lengths)
        assert proposal_recall(candidates, start, end) >= 0.95
        best = span_best_iou(candidates.start, candidates.end, start, end)
        if breakout_ends:
            assert np.median(best) == 1.0
