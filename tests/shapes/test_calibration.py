"""The threshold chosen on held-out labels (`DetectorSettings.calibration`): split, sweep, fit. Real XGBoost."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import TrainingConfig, XGBoostParams
from ml_platform.shapes.calibration import (
    MIN_SPANS,
    THRESHOLDS,
    _choose,
    best_threshold,
    fold_series,
    split_series,
)
from ml_platform.shapes.detector import SpanDetector
from ml_platform.shapes.settings import DetectorSettings
from ml_platform.training.evaluation import Span, match_spans
from tests.shapes.synthetic import planted_series

SMALL = TrainingConfig(xgboost=XGBoostParams(n_estimators=60, max_depth=4))


def _candles(n: int) -> pd.DataFrame:
    return pd.DataFrame({"close": np.arange(n, dtype=float)})


def _spans(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["start", "end", "label"])


def test_one_series_is_cut_in_time_and_spans_across_the_cut_are_left_out() -> None:
    spans = _spans([(10, 20, "a"), (70, 80, "b"), (85, 95, "c")])
    fitted, held_out = split_series([(_candles(100), spans)], 0.25)
    assert [len(c) for c, _ in fitted] == [75] and [len(c) for c, _ in held_out] == [25]
    assert fitted[0][1].values.tolist() == [[10, 20, "a"]]
    assert held_out[0][1].values.tolist() == [[10, 20, "c"]]  # 85..95, shifted to the held-out part
    assert held_out[0][0]["close"].iloc[0] == 75


def test_several_series_are_held_out_whole_from_the_end() -> None:
    series = [
        (_candles(100), _spans([(10, 20, "a")])),
        (_candles(50), _spans([(5, 9, "b")])),
        (_candles(50), _spans([])),
    ]
    fitted, held_out = split_series(series, 0.4)  # 80 candles: the last series and 30 of the one before
    assert [len(c) for c, _ in fitted] == [100, 20] and [len(c) for c, _ in held_out] == [30, 50]
    assert fitted[1][1].values.tolist() == [[5, 9, "b"]]
    assert held_out[0][1].empty


def test_folds_hold_every_candle_out_once_and_cut_series_around_the_block() -> None:
    series = [
        (_candles(100), _spans([(10, 20, "a"), (55, 65, "b")])),
        (_candles(50), _spans([(5, 9, "c"), (30, 40, "d")])),
    ]
    splits = [fold_series(series, 3, f) for f in range(3)]  # blocks 0..49, 50..99, 100..149
    held = [[(int(c["close"].iloc[0]), len(c)) for c, _ in h] for _, h in splits]
    assert held == [[(0, 50)], [(50, 50)], [(0, 50)]]  # the third block is the second series whole
    fitted, held_out = splits[1]  # the middle of the first series held out: before and after are fitted apart
    assert [len(c) for c, _ in fitted] == [50, 50] and fitted[0][1].values.tolist() == [[10, 20, "a"]]
    assert fitted[1][1].values.tolist() == [[5, 9, "c"], [30, 40, "d"]]
    assert held_out[0][1].values.tolist() == [[5, 15, "b"]]  # 55..65 in the held-out block's positions
    assert sum(len(s) for _, h in splits for _, s in h) == 4  # every span is held out once


def test_folded_calibration_calibrates_a_history_the_last_share_leaves_too_few_spans(series, caplog) -> None:
    candles, spans = series[0]
    last = int(spans["end"].max())
    few = spans[spans["end"] < last - 400]  # as below: the last 400 candles hold no span
    with caplog.at_level(logging.INFO, logger="ml_platform.shapes.calibration"):
        detector = SpanDetector.fit(
            [(candles.iloc[: last + 1], few)],
            settings=DetectorSettings(calibration=0.1, calibration_folds=3, threshold=0.42),
            training=SMALL,
        )
    assert detector.settings.threshold in THRESHOLDS  # chosen, not the configured 0.42
    assert f"on {len(few)} held-out spans" in caplog.text  # each span held out once (none cut at these folds)


@pytest.fixture(scope="module")
def series() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return [planted_series(2500, seed=seed) for seed in (21, 22, 23, 24)]


def test_the_sweep_takes_the_threshold_with_the_best_held_out_f1(series) -> None:
    detector = SpanDetector.fit(series[:2], seed=7, training=SMALL)
    held_out = series[2:]
    threshold, f1 = best_threshold(detector, held_out, preferred=0.5)
    assert threshold in THRESHOLDS
    assert f1 == pytest.approx(_f1_at(detector, held_out, threshold))
    assert f1 >= max(_f1_at(detector, held_out, t) for t in (0.1, 0.5, 0.9)) - 1e-12


def _f1_at(detector: SpanDetector, held_out: list[tuple[pd.DataFrame, pd.DataFrame]], t: float) -> float:
    truth, predicted = [], []
    for k, (candles, spans) in enumerate(held_out):
        truth += [Span(r.label, r.start + k * 10**7, r.end + k * 10**7) for r in spans.itertuples()]
        found = detector.predict(candles, threshold=t)
        predicted += [Span(r.label, r.start + k * 10**7, r.end + k * 10**7) for r in found.itertuples()]
    return float(match_spans(truth, predicted)["span_f1"])


def test_a_tolerance_takes_the_highest_threshold_within_it_of_the_best_held_out_f1(series) -> None:
    detector = SpanDetector.fit(series[:2], seed=7, training=SMALL)
    held_out = series[2:]
    best, best_f1 = best_threshold(detector, held_out, preferred=0.5)
    leaning, leaning_f1 = best_threshold(detector, held_out, preferred=0.5, tolerance=0.05)
    f1_by_threshold = {t: _f1_at(detector, held_out, t) for t in THRESHOLDS}
    assert best_f1 == pytest.approx(max(f1_by_threshold.values()))
    within = [t for t, f1 in f1_by_threshold.items() if f1 >= best_f1 - 0.05 - 1e-9]
    assert leaning == max(within) >= best
    assert leaning_f1 == pytest.approx(f1_by_threshold[leaning])
    assert leaning_f1 >= best_f1 - 0.05 - 1e-9


def test_the_tolerance_picks_above_the_best_only_inside_it() -> None:
    sweep = [(0.3, 0.70), (0.4, 0.72), (0.5, 0.72), (0.6, 0.69), (0.7, 0.66), (0.8, 0.40)]
    assert _choose(sweep, preferred=0.5, tolerance=0.0) == (0.5, 0.72)  # a tie goes to the preferred
    assert _choose(sweep, preferred=0.3, tolerance=0.0) == (0.4, 0.72)
    assert _choose(sweep, preferred=0.5, tolerance=0.05) == (0.6, 0.69)  # 0.7 is 0.06 below the best
    assert _choose(sweep, preferred=0.5, tolerance=0.06) == (0.7, 0.66)


def test_a_calibrated_fit_keeps_its_threshold_through_save_and_load(series, tmp_path) -> None:
    settings = DetectorSettings(calibration=0.3)
    detector = SpanDetector.fit(series, settings=settings, seed=7, training=SMALL)
    assert detector.settings.threshold in THRESHOLDS and detector.settings.calibration == 0.3
    loaded = SpanDetector.load(detector.save(tmp_path / "calibrated"))
    assert loaded.settings == detector.settings
    pd.testing.assert_frame_equal(loaded.predict(series[0][0]), detector.predict(series[0][0]))


def test_too_few_held_out_spans_keep_the_configured_threshold(series, caplog) -> None:
    candles, spans = series[0]
    last = int(spans["end"].max())
    few = spans[spans["end"] < last - 400]  # the last 400 candles hold no span
    assert len(few) >= MIN_SPANS
    with caplog.at_level(logging.WARNING, logger="ml_platform.shapes.calibration"):
        detector = SpanDetector.fit(
            [(candles.iloc[: last + 1], few)],
            settings=DetectorSettings(calibration=0.1, threshold=0.42),
            training=SMALL,
        )
    assert detector.settings.threshold == 0.42
    assert "keeping threshold 0.42" in caplog.text
