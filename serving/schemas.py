"""Request and response bodies: small msgspec Structs on one base (docs/DESIGN.md, "Inference HTTP API").

Field names are the contract's snake_case. Fields beyond the contract are additive:
`CandlePrediction.tag`/`index`, the ``unlabeled_*``/``reason`` fields of `PredictResponse`,
the extra `ModelInfo` fields. Times are epoch seconds (UTC).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class Schema(msgspec.Struct, kw_only=True):
    """Base of every body: keyword-only fields, snake_case JSON."""


MAX_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
EpochSeconds = Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_SECONDS, description="Epoch seconds, UTC.")]

# Litestar drops a constraint whose value is 0 from the OpenAPI schema (it tests truthiness), so
# zero bounds are also stated as schema extras ("extra" of msgspec's extra_json_schema).
_MINIMUM_ZERO = {"extra": {"minimum": 0}}
# Checked by the service (422 with the candle's index), stated here so the schema says so.
Price = Annotated[
    float,
    msgspec.Meta(description="A finite positive price.", extra_json_schema={"extra": {"exclusive_minimum": 0}}),
]
Volume = Annotated[float, msgspec.Meta(description="Finite, >= 0.", extra_json_schema=_MINIMUM_ZERO)]


# --------------------------------------------------------------------------- candles


class Candle(Schema):
    """One OHLCV candle. Prices must be finite and positive, high >= open/close/low, low <= open/close."""

    time: EpochSeconds
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Volume = 0.0


class PartitionInfo(Schema):
    """A pair and timeframe with stored candles (the chart's selector)."""

    pair: str
    timeframe: str
    candles: int
    first_time: EpochSeconds
    last_time: EpochSeconds
    has_model: bool


# --------------------------------------------------------------------------- predict


class PredictRequest(Schema):
    """Candles of one pair and timeframe in time order (strictly increasing times), a whole number of
    timeframes apart (gaps such as weekends are fine; 1 s apart for a 1h model is not)."""

    pair: Annotated[str, msgspec.Meta(description="E.g. EURUSD or BTC-USDT; must have a loaded model.")]
    timeframe: Annotated[str, msgspec.Meta(description="One of 1m 5m 15m 30m 1h 4h 1d 1w.")]
    candles: Annotated[
        list[Candle],
        msgspec.Meta(
            min_length=1,
            description="At least one; at most serving.max_candles (413 beyond); enough history for the "
            "indicators' warm-up (see /model/info min_candles).",
        ),
    ]


class BatchPredictRequest(Schema):
    """A time range of the stored candles of one pair and timeframe."""

    pair: str
    timeframe: str
    start: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                le=MAX_EPOCH_SECONDS,
                extra_json_schema=_MINIMUM_ZERO,
                description=("First candle time, epoch seconds (inclusive); default: the first stored."),
            ),
        ]
        | None
    ) = None
    end: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                le=MAX_EPOCH_SECONDS,
                extra_json_schema=_MINIMUM_ZERO,
                description=("Last candle time, epoch seconds (inclusive); default: the last stored."),
            ),
        ]
        | None
    ) = None
    batch_size: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                description=("Candles per model call (default serving.batch_size); the result does not depend on it."),
            ),
        ]
        | None
    ) = None


class CandlePrediction(Schema):
    """The model's label for one candle."""

    time: EpochSeconds
    label: Annotated[str, msgspec.Meta(description="The pattern name (B-/I- stripped), or O for no pattern.")]
    confidence: Annotated[float, msgspec.Meta(description="Probability of the predicted tag, 0..1.")]
    tag: Annotated[
        str, msgspec.Meta(description="The raw class: B-<label>, I-<label>, O (or the label for a windowed model).")
    ]
    index: Annotated[int, msgspec.Meta(description="Position of the candle in the request (batch: in the range).")]


class Span(Schema):
    """Consecutive candles with the same non-O label (a B- tag starts a new span)."""

    label: str
    start_time: EpochSeconds
    end_time: EpochSeconds
    start_index: Annotated[int, msgspec.Meta(description="Index of the first candle in the request's candles.")]
    end_index: Annotated[int, msgspec.Meta(description="Index of the last candle (inclusive).")]
    avg_confidence: float


class ModelInfo(Schema):
    """Which model answered."""

    name: Annotated[str, msgspec.Meta(description="The registered model name, or {PAIR}_{TF}.")]
    version: str
    pair: str
    timeframe: str
    trained_at: str
    model_type: str
    mode: Annotated[
        Literal["bio", "window", "span"],
        msgspec.Meta(description="labeling.mode of the model: per-candle BIO, windowed, or span detector (+ CDL BIO)."),
    ]
    source: Literal["bundle", "mlflow"]
    pooled_from: Annotated[
        list[str],
        msgspec.Meta(
            description="Empty for the partition's own model. A pooled model (training.pool, folder POOLED_{TF}) "
            "serving this partition lists the partitions (PAIR|TF) it was trained on."
        ),
    ] = msgspec.field(default_factory=list)


class PredictResponse(Schema):
    """Per-candle labels, spans and the model; every labelled candle appears once, in time order."""

    predictions: list[CandlePrediction]
    spans: list[Span]
    model_info: ModelInfo
    candles: Annotated[int, msgspec.Meta(description="Candles in the request (batch: in the range).")]
    unlabeled_leading: Annotated[
        int,
        msgspec.Meta(
            description="Leading candles without a label: indicator warm-up plus the model's previous context "
            "(or half window)."
        ),
    ]
    unlabeled_trailing: Annotated[
        int,
        msgspec.Meta(description="Trailing candles without a label: the model's look-ahead context (or half window)."),
    ]
    unpredictable_indices: Annotated[
        list[int],
        msgspec.Meta(description="Candles inside the labelled range whose features are not finite (normally empty)."),
    ]
    reason: Annotated[str, msgspec.Meta(description="Why the unlabelled candles have no label; empty if none.")]


# --------------------------------------------------------------------------- model


class LabelInfo(Schema):
    """A label a loaded model can emit, with the colour the chart draws it in."""

    name: str
    color: str


class LoadedModelInfo(ModelInfo, kw_only=True):
    """One loaded model: its identity (as in every prediction's `model_info`), inputs and training metrics."""

    runtime: Annotated[
        str,
        msgspec.Meta(
            description="What executes the model: xgboost, sklearn, or onnxruntime (a RandomForest converted at load "
            "and adopted only when its labels equal scikit-learn's)."
        ),
    ]
    location: Annotated[str, msgspec.Meta(description="Bundle folder or models:/ URI.")]
    loaded_at: str
    classes: list[str]
    labels: list[LabelInfo]
    feature_count: int
    min_candles: Annotated[int | None, msgspec.Meta(description="Fewest candles of which one can be labelled.")]
    unlabeled_leading: Annotated[int | None, msgspec.Meta(description="Candles a /predict request loses at the start.")]
    unlabeled_trailing: int
    dataset_version: str
    mlflow_run_id: str | None
    registered_model_name: str | None
    registered_version: str | None
    metrics: Annotated[
        dict[str, Any], msgspec.Meta(description="From the bundle (validation, test, per_class) or the MLflow run.")
    ]


class LoadFailure(Schema):
    """A model that could not be loaded (the service serves the others)."""

    partition: str
    location: str
    error: str
    at: str
    serving_version: Annotated[
        str | None, msgspec.Meta(description="The version still served for this partition, if an older one is loaded.")
    ] = None


class ModelInfoResponse(Schema):
    """Every loaded model and every load failure."""

    source: Literal["bundle", "mlflow"]
    models: list[LoadedModelInfo]
    failures: list[LoadFailure]
    last_reload: str
    reload_interval_seconds: float


class ReloadResponse(Schema):
    """What a reload changed."""

    loaded: Annotated[list[str], msgspec.Meta(description="Partition keys served now (PAIR|TF).")]
    changed: Annotated[list[str], msgspec.Meta(description="Partition keys whose model was (re)loaded or removed.")]
    failures: list[LoadFailure]


# --------------------------------------------------------------------------- health


class ComponentHealth(Schema):
    """One dependency's status."""

    status: Literal["ok", "error"]
    detail: str


class HealthResponse(Schema):
    """200 when the service can predict (a model is loaded), 503 when it cannot."""

    status: Literal["ok", "degraded", "unavailable"]
    can_predict: bool
    model: ComponentHealth
    mlflow: ComponentHealth
    database: ComponentHealth


# --------------------------------------------------------------------------- errors


class ErrorResponse(Schema):
    """Every error: the HTTP status, a machine-readable code and a message a person can act on."""

    status_code: int
    error: Annotated[str, msgspec.Meta(description="E.g. unknown_partition, no_model, invalid_candles, too_large.")]
    detail: str
    index: Annotated[int | None, msgspec.Meta(description="The first bad candle, for invalid_candles.")] = None
    extra: list[dict[str, Any]] | None = None
