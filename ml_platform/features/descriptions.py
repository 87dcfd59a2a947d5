"""What each feature column means, in one sentence: generated from the feature registry.

`feature_descriptions` names every column `build_features` writes for a config (the
candle columns, the TA-Lib indicators with their configured parameters, candle geometry,
candle averages, custom features), so the Dagster column schema and the documentation
read from one source. `column_description` also explains the columns derived from them:
a BIO row's neighbours (``rsi_14_prev1``, ``body_size_next2``) and a window's offsets
(``rsi_14_t-3``).
"""

from __future__ import annotations

import re

from ml_platform.config import FeaturesConfig, IndicatorSpec, PipelineConfig
from ml_platform.features.candle_averages import AVERAGE_PERIOD, NEAR_PERIOD
from ml_platform.features.talib_features import _function_info, indicator_columns

CANDLE_COLUMN_DESCRIPTIONS = {
    "time": "Candle open time, epoch seconds UTC.",
    "open": "Open price.",
    "high": "Highest price of the candle.",
    "low": "Lowest price of the candle.",
    "close": "Close price.",
    "volume": "Traded volume, as the source reports it.",
}

GEOMETRY_DESCRIPTIONS = {
    "body_size": "Body length |close - open| as a fraction of the open price.",
    "body_direction": "+1 for an up candle (close > open), -1 for a down candle, 0 for a zero body.",
    "upper_wick": "Upper shadow (high - max(open, close)) as a fraction of the open price.",
    "lower_wick": "Lower shadow (min(open, close) - low) as a fraction of the open price.",
    "wick_ratio": "Upper shadow / both shadows: 1 all wick above the body (shooting star), 0 all below "
    "(hammer), 0.5 when there is no wick.",
    "body_to_range": "Body / full range (high - low): 1 a candle without shadows, 0 a doji or zero range.",
    "gap": "Open minus the previous close, as a fraction of the previous close.",
    "range": "Full range (high - low) as a fraction of the open price.",
}

_PREV = f"the previous {AVERAGE_PERIOD} candles"
_NEAR = f"the mean range of the previous {NEAR_PERIOD} candles"
AVERAGE_DESCRIPTIONS = {
    "body_avg": f"Body / mean body of {_PREV} (TA-Lib's long/short body yardstick).",
    "body_avgrange": f"Body / mean range of {_PREV}.",
    "range_avg": f"Range / mean range of {_PREV}.",
    "upper_avgrange": f"Upper shadow / mean range of {_PREV}.",
    "lower_avgrange": f"Lower shadow / mean range of {_PREV}.",
    "upper_avgshadow": f"Upper shadow / mean shadow (upper and lower averaged) of {_PREV}.",
    "lower_avgshadow": f"Lower shadow / mean shadow of {_PREV}.",
    "upper_body": "Upper shadow / body.",
    "lower_body": "Lower shadow / body.",
    "top_prevtop": f"(Body top - previous body top) / {_NEAR}.",
    "bottom_prevbottom": f"(Body bottom - previous body bottom) / {_NEAR}.",
    "bottom_prevtop": f"(Body bottom - previous body top) / {_NEAR}: above 0 a gap up over the previous body.",
    "top_prevbottom": f"(Body top - previous body bottom) / {_NEAR}: below 0 a gap down under the previous body.",
    "bottom_prevlow": f"(Body bottom - previous low) / {_NEAR}.",
    "top_prevhigh": f"(Body top - previous high) / {_NEAR}.",
}

_OUTPUTS = {
    "macd": "the MACD line (fast EMA - slow EMA)",
    "macdsignal": "the signal line (EMA of the MACD line)",
    "macdhist": "the histogram (MACD line - signal line)",
    "upperband": "the upper band (middle + k standard deviations)",
    "middleband": "the middle band (moving average)",
    "lowerband": "the lower band (middle - k standard deviations)",
}
_PRICE_UNITS = {"Overlap Studies", "Volatility Indicators"}
_SCALES = {
    "RSI": " 0 to 100: above 70 overbought, below 30 oversold.",
    "WILLR": " -100 to 0: near 0 the close is at the period's high.",
    "ADX": " 0 to 100: trend strength, whatever its direction.",
    "CCI": " Unbounded, mostly within +-100: distance from the mean typical price.",
    "ROC": " Percent change of the close over the period.",
}


def indicator_descriptions(spec: IndicatorSpec) -> dict[str, str]:
    """Each output column of one TA-Lib indicator, with its name, parameters and outputs."""
    info = _function_info(spec.name)
    parameters = {**dict(info["parameters"]), **dict(spec.params)}
    shown = ", ".join(
        f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}" for key, value in parameters.items()
    )
    base = f"TA-Lib {spec.name} ({info['display_name']}; {shown})"
    units = " In price units." if info["group"] in _PRICE_UNITS or spec.name in ("MACD", "ATR") else ""
    units += _SCALES.get(spec.name, "")
    names = indicator_columns(spec)
    outputs = info["output_names"]
    if len(outputs) == 1:
        return {names[0]: f"{base}.{units}"}
    return {
        name: f"{base}: {_OUTPUTS.get(output.lower(), output.lower())}.{units}"
        for name, output in zip(names, outputs, strict=True)
    }


def feature_descriptions(config: FeaturesConfig | PipelineConfig) -> dict[str, str]:
    """Every column `build_features` writes for `config`, in its order, with a one-sentence description.

    The candle columns (``time`` .. ``volume``), then the configured indicators, candle
    geometry, candle averages and custom features; each value says what the number is
    and in which unit.
    """
    features = config.features if isinstance(config, PipelineConfig) else config
    described = dict(CANDLE_COLUMN_DESCRIPTIONS)
    for spec in features.indicators:
        described.update(indicator_descriptions(spec))
    if features.candle_geometry:
        described.update(GEOMETRY_DESCRIPTIONS)
    if features.candle_averages:
        described.update(AVERAGE_DESCRIPTIONS)
    for custom in features.custom:
        described[custom.name] = (
            f"Custom feature {custom.function}"
            + (f" with {dict(custom.params)}" if custom.params else "")
            + f" (a DataFrame result adds columns {custom.name}_*)."
        )
    return described


_CONTEXT = re.compile(r"^(?P<base>.+)_(?P<side>prev|next)(?P<k>\d+)$")
_WINDOW = re.compile(r"^(?P<base>.+)_t(?P<offset>[+-]?\d+)$")


def column_description(name: str, descriptions: dict[str, str]) -> str | None:
    """`descriptions[name]`, or the description of a column derived from a feature column; None if unknown.

    ``{feature}_prev{k}`` / ``{feature}_next{k}``: the feature of the k-th candle before / after
    (BIO context); ``{feature}_t{offset}``: the feature of the window's candle at that offset.
    """
    if name in descriptions:
        return descriptions[name]
    for key, text in descriptions.items():  # a custom feature's DataFrame result: {name}_{column}
        if text.startswith("Custom feature") and name.startswith(f"{key}_"):
            return text
    match = _CONTEXT.match(name)
    if match and match["base"] in descriptions:
        where = "before" if match["side"] == "prev" else "after"
        return f"{match['base']} of the candle {match['k']} {where} this one: {descriptions[match['base']]}"
    match = _WINDOW.match(name)
    if match and match["base"] in descriptions:
        return f"{match['base']} of the window's candle at offset {match['offset']}: {descriptions[match['base']]}"
    return None
