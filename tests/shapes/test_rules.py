"""The rule-based shape detectors on hand-built series: each finds its shape, not its mirror, not a trend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_platform.shapes import rules
from ml_platform.shapes.rules import SHAPE_LABELS, RuleSettings, detect, detect_shapes, resolve_overlaps

WICK = 0.2


def _candles(knots: list[tuple[int, float]], base: float = 100.0) -> pd.DataFrame:
    """Candles whose closes run straight between `(candles from the previous knot, level)` knots.

    Opens are the previous close, wicks a constant `WICK` beyond the body: a clean drawing.
    """
    closes = [0.0]
    for steps, level in knots:
        closes += np.linspace(closes[-1], level, steps + 1)[1:].tolist()
    close = base + np.asarray(closes)
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "time": np.arange(len(close), dtype=np.int64) * 3600,
            "open": open_,
            "high": np.maximum(open_, close) + WICK,
            "low": np.minimum(open_, close) - WICK,
            "close": close,
            "volume": np.ones(len(close)),
        }
    )


def _mirror(candles: pd.DataFrame) -> pd.DataFrame:
    """Upside down around 200: a top becomes a bottom, a bull flag a bear flag."""
    flipped = candles.copy()
    for column in ("open", "close"):
        flipped[column] = 200.0 - candles[column]
    flipped["high"], flipped["low"] = 200.0 - candles["low"], 200.0 - candles["high"]
    return flipped


# A lead-in falling gently into the shape, so the first pivot is where the shape starts.
LEAD = [(20, -4.0)]
SHAPES: dict[str, list[tuple[int, float]]] = {
    # rise, first top, dip 8, second top at the same level, break below the dip
    "double_top": [*LEAD, (20, 16.0), (8, 8.0), (8, 16.0), (14, 2.0), (10, 4.0)],
    # left shoulder, head 6 above, right shoulder, level neckline at 6, break
    "head_and_shoulders": [*LEAD, (16, 12.0), (6, 6.0), (12, 18.0), (12, 6.0), (6, 12.0), (12, -2.0), (10, 0.0)],
    # pole of 12 in 8 candles, flag drifting down 3 over 10, breakout
    "bull_flag": [*LEAD, (8, 8.0), (10, 5.0), (5, 12.0), (10, 10.0)],
}
MIRRORS = {
    "double_top": "double_bottom",
    "head_and_shoulders": "inverse_head_and_shoulders",
    "bull_flag": "bear_flag",
}
SERIES = {
    **{label: _candles(knots) for label, knots in SHAPES.items()},
    **{MIRRORS[label]: _mirror(_candles(knots)) for label, knots in SHAPES.items()},
}


def _trend(direction: float) -> pd.DataFrame:
    """A steady trend with small wiggles (pullbacks well under the zigzag's reversal)."""
    t = np.arange(300)
    close = 100.0 + direction * (0.5 * t + 0.4 * np.sin(t / 3.0))
    open_ = np.concatenate([[close[0]], close[:-1]])
    return pd.DataFrame(
        {
            "time": t.astype(np.int64) * 3600,
            "open": open_,
            "high": np.maximum(open_, close) + WICK,
            "low": np.minimum(open_, close) - WICK,
            "close": close,
            "volume": np.ones(len(t)),
        }
    )


@pytest.mark.parametrize("label", SHAPE_LABELS)
def test_each_detector_finds_its_shape(label: str) -> None:
    spans = detect(SERIES[label], label)
    assert len(spans) == 1, spans
    (span,) = spans.itertuples(index=False)
    assert span.label == label
    settings = RuleSettings()
    assert settings.min_length <= span.end - span.start + 1 <= settings.max_length
    first = {"double": 20, "head": 16, "inverse": 16, "bull": 0, "bear": 0}[label.split("_")[0]]
    assert abs(span.start - (LEAD[0][0] + first)) <= 2  # the first top / left shoulder / pole start
    close = SERIES[label]["close"].to_numpy()
    assert span.end < len(close) - 1


@pytest.mark.parametrize("label", SHAPE_LABELS)
def test_the_whole_detector_labels_the_shape_alone(label: str) -> None:
    spans = detect_shapes(SERIES[label])
    assert spans["label"].tolist() == [label]


@pytest.mark.parametrize("label", SHAPE_LABELS)
def test_a_detector_does_not_fire_on_its_mirror(label: str) -> None:
    mirror = {**MIRRORS, **{v: k for k, v in MIRRORS.items()}}[label]
    assert detect(SERIES[mirror], label).empty


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_no_detector_fires_on_a_plain_trend(direction: float) -> None:
    assert detect_shapes(_trend(direction)).empty


def test_unequal_tops_are_no_double_top() -> None:
    knots = [*LEAD, (20, 16.0), (8, 8.0), (8, 22.0), (14, 2.0), (10, 4.0)]  # second top 6 higher
    assert rules.double_top(_candles(knots)).empty


def test_an_unconfirmed_double_top_is_not_labelled() -> None:
    knots = [*LEAD, (20, 16.0), (8, 8.0), (8, 16.0), (6, 10.0), (10, 15.0)]  # never closes below the dip
    assert rules.double_top(_candles(knots)).empty


def test_results_do_not_depend_on_the_price_scale() -> None:
    candles = SERIES["head_and_shoulders"]
    scaled = candles.copy()
    scaled[["open", "high", "low", "close"]] *= 0.01
    assert detect_shapes(scaled).equals(detect_shapes(candles))


def test_overlaps_are_resolved_by_priority_then_time() -> None:
    spans = pd.DataFrame(
        {
            "start": [0, 5, 30, 40],
            "end": [20, 25, 50, 45],
            "label": ["bull_flag", "double_top", "bear_flag", "bull_flag"],
        }
    )
    kept = resolve_overlaps(spans)
    assert kept.to_dict("list") == {"start": [5, 30], "end": [25, 50], "label": ["double_top", "bear_flag"]}


def test_the_frame_has_the_span_columns_even_when_empty() -> None:
    spans = detect_shapes(_trend(1.0))
    assert list(spans.columns) == ["start", "end", "label"] and spans["start"].dtype == np.int64
    with pytest.raises(ValueError, match="unknown shape"):
        detect(SERIES["double_top"], "triangle")
