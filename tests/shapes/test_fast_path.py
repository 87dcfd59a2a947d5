"""The vectorised candidate and feature code gives exactly what the code before it gave (`tests/shapes/reference.py`).

Exactly: the same candidates, bit-identical feature matrices (NaN where NaN), and a trained
detector's spans and confidences equal to the last bit, on planted shapes and on the sample
data's noisier candles, with several detector settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import TrainingConfig, XGBoostParams
from ml_platform.sample_data import generate_partition
from ml_platform.shapes import candidates as candidates_module
from ml_platform.shapes import features as features_module
from ml_platform.shapes.candidates import breakout_candles, length_range, propose_candidates
from ml_platform.shapes.detector import SpanDetector
from ml_platform.shapes.features import SeriesArrays, shape_features
from ml_platform.shapes.pivots import zigzag
from ml_platform.shapes.settings import DetectorSettings
from tests.shapes import reference
from tests.shapes.synthetic import planted_series

SETTINGS = {  # the reference predates the geometry features (tests/shapes/test_features.py checks those)
    "default": DetectorSettings(geometry_scales=()),
    "edge shifts, no after": DetectorSettings(edge_shifts=(-0.1, 0.0, 0.1), after=0.0, context=0.5, geometry_scales=()),
    "no breakouts, 2 scales": DetectorSettings(
        scales=(0.8, 3.0), breakout_ends=False, min_pivots=2, max_pivots=4, geometry_scales=()
    ),
}


def _series() -> dict[str, pd.DataFrame]:
    planted, _ = planted_series(2500, seed=21)
    sample, _ = generate_partition("EURUSD", "1h", n_candles=3000, seed=3)
    return {"planted": planted, "sample data": sample}


def _candidates_and_features(
    candles: pd.DataFrame, settings: DetectorSettings, lengths: tuple[int, int], *, features=shape_features
):
    high, low, close = (candles[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close"))
    cands, pivots = propose_candidates(high, low, close, settings=settings, lengths=lengths)
    series = SeriesArrays.from_candles(candles, settings=settings, max_length=lengths[1])
    return cands, features(series, cands, pivots, settings=settings)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_candidates_and_features_equal_the_reference(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = SETTINGS[name]
    for label, candles in _series().items():
        for lengths, block in (((12, 60), features_module.BLOCK), ((30, 41), 97)):  # one row block, several
            monkeypatch.setattr(features_module, "BLOCK", block)
            fast, fast_x = _candidates_and_features(candles, settings, lengths)
            with reference.reference_code():
                slow, slow_x = _candidates_and_features(candles, settings, lengths, features=reference.shape_features)
            where = f"{label}, lengths {lengths}"
            assert len(fast) > 50, where
            for field in ("start", "end", "scale"):
                np.testing.assert_array_equal(getattr(fast, field), getattr(slow, field), err_msg=where)
            assert fast_x.dtype == slow_x.dtype == np.float32
            np.testing.assert_array_equal(fast_x, slow_x, err_msg=where)  # NaN only where NaN


def test_breakouts_equal_the_reference_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    candles, _ = generate_partition("EURUSD", "1h", n_candles=3000, seed=4)
    high, low, close = (candles[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close"))
    level = zigzag(high, low, close, k=1.0)
    expected = reference.breakout_candles(level, close, max_length=40)
    assert (expected >= 0).sum() > 50 and (expected[1:] == -1).any()  # both outcomes occur
    for chunk in (1 << 21, 40 * 7, 1):  # one chunk, several, one pivot per chunk
        monkeypatch.setattr(candidates_module, "BREAKOUT_CHUNK", chunk)
        np.testing.assert_array_equal(breakout_candles(level, close, max_length=40), expected)
    # near the end of the series the look-ahead is cut short, as before
    np.testing.assert_array_equal(
        breakout_candles(level, close[: level.index[-1] + 3], max_length=40),
        reference.breakout_candles(level, close[: level.index[-1] + 3], max_length=40),
    )


def test_detected_spans_and_confidences_equal_the_reference() -> None:
    train, held_out = planted_series(2500, seed=31), planted_series(2500, seed=32)
    small = TrainingConfig(xgboost=XGBoostParams(n_estimators=30, max_depth=4))
    detector = SpanDetector.fit([train], settings=SETTINGS["default"], model_type="xgboost", seed=3, training=small)
    assert detector.lengths == length_range((train[1]["end"] - train[1]["start"] + 1).to_numpy(), margin=0.25)
    sample, _ = generate_partition("GBPUSD", "1h", n_candles=3000, seed=8)
    for candles in (held_out[0], sample):
        fast = detector.predict(candles)
        fast_scores = detector.score(candles)
        with reference.reference_code():
            slow = detector.predict(candles)
            slow_scores = detector.score(candles)
        assert len(fast) > 5
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
        pd.testing.assert_frame_equal(fast_scores, slow_scores, check_exact=True)
