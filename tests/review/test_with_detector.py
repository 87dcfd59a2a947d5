"""The queue over a fitted span detector on a little sample data: the wrappers' path, end to end."""

from __future__ import annotations

import msgspec
import numpy as np
import pandas as pd
import pytest

from ml_platform.config import TrainingConfig
from ml_platform.review import ReviewQueue, build_review_queue, mark_reviewed, view_from_detector
from ml_platform.review.intervals import distance_to
from ml_platform.sample_data import generate_partition
from ml_platform.shapes.detector import SpanDetector


def test_queue_over_a_fitted_detector() -> None:
    candles, planted = generate_partition("EURUSD", "1h", 2000, 7)
    spans = pd.DataFrame(
        [(s.start_index, s.end_index, s.label) for s in planted if s.end_index < 1000],
        columns=["start", "end", "label"],
    )
    base = TrainingConfig()
    small = msgspec.structs.replace(base, xgboost=msgspec.structs.replace(base.xgboost, n_estimators=20, max_depth=3))
    detector = SpanDetector.fit([(candles, spans)], seed=0, training=small, n_jobs=1)
    view = view_from_detector(detector, candles)
    times = candles["time"].to_numpy(np.int64)
    queue = build_review_queue(times, view, spans, limit=20)
    assert queue.items and len(queue.items) <= 20
    scores = [i.score for i in queue.items]
    assert scores == sorted(scores, reverse=True)
    assert sum(i.start >= 1000 for i in queue.items) > len(queue.items) / 2  # the unannotated half comes first
    for k, item in enumerate(queue.items):  # coverage counts the annotations and the items ranked above
        near = distance_to(
            np.asarray([item.start]),
            np.asarray([item.end]),
            np.asarray([*spans["start"], *(i.start for i in queue.items[:k])]),
            np.asarray([*spans["end"], *(i.end for i in queue.items[:k])]),
        )[0]
        assert item.components["coverage"] == pytest.approx(1 - np.exp(-near / 200))
    top = queue.items[0]
    assert times[top.start] == top.start_time and times[top.end] == top.end_time
    record = mark_reviewed(top.start, top.end, times=times, view=view)
    again = build_review_queue(times, view, spans, reviewed=[record], limit=20)
    assert (top.start, top.end) not in {(i.start, i.end) for i in again.items}
    assert msgspec.json.decode(again.to_json(), type=ReviewQueue) == again
