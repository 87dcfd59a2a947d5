"""Ranking on hand-built probabilities, disagreements, conflicts and coverage; the reviewed bookkeeping."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from ml_platform.inference.results import CandlePredictions
from ml_platform.review import (
    ReviewQueue,
    ReviewSettings,
    build_review_queue,
    mark_reviewed,
    queue_table,
    view_from_candle_predictions,
)
from ml_platform.review.components import entropy
from ml_platform.review.disagreements import SpanArrays, find_conflicts, find_disagreements
from tests.review.helpers import predictions, spans, times, view

N = 1000


def item_at(queue: ReviewQueue, start: int, end: int):
    found = [i for i in queue.items if i.start == start and i.end == end]
    return found[0] if found else None


def test_an_uncertain_stretch_outranks_a_confident_one() -> None:
    v = view(
        N,
        [(100, 130, "double_top", 0.45, 0.50), (600, 630, "double_top", 0.01, 0.99)],
        [(600, 630, "double_top", 0.9)],
    )
    # both places are annotated the same way (agreement at 600, a negative at 100): only uncertainty differs
    human = spans((100, 130, "O"), (600, 630, "double_top"))
    queue = build_review_queue(times(N), v, human)
    uncertain, confident = item_at(queue, 100, 130), item_at(queue, 600, 630)
    assert uncertain is not None and confident is not None
    assert uncertain.rank < confident.rank
    assert uncertain.reason == "uncertainty"
    assert uncertain.components["uncertainty"] > 0.5 > confident.components["uncertainty"]


NO_TILES = {"coverage_min_gap": 10_000}  # with something annotated, no coverage tiles: the hand-built stretches compete
FAR = spans((990, 999, "O"))


def order_of(queue: ReviewQueue) -> list[int]:
    return [i.start for i in queue.items]


def test_the_batch_does_not_spend_two_answers_on_neighbours() -> None:
    # two equally uncertain stretches side by side, a slightly less uncertain one far away
    v = view(
        N,
        [(100, 130, "double_top", 0.5, 0.5), (170, 200, "double_top", 0.49, 0.51), (700, 730, "double_top", 0.3, 0.7)],
    )
    batch = build_review_queue(times(N), v, FAR, settings=ReviewSettings(**NO_TILES), limit=3)
    assert order_of(batch) == [100, 700, 170]
    neighbour = item_at(batch, 170, 200)
    assert neighbour is not None  # its coverage counts the 39 candles to the first item, not the 789 to 990
    assert neighbour.components["coverage"] == pytest.approx(1 - np.exp(-39 / 200))
    static = build_review_queue(
        times(N), v, FAR, settings=ReviewSettings(**NO_TILES, batch=False, balance=False), limit=3
    )
    assert order_of(static) == [100, 170, 700]
    neighbour = item_at(static, 170, 200)
    assert neighbour is not None and neighbour.components["coverage"] == pytest.approx(1 - np.exp(-789 / 200))


def test_labels_people_marked_often_wait_behind_rare_ones() -> None:
    marked = [(900 + 10 * k, 905 + 10 * k, "double_top") for k in range(5)]
    v = view(
        N,
        [(400, 430, "double_top", 0.50, 0.50), (600, 630, "bull_flag", 0.52, 0.48)],
        [(900 + 10 * k, 905 + 10 * k, "double_top", 0.9) for k in range(5)],  # agreement: no disagreement there
    )
    no_coverage = {**NO_TILES, "weights": {"uncertainty": 1.0, "disagreement": 1.0, "conflict": 0.5, "coverage": 0.0}}
    balanced = build_review_queue(times(N), v, spans(*marked), settings=ReviewSettings(**no_coverage))
    common, rare = item_at(balanced, 400, 430), item_at(balanced, 600, 630)
    assert common is not None and rare is not None and rare.rank < common.rank
    # the uncertainty of a double top is divided by 1 + 5 marked ones (bull flags: none marked)
    assert common.components["uncertainty"] == pytest.approx(entropy(np.array([[0.5, 0.5, 0.0]]))[0] / 6)
    plain = build_review_queue(times(N), v, spans(*marked), settings=ReviewSettings(**no_coverage, balance=False))
    common, rare = item_at(plain, 400, 430), item_at(plain, 600, 630)
    assert common is not None and rare is not None and common.rank < rare.rank


def test_a_batch_balances_the_labels_it_asks_about() -> None:
    v = view(
        N,
        [(100, 130, "double_top", 0.5, 0.5), (500, 530, "double_top", 0.5, 0.5), (800, 830, "bull_flag", 0.6, 0.4)],
    )
    no_coverage = {**NO_TILES, "weights": {"uncertainty": 1.0, "coverage": 0.0}}
    balanced = build_review_queue(times(N), v, FAR, settings=ReviewSettings(**no_coverage), limit=3)
    assert order_of(balanced) == [100, 800, 500]  # the second double top waits: one is already asked
    plain = build_review_queue(times(N), v, FAR, settings=ReviewSettings(**no_coverage, balance=False), limit=3)
    assert order_of(plain) == [100, 500, 800]


def test_a_missed_human_span_outranks_agreement() -> None:
    v = view(
        N, [(100, 130, "bull_flag", 0.02, 0.98), (600, 630, "bull_flag", 0.95, 0.04)], [(600, 630, "bull_flag", 0.95)]
    )
    human = spans((100, 130, "double_top"), (600, 630, "bull_flag"))
    queue = build_review_queue(times(N), v, human)
    missed, agreed = item_at(queue, 100, 130), item_at(queue, 600, 630)
    assert missed is not None and agreed is not None
    assert missed.rank < agreed.rank
    assert missed.reason == "disagreement" and missed.disagreement == "missed_by_model"
    assert missed.prediction == "O" and agreed.prediction == "bull_flag"
    assert agreed.components["disagreement"] == 0.0


def test_a_human_span_outside_the_predicted_range_is_not_missed() -> None:
    human = SpanArrays.from_frame(spans((100, 130, "double_top")), where="t")
    predicted = SpanArrays.from_frame(predictions(), where="t")
    assert find_disagreements(human, predicted).kind.tolist() == ["missed_by_model"]
    assert len(find_disagreements(human, predicted, predicted_range=(200, 999))) == 0


def test_the_three_kinds_of_disagreement() -> None:
    human = SpanArrays.from_frame(spans((100, 130, "double_top"), (300, 330, "O"), (500, 530, "bull_flag")), where="t")
    predicted = SpanArrays.from_frame(
        predictions((300, 330, "bull_flag", 0.8), (500, 530, "double_top", 0.7), (800, 830, "bull_flag", 0.9)),
        where="t",
    )
    found = find_disagreements(human, predicted)
    assert list(zip(found.start.tolist(), found.kind.tolist(), strict=True)) == [
        (100, "missed_by_model"),
        (500, "label_mismatch"),
        (800, "missed_by_human"),
    ]  # the prediction at 300 was dismissed by a negative annotation


def test_a_cdl_vs_human_conflict_counts() -> None:
    v = view(N, [(200, 230, "double_top", 0.01, 0.99), (600, 630, "double_top", 0.01, 0.99)])
    human = spans((200, 230, "O"), (600, 630, "O"))
    cdl = spans((210, 211, "bullish_engulfing"))
    queue = build_review_queue(times(N), v, human, programmatic=cdl)
    conflicted, quiet = item_at(queue, 200, 230), item_at(queue, 600, 630)
    assert conflicted is not None and quiet is not None
    assert conflicted.components["conflict"] == pytest.approx(0.5) and quiet.components["conflict"] == 0.0
    assert conflicted.rank < quiet.rank and conflicted.reason == "conflict"


def test_a_chart_pattern_over_a_candlestick_pattern_is_no_conflict() -> None:
    human = SpanArrays.from_frame(spans((200, 230, "double_top"), (400, 401, "bullish_engulfing")), where="t")
    cdl = SpanArrays.from_frame(spans((210, 211, "bullish_engulfing"), (500, 501, "bearish_engulfing")), where="t")
    start, end = find_conflicts(human, cdl)
    # only the engulfing a person marked where TA-Lib saw none
    assert start.tolist() == [400] and end.tolist() == [401]


def test_coverage_stretches_appear_where_nothing_is_annotated() -> None:
    n = 2000
    v = view(n, [(50, 80, "double_top", 0.01, 0.99)])
    human = spans((0, 300, "O"))
    settings = ReviewSettings()
    queue = build_review_queue(times(n), v, human, settings=settings, limit=None)
    coverage = [i for i in queue.items if i.source == "coverage"]
    assert coverage, "unannotated candles got no coverage stretch"
    assert all(i.start >= 300 + settings.coverage_min_gap for i in coverage)
    far = max(coverage, key=lambda i: i.start)
    assert far.components["coverage"] > 0.9 and far.reason == "coverage"
    assert all(i.end - i.start + 1 <= settings.coverage_length for i in coverage)


def test_a_reviewed_stretch_leaves_and_returns_when_the_answer_changes() -> None:
    t = times(N)
    human = spans((0, 90, "O"), (140, 999, "O"))  # annotated around: no coverage stretch competes
    before = view(N, [(100, 130, "double_top", 0.40, 0.55)], [])
    first = build_review_queue(t, before, human)
    top = first.items[0]
    assert (top.start, top.end) == (100, 130)
    record = mark_reviewed(top.start, top.end, times=t, view=before)
    assert record.fingerprint == top.fingerprint == "O@0.25"

    unchanged = build_review_queue(t, before, human, reviewed=[record])
    assert item_at(unchanged, 100, 130) is None and unchanged.hidden >= 1

    nudged = view(N, [(100, 130, "double_top", 0.45, 0.50)], [])  # same answer, same bucket
    assert item_at(build_review_queue(t, nudged, human, reviewed=[record]), 100, 130) is None

    changed = view(N, [(100, 130, "double_top", 0.80, 0.15)], [(100, 130, "double_top", 0.80)])
    back = item_at(build_review_queue(t, changed, human, reviewed=[record]), 100, 130)
    assert back is not None and back.reentered and back.prediction == "double_top"


def test_the_queue_is_json_and_a_table() -> None:
    v = view(N, [(100, 130, "double_top", 0.45, 0.50)], [(100, 130, "double_top", 0.45)])
    queue = build_review_queue(times(N), v, spans(), limit=3)
    decoded = msgspec.json.decode(queue.to_json(), type=ReviewQueue)
    assert decoded == queue and len(queue.items) <= 3
    assert [i.rank for i in queue.items] == list(range(1, len(queue.items) + 1))
    table = queue_table(queue, top=2)
    assert table.count("\n") == 3 and "uncertainty" in table.splitlines()[0]


def test_errors_name_the_value_and_the_fix() -> None:
    v = view(N, [(100, 130, "double_top", 0.45, 0.50)])
    with pytest.raises(ValueError, match=r"990..1005 is not within 0..999"):
        build_review_queue(times(N), v, spans((990, 1005, "double_top")))
    with pytest.raises(ValueError, match="strictly ascending"):
        build_review_queue(times(N)[::-1], v, spans())
    with pytest.raises(ValueError, match="not within"):
        mark_reviewed(5, 1200, times=times(N), view=v)


def test_a_per_candle_model_feeds_the_queue() -> None:
    classes = ("O", "B-bull_flag", "I-bull_flag")
    ids = np.zeros(N, dtype=np.int64)
    ids[200], ids[201:220] = 1, 2
    conf = np.full(N, 0.98)
    conf[400:420] = 0.5  # unsure candles
    predictions_ = CandlePredictions(
        n_candles=N,
        indices=np.arange(N, dtype=np.int64),
        times=times(N),
        class_ids=ids,
        confidences=conf,
        classes=classes,
        unlabeled_leading=0,
        unlabeled_trailing=0,
    )
    v = view_from_candle_predictions(predictions_)
    assert v.predicted.start.tolist() == [200] and v.predicted.end.tolist() == [219]
    queue = build_review_queue(times(N), v, spans((0, 150, "O")))
    assert item_at(queue, 200, 219) is not None  # found by the model only
    assert any(i.components["uncertainty"] == pytest.approx(1.0) for i in queue.items)
