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
from ml_platform.features.candle_averages import AVERAGE_PERIOD, CANDLE_AVERAGE_COLUMNS, RATIO_CAP, candle_averages
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
        "rsi_14": talib.RSI(c, timeperiod=14),
        "sma_20": talib.SMA(c, timeperiod=20),
        "ema_50": talib.EMA(c, timeperiod=50),
        "macd_12_26_9_macd": macd,
        "macd_12_26_9_macdsignal": signal,
        "macd_12_26_9_macdhist": hist,
        "bbands_20_upperband": upper,
        "bbands_20_middleband": middle,
        "bbands_20_lowerband": lower,
        "atr_14": talib.ATR(h, l, c, timeperiod=14),
        "adx_14": talib.ADX(h, l, c, timeperiod=14),
        "cci_20": talib.CCI(h, l, c, timeperiod=20),
        "willr_14": talib.WILLR(h, l, c, timeperiod=14),
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
    config = FeaturesConfig(indicators=[spec], candle_geometry=False, candle_averages=False)
    assert feature_columns_for(config) == [
        "bbands_10_2.5_upperband",
        "bbands_10_2.5_middleband",
        "bbands_10_2.5_lowerband",
    ]
    candles = synthetic_candles(100)
    result = build_features(candles, config)
    upper, _, _ = talib.BBANDS(candles["close"].to_numpy(), timeperiod=10, nbdevup=2.5)
    np.testing.assert_array_equal(result.frame["bbands_10_2.5_upperband"], upper[result.warmup_rows :])


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


def test_candle_averages_by_hand() -> None:
    # ten identical candles (body 1, range 3, shadows 1 and 1), then a long-bodied one
    open_ = np.array([10.0] * 10 + [11.0])
    close = np.array([11.0] * 10 + [15.0])
    high = np.array([12.0] * 10 + [16.0])
    low = np.array([9.0] * 10 + [10.5])
    a = candle_averages(open_, high, low, close)
    assert list(a) == list(CANDLE_AVERAGE_COLUMNS)
    for values in a.values():
        assert np.isnan(values[:AVERAGE_PERIOD]).all()
    last = {name: values[-1] for name, values in a.items()}
    # body 4 against the mean body 1 and mean range 3; range 5.5; shadows 1 and 0.5
    assert last["body_avg"] == pytest.approx(4.0)
    assert last["body_avgrange"] == pytest.approx(4 / 3)
    assert last["range_avg"] == pytest.approx(5.5 / 3)
    assert last["upper_avgrange"] == pytest.approx(1 / 3)
    assert last["lower_avgrange"] == pytest.approx(0.5 / 3)
    assert last["upper_avgshadow"] == pytest.approx(1.0)
    assert last["lower_avgshadow"] == pytest.approx(0.5)
    assert last["upper_body"] == pytest.approx(0.25)
    assert last["lower_body"] == pytest.approx(0.125)
    # placement against the previous body (10..11, high 12, low 9) in units of the mean range 3
    assert last["top_prevtop"] == pytest.approx((15 - 11) / 3)
    assert last["bottom_prevbottom"] == pytest.approx((11 - 10) / 3)
    assert last["bottom_prevtop"] == pytest.approx(0.0)
    assert last["top_prevbottom"] == pytest.approx((15 - 10) / 3)
    assert last["bottom_prevlow"] == pytest.approx((11 - 9) / 3)
    assert last["top_prevhigh"] == pytest.approx((15 - 12) / 3)


def test_candle_averages_finite_on_flat_and_bodiless_candles() -> None:
    # a flat market (every yardstick zero), then a doji, then a real candle out of nowhere
    n = 30
    open_ = np.full(n, 50.0)
    high, low, close = open_.copy(), open_.copy(), open_.copy()
    high[20], low[20] = 50.5, 49.5  # doji: shadows, no body
    open_[25], close[25], high[25], low[25] = 50.0, 52.0, 52.5, 49.0
    a = candle_averages(open_, high, low, close)
    for name, values in a.items():
        after = values[AVERAGE_PERIOD:]
        assert np.isfinite(after).all(), name
        assert (np.abs(after) <= RATIO_CAP).all(), name
    assert a["body_avg"][15] == 0.0  # nothing over nothing reads 0
    assert a["upper_body"][20] == RATIO_CAP  # a shadow over no body is "very long"
    assert a["range_avg"][25] > 1  # a long candle after a quiet stretch


def test_candle_averages_do_not_depend_on_the_price_level() -> None:
    candles = synthetic_candles(300)
    scaled = candles.assign(**{k: candles[k] * 25_000 for k in ("open", "high", "low", "close")})
    config = FeaturesConfig(indicators=[], candle_geometry=False)
    base, big = build_features(candles, config), build_features(scaled, config)
    assert base.feature_columns == list(CANDLE_AVERAGE_COLUMNS) == feature_columns_for(config)
    assert base.warmup_rows == AVERAGE_PERIOD
    np.testing.assert_allclose(big.frame[base.feature_columns], base.frame[base.feature_columns], rtol=1e-9, atol=1e-12)
    assert not base.frame[base.feature_columns].isna().any().any()


def test_candle_averages_can_be_turned_off() -> None:
    config = FeaturesConfig(indicators=[], candle_averages=False)
    result = build_features(synthetic_candles(50), config)
    assert result.warmup_rows == 0
    assert not set(CANDLE_AVERAGE_COLUMNS) & set(result.frame.columns)


def test_custom_feature_from_module_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = tmp_path / "my_features.py"
    plugin.write_text(
        "import pandas as pd\n"
        "def spread(frame, scale=1.0):\n    return (frame['high'] - frame['low']) * scale\n"
        "def pair(frame):\n    return pd.DataFrame({'a': frame['close'] * 2, 'b': frame['open']})\n"
    )
    config = FeaturesConfig(
        indicators=[IndicatorSpec(name="SMA", params={"timeperiod": 3})],
        custom=[
            CustomFeatureSpec(name="spread", function=f"{plugin}:spread", params={"scale": 2.0}),
            CustomFeatureSpec(name="two", function=f"{plugin}:pair"),
            CustomFeatureSpec(name="spread_by_module", function="my_features:spread"),
        ],
        candle_geometry=False,
        candle_averages=False,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    candles = synthetic_candles(20)
    result = build_features(candles, config)
    tail = candles.iloc[result.warmup_rows :].reset_index(drop=True)
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
        (
            "def f(frame):\n    return frame['close'].iloc[:-1]\n",
            "f",
            "returned 19 values for column 'bad', expected 20",
        ),
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
    for function, message in [
        ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
        ("justaname", "must be 'module:function'"),
        (f"{tmp_path}/missing.py:f", "missing.py not found"),
    ]:
        config = FeaturesConfig(indicators=[], custom=[CustomFeatureSpec(name="c", function=function)])
        with pytest.raises(FeatureError, match=message):
            build_features(synthetic_candles(5), config)


def test_too_few_candles_for_the_warm_up() -> None:
    with pytest.raises(
        InsufficientCandlesError,
        match="30 candles are not enough for the features' warm-up: .* no value after all 30 candles",
    ):
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
