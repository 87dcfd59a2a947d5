"""ml_platform.inference: candle validation, span grouping, chunking that never changes a value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_platform.bundle import load_bundle
from ml_platform.inference import (
    CandlePredictions,
    InvalidCandlesError,
    NotEnoughCandlesError,
    Predictor,
    candles_frame,
    group_spans,
)


def _columns(n: int = 5) -> dict[str, np.ndarray]:
    close = np.linspace(1.0, 1.4, n)
    open_ = close - 0.01
    return {
        "time": np.arange(n, dtype=np.int64) * 3600,
        "open": open_,
        "high": close + 0.02,
        "low": open_ - 0.02,
        "close": close,
        "volume": np.full(n, 10.0),
    }


@pytest.mark.parametrize(
    ("column", "index", "value", "message"),
    [
        ("close", 2, np.nan, "close is not a finite number"),
        ("high", 3, np.inf, "high is not a finite number"),
        ("open", 1, -1.0, "open must be a positive price"),
        ("volume", 4, -5.0, "volume must not be negative"),
        ("high", 2, 0.5, "high is below open, close or low"),
        ("low", 1, 5.0, "low is above open or close"),
        ("time", 3, 3600 * 2, "time is not after the previous candle's"),  # duplicate
        ("time", 2, 0, "time is not after the previous candle's"),  # unsorted
    ],
)
def test_validate_candles_names_the_first_bad_candle(column: str, index: int, value: float, message: str) -> None:
    columns = _columns()
    columns[column] = columns[column].copy()
    columns[column][index] = value
    with pytest.raises(InvalidCandlesError, match=message) as caught:
        candles_frame(**{("open_" if k == "open" else k): v for k, v in columns.items()})
    assert caught.value.index == index
    assert str(caught.value).startswith(f"candles[{index}]:")


def test_validate_candles_reports_the_lowest_index_of_several_problems() -> None:
    columns = _columns()
    columns["close"][4] = np.nan
    columns["high"][2] = 0.1
    with pytest.raises(InvalidCandlesError) as caught:
        candles_frame(**{("open_" if k == "open" else k): v for k, v in columns.items()})
    assert caught.value.index == 2


def _predictions(tags: list[str], confidences: list[float], indices: list[int] | None = None) -> CandlePredictions:
    classes = ("B-bull_flag", "I-bull_flag", "B-double_top", "I-double_top", "O")
    indices = list(range(len(tags))) if indices is None else indices
    return CandlePredictions(
        n_candles=max(indices) + 1,
        indices=np.array(indices),
        times=np.array(indices) * 60,
        class_ids=np.array([classes.index(t) for t in tags]),
        confidences=np.array(confidences),
        classes=classes,
        unlabeled_leading=0,
        unlabeled_trailing=0,
    )


def test_group_spans_rules() -> None:
    tags = [
        "O",
        "B-bull_flag",
        "I-bull_flag",
        "I-bull_flag",
        "B-bull_flag",
        "I-bull_flag",
        "O",
        "I-double_top",
        "I-bull_flag",
        "O",
        "I-double_top",
    ]
    conf = [0.9, 0.8, 0.6, 0.7, 0.5, 0.9, 0.9, 0.4, 0.3, 0.9, 1.0]
    spans = group_spans(_predictions(tags, conf))
    assert spans.labels == ["bull_flag", "bull_flag", "double_top", "bull_flag", "double_top"]
    assert spans.start_indices.tolist() == [1, 4, 7, 8, 10]
    assert spans.end_indices.tolist() == [3, 5, 7, 8, 10]
    np.testing.assert_allclose(spans.avg_confidence, [0.7, 0.7, 0.4, 0.3, 1.0])


def test_group_spans_breaks_at_a_gap_and_handles_no_spans() -> None:
    spans = group_spans(_predictions(["I-bull_flag", "I-bull_flag", "I-bull_flag"], [1, 1, 1], [0, 1, 3]))
    assert spans.start_indices.tolist() == [0, 3] and spans.end_indices.tolist() == [1, 3]
    assert len(group_spans(_predictions(["O", "O"], [1, 1]))) == 0


def test_chunked_prediction_equals_one_pass(bundle_path, stored: pd.DataFrame) -> None:
    predictor = Predictor.from_bundle(load_bundle(bundle_path.parent))
    whole = predictor.predict(stored, batch_size=len(stored))
    for batch_size in (7, 100, 333):
        chunked = predictor.predict(stored, batch_size=batch_size)
        np.testing.assert_array_equal(chunked.indices, whole.indices)
        np.testing.assert_array_equal(chunked.class_ids, whole.class_ids)
        np.testing.assert_array_equal(chunked.confidences, whole.confidences)


def test_too_few_candles_says_how_many_are_needed(bundle_path, stored: pd.DataFrame) -> None:
    predictor = Predictor.from_bundle(load_bundle(bundle_path.parent))
    assert predictor.min_candles == predictor.warmup_rows + 3 + 2 + 1
    predictor.predict(stored.iloc[: predictor.min_candles], batch_size=10)  # exactly enough: one label
    with pytest.raises(NotEnoughCandlesError, match=f"at least {predictor.min_candles} candles"):
        predictor.predict(stored.iloc[: predictor.min_candles - 1], batch_size=10)
