"""IoU-aware scoring (`DetectorSettings.iou_scoring`): regression targets, NMS ranking, a fitted detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import TrainingConfig, XGBoostParams
from ml_platform.shapes.detector import META_FILE, SpanDetector
from ml_platform.shapes.nms import non_max_suppression
from ml_platform.shapes.quality import IOU_MODEL_FILE, iou_targets, rank_scores
from ml_platform.shapes.settings import DetectorSettings
from ml_platform.training.evaluation import Span, match_spans
from tests.shapes.synthetic import planted_series

SMALL = TrainingConfig(xgboost=XGBoostParams(n_estimators=60, max_depth=4))


def test_iou_targets_are_each_candidates_best_overlap_with_an_annotated_span() -> None:
    cand_start = np.array([0, 0, 5, 30, 50, 56])
    cand_end = np.array([9, 19, 14, 39, 59, 70])
    span_start, span_end = np.array([0, 50]), np.array([9, 64])  # 10 and 15 candles
    targets = iou_targets(cand_start, cand_end, span_start, span_end)
    # exact; half of 0..19; 5 of 15 candles; none; 10 of 15; 9 of 21 (50..70) with the second span
    assert np.allclose(targets, [1.0, 0.5, 5 / 15, 0.0, 10 / 15, 9 / 21])
    assert np.array_equal(iou_targets(cand_start, cand_end, np.zeros(0, int), np.zeros(0, int)), np.zeros(6))


def test_ranking_by_predicted_iou_keeps_the_better_aligned_of_two_overlapping_candidates() -> None:
    start, end = np.array([10, 12]), np.array([40, 30])  # IoU 19/31: NMS keeps one of them
    confidence = np.array([0.9, 0.8])  # the classifier slightly prefers the badly placed one
    predicted_iou = np.array([0.4, 0.9])
    assert non_max_suppression(start, end, rank_scores(confidence, None), iou_threshold=0.1).tolist() == [0]
    assert non_max_suppression(start, end, rank_scores(confidence, predicted_iou), iou_threshold=0.1).tolist() == [1]
    assert np.allclose(rank_scores(confidence, predicted_iou), [0.36, 0.72])


@pytest.fixture(scope="module")
def fitted() -> SpanDetector:
    train = [planted_series(2500, seed=seed) for seed in (11, 12, 13)]
    settings = DetectorSettings(iou_scoring=True)
    return SpanDetector.fit(train, settings=settings, model_type="xgboost", seed=7, training=SMALL)


def test_the_iou_regressor_learns_how_well_a_candidate_is_placed(fitted: SpanDetector) -> None:
    candles, spans = planted_series(2500, seed=99)
    scored = fitted.score(candles)
    assert scored["iou"].between(0.0, 1.0).all()
    true_iou = iou_targets(scored["start"].to_numpy(), scored["end"].to_numpy(), spans["start"], spans["end"])
    assert np.corrcoef(scored["iou"], true_iou)[0, 1] > 0.6
    predicted = fitted.predict(candles)
    as_spans = [[Span(str(r.label), int(r.start), int(r.end)) for r in f.itertuples()] for f in (spans, predicted)]
    assert match_spans(*as_spans)["span_f1"] > 0.7


def test_a_saved_iou_scoring_detector_predicts_the_same(fitted: SpanDetector, tmp_path: Path) -> None:
    candles, _ = planted_series(1500, seed=98)
    folder = fitted.save(tmp_path / "detector")
    assert (folder / IOU_MODEL_FILE).is_file()
    loaded = SpanDetector.load(folder)
    pd.testing.assert_frame_equal(loaded.score(candles), fitted.score(candles))
    pd.testing.assert_frame_equal(loaded.predict(candles), fitted.predict(candles))
    (folder / IOU_MODEL_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=IOU_MODEL_FILE):
        SpanDetector.load(folder)


def test_without_the_option_nothing_changes(tmp_path: Path) -> None:
    assert DetectorSettings().iou_scoring is False
    candles, spans = planted_series(1500, seed=5)
    detector = SpanDetector.fit([(candles, spans)], seed=7, training=SMALL)
    assert detector.iou_model is None
    assert list(detector.score(candles).columns) == ["start", "end", "label", "confidence", "outside"]
    folder = detector.save(tmp_path / "plain")
    assert not (folder / IOU_MODEL_FILE).exists()
    assert b"iou_model_file" in (folder / META_FILE).read_bytes()
    assert SpanDetector.load(folder).iou_model is None
