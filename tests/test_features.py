"""Features: values equal direct TA-Lib calls and hand-computed geometry; errors name the key or function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from ml_platform.config import ContextConfig, CustomFeatureSpec, FeaturesConfig, IndicatorSpec, PipelineConfig
from ml_platform.features import (
    FeatureError,
    InsufficientCandlesError,
    add_context,
    build_features,
    context_columns,
    feature_columns_for,
    valid_context_slice,
)
from ml_platform.features.candle_features import candle_geometry
from tests.conftest import synthetic_candles


def test_indicators_equal_direct_talib_calls() -> None:
    candles = synthetic_candles(400)
    result = build_features(candles, PipelineConfig())
    w = result.warmup_rows
    o, h, l, c = (candles[name].to_numpy() for name in ("open", "high", "low", "close"))
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    upper, middle, lower = talib.BBANDS(c, timeperiod=20)
    expected = {
        "rsi_14": talib.RSI(c, timeperiod=14), "sma_20": talib.SMA(c, timeperiod=20),
        "ema_50": talib.EMA(c, timeperiod=50), "macd_12_26_9_macd": macd,
        "macd_12_26_9_macdsignal": signal, "macd_12_26_9_macdhist": hist,
        "bbands_20_upperband": upper, "bbands_20_middleband": middle, "bbands_20_lowerband": lower,
        "atr_14": talib.ATR(h, l, c, timeperiod=14), "adx_14": talib.ADX(h, l, c, timeperiod=14),
        "cci_20": talib.CCI(h, l, c, timeperiod=20), "willr_14": talib.WILLR(h, l, c, timeperiod=14),
        "roc_10": talib.ROC(c, timeperiod=10),
    }
    for name, values in expected.items():
        np.testing.assert_array_equal(result.frame[name].to_numpy(), values[w:], err_msg=name)
    # the warm-up is exactly the longest look-back: the first row where every indicator exists
    assert w == max(int(np.argmax(~np.isnan(v))) for v in expected.values())
    assert result.frame["time"].tolist() == candles["time"].iloc[w:].tolist()
    assert result.feature_columns == feature_columns_for(PipelineConfig().features)
    assert not result.frame[result.feature_columns].isna().any().any()


def test_parameters_in_talib_order_and_non_default_values() -> None:
    spec = IndicatorSpec(name="BBANDS", params={"nbdevup": 2.5, "timeperiod": 10})
    config = FeaturesConfig(indicators=[spec], candle_geometry=False)
    assert feature_columns_for(config) == ["bbands_10_2.5_upperband", "bbands_10_2.5_middleband", "bbands_10_2.5_lowerband"]
    candles = synthetic_candles(100)
    result = build_features(candles, config)
    upper, _, _ = talib.BBANDS(candles["close"].to_numpy(), timeperiod=10, nbdevup=2.5)
    np.testing.assert_array_equal(result.frame["bbands_10_2.5_upperband"], upper[result.warmup_rows:])


def test_candle_geometry_by_hand_including_zero_range_and_zero_body() -> None:
    #            normal up   down, wicks   zero body   zero range   hammer
    open_ = np.array([10.0, 10.0, 10.0, 10.0, 10.0])
    high = np.array([12.0, 11.0, 11.0, 10.0, 10.5])
    low = np.array([9.0, 8.0, 9.0, 10.0, 8.0])
    close = np.array([11.0, 9.0, 10.0, 10.0, 10.4])
    g = candle_geometry(open_, high, low, close)
    np.testing.assert_allclose(g["body_size"], [0.1, 0.1, 0.0, 0.0, 0.04])
    np.testing.assert_array_equal(g["body_direction"], [1, -1, 0, 0, 1])
    np.testing.assert_allclose(g["upper_wick"], [0.1, 0.1, 0.1, 0.0, 0.01])
    np.testing.assert_allclose(g["lower_wick"], [0.1, 0.1, 0.1, 0.0, 0.2])
    np.testing.assert_allclose(g["wick_ratio"], [0.5, 0.5, 0.5, 0.5, 0.01 / 0.21])
    np.testing.assert_allclose(g["body_to_range"], [1 / 3, 1 / 3, 0.0, 0.0, 0.4 / 2.5])
    np.testing.assert_allclose(g["gap"], [0.0, (10 - 11) / 11, (10 - 9) / 9, 0.0, 0.0])
    np.testing.assert_allclose(g["range"], [0.3, 0.3, 0.2, 0.0, 0.25])
    for name, values in g.items():
        assert np.isfinite(values).all(), name


def test_custom_feature_from_module_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "my_features.py"
    plugin.write_text(
        "import pandas as pd\n"
        "def spread(frame, scale=1.0):\n    return (frame['high'] - frame['low']) * scale\n"
        "def pair(frame):\n    return pd.DataFrame({'a': frame['close'] * 2, 'b': frame['open']})\n"
    )
    config = FeaturesConfig(indicators=[IndicatorSpec(name="SMA", params={"timeperiod": 3})], custom=[
        CustomFeatureSpec(name="spread", function=f"{plugin}:spread", params={"scale": 2.0}),
        CustomFeatureSpec(name="two", function=f"{plugin}:pair"),
        CustomFeatureSpec(name="spread_by_module", function="my_features:spread"),
    ], candle_geometry=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    candles = synthetic_candles(20)
    result = build_features(candles, config)
    tail = candles.iloc[result.warmup_rows:].reset_index(drop=True)
    np.testing.assert_allclose(result.frame["spread"], (tail["high"] - tail["low"]) * 2)
    np.testing.assert_allclose(result.frame["two_a"], tail["close"] * 2)
    assert result.feature_columns == ["sma_3", "spread", "two_a", "two_b", "spread_by_module"]


@pytest.mark.parametrize(
    ("indicator", "message"),
    [
        (IndicatorSpec(name="RSX"), "unknown TA-Lib indicator 'RSX'"),
        (IndicatorSpec(name="RSI", params={"period": 14}), "RSI has no parameter 'period' (it takes timeperiod)"),
        (IndicatorSpec(name="RSI", params={"timeperiod": -3}), "RSI with {'timeperiod': -3} failed"),
    ],
)
def test_unknown_indicator_or_parameter(indicator: IndicatorSpec, message: str) -> None:
    with pytest.raises(FeatureError) as error:
        build_features(synthetic_candles(50), FeaturesConfig(indicators=[indicator]))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("source", "function", "message"),
    [
        ("def f(frame):\n    raise RuntimeError('boom')\n", "f", "raised RuntimeError('boom')"),
        ("def f(frame):\n    return frame['close'].iloc[:-1]\n", "f", "returned 19 values for column 'bad', expected 20"),
        ("def f(frame):\n    return ['x'] * len(frame)\n", "f", "column 'bad' is not numeric"),
        ("def g(frame):\n    return frame['close']\n", "f", "has no function 'f'"),
    ],
)
def test_custom_feature_errors(tmp_path: Path, source: str, function: str, message: str) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(source)
    config = FeaturesConfig(indicators=[], custom=[CustomFeatureSpec(name="bad", function=f"{plugin}:{function}")])
    with pytest.raises(FeatureError) as error:
        build_features(synthetic_candles(20), config)
    assert "features.custom 'bad'" in str(error.value)
    assert message in str(error.value)


def test_custom_feature_missing_module_and_bad_reference(tmp_path: Path) -> None:
    for function, message in [("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
                              ("justaname", "must be 'module:function'"),
                              (f"{tmp_path}/missing.py:f", "missing.py not found")]:
        config = FeaturesConfig(indicators=[], custom=[CustomFeatureSpec(name="c", function=function)])
        with pytest.raises(FeatureError, match=message):
            build_features(synthetic_candles(5), config)


def test_too_few_candles_for_the_warm_up() -> None:
    with pytest.raises(InsufficientCandlesError, match="30 candles are fewer than the indicators' warm-up of 30"):
        build_features(synthetic_candles(30), PipelineConfig())


def test_context_columns_shift_neighbours_and_mark_incomplete_rows() -> None:
    frame = pd.DataFrame({"time": [1, 2, 3, 4, 5], "a": [10.0, 20, 30, 40, 50], "b": [1.0, 2, 3, 4, 5]})
    context = ContextConfig(previous=2, next=1)
    out = add_context(frame, ["a", "b"], context)
    assert context_columns(["a", "b"], context) == ["a_prev1", "b_prev1", "a_prev2", "b_prev2", "a_next1", "b_next1"]
    assert out["a_prev1"].tolist()[1:] == [10, 20, 30, 40]
    assert out["a_prev2"].tolist()[2:] == [10, 20, 30]
    assert out["b_next1"].tolist()[:4] == [2, 3, 4, 5]
    rows = valid_context_slice(len(frame), context)
    assert (rows.start, rows.stop) == (2, 4)
    assert not out.iloc[rows].isna().any().any()
    assert out.iloc[:2]["a_prev2"].isna().all() and np.isnan(out["a_next1"].iloc[-1])
