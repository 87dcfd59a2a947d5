"""What the prediction and data handlers do: `PredictService` and `DataService`, one per request.

A service object binds the settings, the registry snapshot read once for the request, and
the candle store (`serving.controllers.dependencies` builds it), so a handler is one call.
The prediction path is also plain functions of explicit arguments (`predict`,
`predict_batch`, `to_response`), which the benchmark runs in-process.

Every pair/timeframe is checked against the partitions the service knows (configured,
stored or with a model) before any file is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.inference import (
    CandlePredictions,
    NotEnoughCandlesError,
    candles_frame,
    class_labels,
    group_spans,
)
from ml_platform.partitions import Partition, PartitionError
from serving.candle_store import CandleStore, select_range
from serving.errors import (
    NoModelError,
    NoModelLoadedError,
    NoStoredCandlesError,
    TooLargeError,
    UnknownPartitionError,
    UnprocessableError,
)
from serving.registry import Registry
from serving.schemas import (
    BatchPredictRequest,
    Candle,
    CandlePrediction,
    PartitionInfo,
    PredictRequest,
    PredictResponse,
    Span,
)
from serving.settings import Settings
from serving.sources import LoadedModel

# --------------------------------------------------------------------------- partitions


def known_partitions(settings: Settings, registry: Registry) -> list[Partition]:
    """The configured partitions, then any other partition a loaded model serves."""
    config = settings.config.partitions
    known = [Partition(pair, tf) for pair in config.pairs for tf in config.timeframes]
    known += [p for p in registry.models if p not in known]
    return known


def _available(partitions: Sequence[Partition]) -> str:
    return ", ".join(f"{p.pair} {p.timeframe}" for p in partitions) or "none"


MAX_ECHOED_CHARS = 64
"""Longest request value quoted back in an error message; longer ones are cut (a 5 MB pair is not echoed)."""


def shown(value: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """`value` as quoted in an error: cut to `limit` characters, saying how long it was."""
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


def parse_partition(pair: str, timeframe: str, settings: Settings, registry: Registry) -> Partition:
    """The Partition for a known pair and timeframe, else UnknownPartitionError (404) listing the known ones."""
    if len(pair) > MAX_ECHOED_CHARS or len(timeframe) > MAX_ECHOED_CHARS:
        known = known_partitions(settings, registry)
        raise UnknownPartitionError(
            f"unknown pair/timeframe {shown(pair)} {shown(timeframe)}: this service knows {_available(known)}"
        )
    try:
        partition = Partition(pair, timeframe)
    except PartitionError as exc:
        raise UnknownPartitionError(f"{exc}") from None
    known = known_partitions(settings, registry)
    if partition not in known:
        raise UnknownPartitionError(
            f"unknown pair/timeframe {pair} {timeframe}: this service knows {_available(known)} "
            "(partitions.pairs and partitions.timeframes in the config)"
        )
    return partition


def resolve_model(pair: str, timeframe: str, settings: Settings, registry: Registry) -> LoadedModel:
    """The loaded model of a partition: 503 when none is loaded at all, 404 when this one has none."""
    if not registry.can_predict:
        failures = "; ".join(f"{f.partition}: {f.error}" for f in registry.failures[:3])
        hint = (
            f" Load failures: {failures}"
            if failures
            else (f" No bundle found under {settings.models_path}: materialize trained_model (make demo).")
        )
        raise NoModelLoadedError(f"no model is loaded, so nothing can be predicted.{hint}")
    partition = parse_partition(pair, timeframe, settings, registry)
    model = registry.get(partition)
    if model is None:
        raise NoModelError(
            f"no model for {pair} {timeframe}: materialize trained_model for partition '{partition.key}', then "
            f"POST /model/reload; models are loaded for {_available(list(registry.models))}"
        )
    return model


# --------------------------------------------------------------------------- predictions


def predict(request: PredictRequest, settings: Settings, registry: Registry) -> PredictResponse:
    """POST /predict: validate, compute features with the bundle's config, label, group spans."""
    model = resolve_model(request.pair, request.timeframe, settings, registry)
    candles = request.candles
    limit = settings.serving.max_candles
    if len(candles) > limit:
        raise TooLargeError(
            f"{len(candles)} candles exceed the limit of {limit} per request (serving.max_candles): "
            "split the request, or use POST /predict/batch on stored candles"
        )
    times = [c.time for c in candles]
    frame = candles_frame(
        times,
        [c.open for c in candles],
        [c.high for c in candles],
        [c.low for c in candles],
        [c.close for c in candles],
        [c.volume for c in candles],
        timeframe_seconds=model.partition.seconds,
    )
    result = model.predictor.predict(frame, batch_size=settings.serving.batch_size)
    return to_response(result, model, frame["time"].to_numpy())


def predict_batch(
    request: BatchPredictRequest, settings: Settings, registry: Registry, store: CandleStore
) -> PredictResponse:
    """POST /predict/batch: the stored candles of a time range, in chunks, equal to one pass."""
    model = resolve_model(request.pair, request.timeframe, settings, registry)
    if request.start is not None and request.end is not None and request.start > request.end:
        raise UnprocessableError(f"start {request.start} is after end {request.end}: swap them")
    keyed = store.read_keyed(model.partition)
    if keyed is None:
        raise NoStoredCandlesError(
            f"no stored candles for {request.pair} {request.timeframe}: materialize raw_candles for "
            f"'{model.partition.key}' ({store.path(model.partition).name} under data.raw_store)"
        )
    file_key, candles = keyed
    times = candles["time"].to_numpy()
    window = select_range(times, start=request.start, end=request.end, limit=None)
    if window.stop <= window.start:
        raise UnprocessableError(
            f"no stored candles between {request.start} and {request.end}: the stored {request.pair} "
            f"{request.timeframe} candles run from {int(times[0])} to {int(times[-1])}"
        )
    batch_size = request.batch_size or settings.serving.batch_size
    result = predict_stored_range(model, store, file_key, candles, window.start, window.stop - 1, batch_size=batch_size)
    return to_response(result, model, times[window])


def predict_stored_range(
    model: LoadedModel,
    store: CandleStore,
    file_key: tuple[int, int],
    candles: pd.DataFrame,
    first: int,
    last: int,
    *,
    batch_size: int,
) -> CandlePredictions:
    """`predict_range` of stored candles ``first..last``, sliced from the cached whole-series predictions.

    The series is computed once per (partition, loaded model, stored file), in `batch_size`
    chunks; a model with custom features (which may read later candles) is not cached, and a
    range with nothing to label goes to `predict_range` for its exact error.
    """
    predictor = model.predictor
    if predictor.prefix_stable:
        try:
            series = store.predictions.series(model, file_key, candles, batch_size=batch_size)
        except NotEnoughCandlesError:
            series = None  # nothing in the store can be labelled: predict_range raises the range's own error
        if series is not None:
            result = predictor.range_of_series(series, first, last)
            if result is not None:
                return result
    return predictor.predict_range(candles, first, last, batch_size=batch_size)


def to_response(result: CandlePredictions, model: LoadedModel, times: np.ndarray) -> PredictResponse:
    """The response body; `times` are the times of the request's (or range's) candles."""
    classes = result.classes
    labels = class_labels(classes)
    predictions = [
        CandlePrediction(time=t, label=labels[c], confidence=p, tag=classes[c], index=i)
        for t, c, p, i in zip(
            result.times.tolist(),
            result.class_ids.tolist(),
            result.confidences.tolist(),
            result.indices.tolist(),
            strict=True,
        )
    ]
    spans = group_spans(result)
    start_times = times[spans.start_indices].tolist()
    end_times = times[spans.end_indices].tolist()
    span_list = [
        Span(label=label, start_time=s, end_time=e, start_index=si, end_index=ei, avg_confidence=a)
        for label, s, e, si, ei, a in zip(
            spans.labels,
            start_times,
            end_times,
            spans.start_indices.tolist(),
            spans.end_indices.tolist(),
            spans.avg_confidence.tolist(),
            strict=True,
        )
    ]
    return PredictResponse(
        predictions=predictions,
        spans=span_list,
        model_info=model.info,
        candles=result.n_candles,
        unlabeled_leading=result.unlabeled_leading,
        unlabeled_trailing=result.unlabeled_trailing,
        unpredictable_indices=result.skipped.tolist(),
        reason=result.reason,
    )


# --------------------------------------------------------------------------- the service objects


@dataclass(frozen=True)
class PredictService:
    """``POST /predict`` and ``POST /predict/batch`` over one registry snapshot."""

    settings: Settings
    registry: Registry
    store: CandleStore

    def predict(self, request: PredictRequest) -> PredictResponse:
        return predict(request, self.settings, self.registry)

    def predict_batch(self, request: BatchPredictRequest) -> PredictResponse:
        return predict_batch(request, self.settings, self.registry, self.store)


@dataclass(frozen=True)
class DataService:
    """``GET /partitions`` and ``GET /candles``: the stored candles, for the chart."""

    settings: Settings
    registry: Registry
    store: CandleStore

    def partitions(self) -> list[PartitionInfo]:
        """Every known partition with stored candles."""
        out = []
        for partition in known_partitions(self.settings, self.registry):
            summary = self.store.summary(partition)
            if summary is None:
                continue
            out.append(
                PartitionInfo(
                    pair=partition.pair,
                    timeframe=partition.timeframe,
                    candles=summary.candles,
                    first_time=summary.first_time,
                    last_time=summary.last_time,
                    has_model=self.registry.get(partition) is not None,
                )
            )
        return out

    def candles(
        self, pair: str, timeframe: str, *, start: int | None = None, end: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Stored candles with start <= time <= end; `limit` without `start` takes the last ones."""
        partition = parse_partition(pair, timeframe, self.settings, self.registry)
        if start is not None and end is not None and start > end:
            raise UnprocessableError(f"start {start} is after end {end}: swap them")
        candles = self.store.read(partition)
        if candles is None:
            raise NoStoredCandlesError(
                f"no stored candles for {pair} {timeframe}: materialize raw_candles for '{partition.key}'"
            )
        window = select_range(candles["time"].to_numpy(), start=start, end=end, limit=limit)
        part = candles.iloc[window]
        columns = [part[name].tolist() for name in ("time", "open", "high", "low", "close", "volume")]
        return [
            Candle(time=t, open=o, high=h, low=lo, close=c, volume=v)
            for t, o, h, lo, c, v in zip(*columns, strict=True)
        ]
