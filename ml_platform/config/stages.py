"""The ``features``, ``labeling`` and ``training`` sections: what each pipeline stage computes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ml_platform.config.base import Color, NonNegativeInt, PositiveInt, Probability, Section
from ml_platform.partitions import PAIR_PATTERN, TIMEFRAMES
from ml_platform.shapes.settings import DetectorSettings

# --------------------------------------------------------------------------- features


class IndicatorSpec(Section, frozen=True):
    """One TA-Lib indicator: its function name and the parameters that differ from TA-Lib's defaults.

    The column name is the lower-case function name followed by the configured parameter
    values in TA-Lib's parameter order (`RSI` with `timeperiod: 14` gives `rsi_14`).
    """

    name: str
    params: dict[str, float | int] = msgspec.field(default_factory=dict)


class CustomFeatureSpec(Section, frozen=True):
    """A user function `module:function` or `path/to/file.py:function` returning extra columns.

    name : str
        The column name (a Series result) or the prefix for a DataFrame result's columns.
    params : dict
        Keyword arguments passed to the function after the candle frame.
    """

    name: str
    function: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class ContextConfig(Section, frozen=True):
    """Neighbouring candles' features attached to each row of a per-candle (BIO) model.

    previous : int, default 3
        Candles before the row. Causal: always available.
    next : int, default 2
        Candles after the row (look-ahead). Legitimate when annotating history; set 0 for a
        causal model on live data, where the last candle has no future yet.
    """

    previous: NonNegativeInt = 3
    next: NonNegativeInt = 2


def _default_indicators() -> list[IndicatorSpec]:
    return [
        IndicatorSpec(name="RSI", params={"timeperiod": 14}),
        IndicatorSpec(name="SMA", params={"timeperiod": 20}),
        IndicatorSpec(name="EMA", params={"timeperiod": 50}),
        IndicatorSpec(name="MACD", params={"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
        IndicatorSpec(name="BBANDS", params={"timeperiod": 20}),
        IndicatorSpec(name="ATR", params={"timeperiod": 14}),
        IndicatorSpec(name="ADX", params={"timeperiod": 14}),
        IndicatorSpec(name="CCI", params={"timeperiod": 20}),
        IndicatorSpec(name="WILLR", params={"timeperiod": 14}),
        IndicatorSpec(name="ROC", params={"timeperiod": 10}),
    ]


class FeaturesConfig(Section, frozen=True):
    """Which features `ml_platform.features.build_features` computes."""

    indicators: list[IndicatorSpec] = msgspec.field(default_factory=_default_indicators)
    candle_geometry: bool = True
    candle_averages: bool = True
    custom: list[CustomFeatureSpec] = msgspec.field(default_factory=list)
    context: ContextConfig = ContextConfig()


# --------------------------------------------------------------------------- labeling


class LabelSpec(Section, frozen=True):
    """A pattern label annotators can choose, with the colour the chart draws it in."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")]
    color: Color


class WindowConfig(Section, frozen=True):
    """Windowed classification: one fixed-size window per span.

    size : int, default 48
        Candles per window, context padding included.
    context_padding : int, default 4
        Candles kept before and after the span inside the window.
    pad_policy : "edge" or "drop", default "edge"
        A window running past either end of the series repeats the edge candle, or is dropped.
    negative_ratio : float, default 1.0
        Negative ("O") windows sampled per positive window from stretches with no annotation.
    """

    size: PositiveInt = 48
    context_padding: NonNegativeInt = 4
    pad_policy: Literal["edge", "drop"] = "edge"
    negative_ratio: Annotated[float, msgspec.Meta(ge=0)] = 1.0


class CdlConfig(Section, frozen=True):
    """Programmatic labels from TA-Lib's CDL* candlestick functions."""

    enabled: bool = True
    patterns: list[str] = msgspec.field(
        default_factory=lambda: ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI"]
    )


def _default_labels() -> list[LabelSpec]:
    return [
        LabelSpec(name="bull_flag", color="#26a69a"),
        LabelSpec(name="double_top", color="#ef5350"),
        LabelSpec(name="head_and_shoulders", color="#ab47bc"),
    ]


class LabelingConfig(Section, frozen=True):
    """How annotations and TA-Lib CDL labels become training rows.

    mode : "bio", "window" or "span", default "span"
        ``bio``: one row per candle; ``window``: one row per span window; ``span``: chart
        labels are learnt by a span detector (`ml_platform.shapes`, options in ``span``) from
        the per-candle BIO file, CDL labels by a per-candle BIO model beside it.
    span : DetectorSettings
        The span detector's options (``labeling.span.*``), used in span mode only.
    """

    mode: Literal["bio", "window", "span"] = "span"
    labels: list[LabelSpec] = msgspec.field(default_factory=_default_labels)
    min_confidence: Probability = 0.5
    strict: bool = False
    merge_strategy: Literal["human_priority", "programmatic_priority", "both"] = "human_priority"
    window: WindowConfig = WindowConfig()
    span: DetectorSettings = DetectorSettings()
    cdl: CdlConfig = CdlConfig()
    seed: int = 7


# --------------------------------------------------------------------------- training


class SplitConfig(Section, frozen=True):
    """Train/validation/test ratios; chronological unless `shuffle` is set (which leaks the future).

    gap : int or None, default None
        Rows left out between parts; None means the window length (or the context width in
        BIO mode), so overlapping windows never straddle two parts.
    """

    train: float = 0.7
    validation: float = 0.15
    test: float = 0.15
    gap: NonNegativeInt | None = None
    shuffle: bool = False

    def __post_init__(self) -> None:
        for name in ("train", "validation", "test"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name}: {value!r} is not in (0, 1)")
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + validation + test must add up to 1, got {total:g}")


class RandomForestParams(Section, frozen=True):
    n_estimators: PositiveInt = 200
    max_depth: PositiveInt | None = None
    min_samples_leaf: PositiveInt = 2
    max_features: str | float = "sqrt"
    n_jobs: int = -1


class XGBoostParams(Section, frozen=True):
    n_estimators: PositiveInt = 200
    max_depth: PositiveInt = 6
    learning_rate: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.1
    subsample: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.9
    colsample_bytree: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.8
    tree_method: str = "hist"
    n_jobs: int = -1


class PoolConfig(Section, frozen=True):
    """Pooled models (`ml_platform.training.pooled`): one model per timeframe fitted on several partitions.

    enabled : bool, default False
        Also train a pooled model next to the per-partition ones.
    timeframes : list of str, default [] (every configured timeframe)
    pairs : list of str, default [] (every configured pair)
        The member partitions of each timeframe's pool.
    serve : "fallback" or "prefer", default "fallback"
        What the bundle model source serves for a member partition when a pool's champion exists:
        ``fallback``, the pooled model only while the partition has no champion of its own (a new
        pair, or one whose own model could not train); ``prefer``, the pooled model always.
    """

    enabled: bool = False
    timeframes: list[str] = msgspec.field(default_factory=list)
    pairs: list[str] = msgspec.field(default_factory=list)
    serve: Literal["fallback", "prefer"] = "fallback"

    def __post_init__(self) -> None:
        for index, pair in enumerate(self.pairs):
            if not isinstance(pair, str) or not PAIR_PATTERN.fullmatch(pair):
                raise ValueError(f"pairs[{index}]: {pair!r} is not upper-case letters and digits joined by '-'")
        for index, timeframe in enumerate(self.timeframes):
            if timeframe not in TIMEFRAMES:
                raise ValueError(f"timeframes[{index}]: {timeframe!r} is not one of {' '.join(TIMEFRAMES)}")


class TrainingConfig(Section, frozen=True):
    """Model choice and hyperparameters (one model per pair x timeframe partition)."""

    model_type: str = "xgboost"
    # fnmatch patterns of feature columns the model leaves out. The defaults are the
    # indicators measured in price units: when the price drifts out of the training range
    # their values carry no signal (span F1 0.60 with them, 0.81-0.87 without: docs/BENCHMARKS.md).
    exclude_features: list[str] = msgspec.field(
        default_factory=lambda: ["sma_*", "ema_*", "macd_*", "bbands_*", "atr_*"]
    )
    class_weights: Literal["balanced", "none"] | dict[str, Annotated[float, msgspec.Meta(gt=0)]] = "balanced"
    split: SplitConfig = SplitConfig()
    random_forest: RandomForestParams = RandomForestParams()
    xgboost: XGBoostParams = XGBoostParams()
    seed: int = 42
    # bundle versions kept per partition under {models_path}/{PAIR}_{TF}/versions/ (the champion and the
    # previous champion are always kept on top of these): ml_platform.bundle_store
    keep_bundles: Annotated[int, msgspec.Meta(ge=2)] = 5
    pool: PoolConfig = PoolConfig()
