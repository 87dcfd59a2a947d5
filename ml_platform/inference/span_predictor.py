"""`SpanPredictor`: per-candle labels from a span bundle (``mode: "span"``), for the same service paths.

Chart labels: the bundle's `SpanDetector` runs once over the whole requested series (its
candidates, shape features and NMS need every candle of a span and its context, so the
series is never chunked; ``batch_size`` only chunks the CDL part). Each candle inside a
detected span gets ``B-{label}`` (first candle) or ``I-{label}`` and the span's confidence
(`ml_platform.shapes.tags.spans_to_tags`: where spans overlap, the more confident one).
Cost: one detector pass per request, about linear in the candles times the candidates per
candle (measured in docs/BENCHMARKS.md, serving section).

CDL labels: the optional per-candle BIO part is an ordinary BIO `Predictor` (warm-up and
context as in BIO mode); its tags fill the candles outside chart spans. Candles outside
every span the CDL part cannot label (its warm-up and context) are ``O``; an ``O`` candle
without a CDL estimate has confidence 1.0 (no detection at or above the threshold).

Every candle of the request is labelled (``unlabeled_leading`` and ``_trailing`` are 0).
`predict_range(candles, first, last)` runs the detector over candles ``first..last`` only (so
it equals `predict` of that slice for the chart labels) and the CDL part with its stored
history, as BIO mode does. `prefix_stable` is False: the series cache does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import numpy as np
import pandas as pd

from ml_platform.bundle import ModelBundle
from ml_platform.inference.errors import NotEnoughCandlesError
from ml_platform.inference.predictor import Predictor
from ml_platform.inference.results import OUTSIDE_LABEL, CandlePredictions, SeriesPredictions
from ml_platform.shapes.tags import spans_to_tags

OHLCV = ["open", "high", "low", "close", "volume"]


def span_confidences(spans: pd.DataFrame, n_candles: int) -> np.ndarray:
    """Per-candle confidence of the span owning each candle (as `spans_to_tags` assigns them); NaN outside spans."""
    out = np.full(n_candles, np.nan)
    if len(spans) == 0:
        return out
    confidence = spans["confidence"].to_numpy(dtype=np.float64)
    start, end = spans["start"].to_numpy(dtype=np.int64), spans["end"].to_numpy(dtype=np.int64)
    for i in np.argsort(-confidence, kind="stable").tolist():
        part = out[start[i] : end[i] + 1]
        part[np.isnan(part)] = confidence[i]
    return out


@dataclass(frozen=True)
class SpanPredictor(Predictor):
    """A span bundle's predictor; `cdl` is the BIO predictor of its CDL part (None without one)."""

    cdl: Predictor | None = None

    @classmethod
    def from_span_bundle(cls, bundle: ModelBundle, *, n_jobs: int | None = 1) -> SpanPredictor:
        """Resolve the span bundle's config and its CDL part (see `Predictor.from_bundle`)."""
        model = bundle.model
        cdl = None
        if model.cdl_estimator is not None:
            meta = msgspec.structs.replace(bundle.meta, mode="bio", classes=list(model.cdl_classes))
            cdl = Predictor.from_bundle(
                ModelBundle(directory=bundle.directory, meta=meta, model=model.cdl_estimator), n_jobs=n_jobs
            )
        if n_jobs is not None:
            estimator = model.detector.estimator
            get_params = getattr(estimator, "get_params", None)
            if get_params is not None and "n_jobs" in get_params():
                estimator.set_params(n_jobs=n_jobs)
        context = bundle.config.features.context
        return cls(
            bundle=bundle,
            config=bundle.config,
            mode="span",
            before=0 if cdl is None else context.previous,
            after=0 if cdl is None else context.next,
            warmup_rows=None if cdl is None else cdl.warmup_rows,
            cdl=cdl,
        )

    @property
    def min_candles(self) -> int | None:
        """One: every candle gets a chart label (``O`` when no span is detected)."""
        return 1

    @property
    def prefix_stable(self) -> bool:
        return False

    def probe_inputs(self) -> np.ndarray:
        return np.zeros((0, len(self.bundle.meta.feature_columns)))

    def predict(self, candles: pd.DataFrame, *, batch_size: int) -> CandlePredictions:
        """Label every candle of `candles` (the canonical frame): chart spans, then CDL tags outside them."""
        return self.predict_range(candles, 0, len(candles) - 1, batch_size=batch_size)

    def predict_range(self, candles: pd.DataFrame, first: int, last: int, *, batch_size: int) -> CandlePredictions:
        """Label candles ``first..last`` (see the module docstring); indices relative to `first`."""
        if not 0 <= first <= last < len(candles):
            raise NotEnoughCandlesError(f"range {first}..{last} is outside the {len(candles)} candles")
        window = candles.iloc[first : last + 1].reset_index(drop=True)
        n = len(window)
        spans = self.bundle.model.detector.predict(window.loc[:, OHLCV])
        tags = spans_to_tags(spans, n)
        confidences = span_confidences(spans, n)
        if self.cdl is not None:
            try:
                cdl = self.cdl.predict_range(candles, first, last, batch_size=batch_size)
            except NotEnoughCandlesError:
                cdl = None
            if cdl is not None:
                outside = tags[cdl.indices] == OUTSIDE_LABEL
                at = cdl.indices[outside]
                tags[at] = np.asarray(cdl.classes, dtype=object)[cdl.class_ids[outside]]
                confidences[at] = cdl.confidences[outside]
        confidences[np.isnan(confidences)] = 1.0
        index = {tag: i for i, tag in enumerate(self.classes)}
        unknown = sorted(set(tags.tolist()) - set(index))
        if unknown:
            raise ValueError(f"the span bundle emitted tags {unknown} missing from its classes: retrain it")
        return CandlePredictions(
            n_candles=n,
            indices=np.arange(n, dtype=np.int64),
            times=window["time"].to_numpy(dtype=np.int64),
            class_ids=np.asarray([index[t] for t in tags.tolist()], dtype=np.int64),
            confidences=confidences,
            classes=self.classes,
            unlabeled_leading=0,
            unlabeled_trailing=0,
        )

    def predict_series(self, candles: pd.DataFrame, *, batch_size: int) -> SeriesPredictions:
        """The whole series, labelled once (the span detector over every stored candle)."""
        predictions = self.predict(candles, batch_size=batch_size)
        return SeriesPredictions(n_candles=len(candles), warmup_rows=0, predictions=predictions)

    def range_of_series(self, series: SeriesPredictions, first: int, last: int) -> CandlePredictions | None:
        """None: a range's spans depend on the range (`predict_range` computes it)."""
        return None
