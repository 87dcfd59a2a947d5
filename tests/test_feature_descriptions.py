"""Every feature column has a description, from the one registry in ml_platform.features.descriptions."""

from __future__ import annotations

from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import config_from_dict, load_config
from ml_platform.features import build_features, feature_columns_for
from ml_platform.features.descriptions import column_description, feature_descriptions
from tests.conftest import synthetic_candles


def test_the_shipped_config_describes_every_column_it_builds() -> None:
    config = load_config()
    descriptions = feature_descriptions(config)
    frame = build_features(synthetic_candles(200), config).frame
    assert list(descriptions) == list(frame.columns) == [*CANONICAL_COLUMNS, *feature_columns_for(config.features)]
    assert all(text and text.endswith(".") for text in descriptions.values())
    assert descriptions["rsi_14"].startswith("TA-Lib RSI (Relative Strength Index; timeperiod 14)")
    assert "signal line" in descriptions["macd_12_26_9_macdsignal"]
    assert descriptions["wick_ratio"].startswith("Upper shadow / both shadows")


def test_derived_and_custom_columns_are_described() -> None:
    config = config_from_dict(
        {
            "features": {
                "indicators": [{"name": "BBANDS", "params": {"timeperiod": 10, "nbdevup": 1.5}}],
                "candle_geometry": False,
                "candle_averages": False,
                "custom": [{"name": "mine", "function": "pkg.module:fn", "params": {"window": 3}}],
            }
        }
    )
    descriptions = feature_descriptions(config)
    assert "nbdevup 1.5" in descriptions["bbands_10_1.5_upperband"]
    assert column_description("mine_a", descriptions) == descriptions["mine"]
    assert column_description("bbands_10_1.5_lowerband_prev2", descriptions).startswith(
        "bbands_10_1.5_lowerband of the candle 2 before this one"
    )
    assert column_description("open_t-4", descriptions) == "open of the window's candle at offset -4: Open price."
    assert column_description("unrelated", descriptions) is None
