"""Span mode's fit and evaluation (``labeling.mode: span``), called by `fit.fit_and_evaluate`.

The chart labels (``labeling.labels``) are learnt by a `SpanDetector` fitted on the train
part's candle segment and the annotated spans lying wholly in it (``labeling.span``
settings, ``training.model_type`` and its hyperparameters). The CDL tags stay per candle: a
BIO estimator is fitted on the train rows with every chart tag set to ``O`` when CDL tags
remain (else the model has no CDL part).

Scores of the validation and test parts (each scored on its own candle segment, so no
candle of another part is read):

- span precision/recall/F1 of the chart labels at IoU >= 0.5 (`evaluation.match_spans`),
  overall (``span_*``) and per label (``metrics["span_per_label"][part][label]``);
- per-candle ``accuracy``/``f1_macro``/``f1_weighted`` of the combined tags (chart tags
  from the detected spans, CDL tags elsewhere), and ``cdl_f1_macro`` of the CDL part alone.

The promotion metric in span mode is the validation ``span_f1`` (`fit.promotion_score`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml_platform.config import PipelineConfig
from ml_platform.shapes.detector import SpanDetector
from ml_platform.shapes.tags import spans_to_tags
from ml_platform.training import evaluation
from ml_platform.training.dataset import Dataset, TrainingDataError
from ml_platform.training.evaluation import Span, match_spans
from ml_platform.training.models import get_model_type
from ml_platform.training.span_data import OHLCV, SpanSource
from ml_platform.training.span_model import SpanModel
from ml_platform.training.weights import class_weight_map

OUTSIDE = "O"


def _spans(frame: pd.DataFrame) -> list[Span]:
    return [
        Span(label=str(label), start=int(start), end=int(end))
        for start, end, label in zip(frame["start"], frame["end"], frame["label"], strict=True)
    ]


def _source(dataset: Dataset) -> SpanSource:
    source = dataset.span
    if source is None:
        raise TrainingDataError("labeling.mode is 'span' but the dataset was prepared without span data")
    missing = [c for c in OHLCV if c not in source.candles.columns]
    if missing:
        raise TrainingDataError(
            f"labeling.mode is 'span' but the labeled data lacks the candle columns {missing}: "
            "re-materialize labeled_windows"
        )
    return source


def fit_detector(dataset: Dataset, config: PipelineConfig) -> SpanDetector:
    """The detector fitted on the train part's candles and the chart spans wholly inside them.

    Raises TrainingDataError when the train part holds no chart-pattern span.
    """
    source = _source(dataset)
    first, last = source.segment(dataset.split.train)
    spans = source.spans_within(first, last)
    if spans.empty:
        raise TrainingDataError(
            f"labeling.mode is 'span' but the train part (candles {first}..{last}) holds no chart-pattern span of "
            f"{list(source.chart_labels)} ({len(source.spans)} in the whole partition): annotate chart patterns "
            "for this partition, or use labeling.mode bio for CDL labels only"
        )
    candles = source.candles.iloc[first : last + 1].reset_index(drop=True)
    return SpanDetector.fit(
        [(candles, spans)],
        settings=config.labeling.span,
        model_type=config.training.model_type,
        seed=config.training.seed,
        training=config.training,
    )


def fit_cdl(dataset: Dataset, config: PipelineConfig) -> tuple[Any | None, list[str], np.ndarray]:
    """The per-candle BIO estimator of the CDL tags (chart tags set to ``O``).

    Returns ``(estimator or None, its classes, CDL tag of every dataset row)``; None when the
    train rows hold fewer than two CDL classes.
    """
    source = _source(dataset)
    tags = np.asarray(dataset.classes, dtype=object)[dataset.y]
    cdl_tags = np.where([source.is_chart(str(t)) for t in tags], OUTSIDE, tags).astype(str)
    classes = sorted(set(cdl_tags[dataset.split.train].tolist()))
    if len(classes) < 2:
        return None, [], cdl_tags
    index = {c: i for i, c in enumerate(classes)}
    train = dataset.split.train
    y = np.asarray([index[t] for t in cdl_tags[train].tolist()], dtype=np.int64)
    weights = class_weight_map(y, classes, config.training.class_weights)
    estimator = get_model_type(config.training.model_type)(config.training).fit(
        dataset.X[train], y, class_weight=weights
    )
    return estimator, classes, cdl_tags


def _cdl_predicted(model: SpanModel, X: np.ndarray) -> np.ndarray:
    if model.cdl_estimator is None:
        return np.full(len(X), OUTSIDE, dtype=object)
    return np.asarray(model.cdl_classes, dtype=object)[model.cdl_proba(X).argmax(axis=1)]


def evaluate_part(
    model: SpanModel, dataset: Dataset, part: str, cdl_tags: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any], tuple[list[str], list[str]], dict[str, dict[str, float]]]:
    """Scores of one part: ``(metrics, span per-label metrics, (true, predicted) tags, per-class)``."""
    source = _source(dataset)
    rows = dataset.split.parts()[part]
    first, last = source.segment(rows)
    candles = source.candles.iloc[first : last + 1].reset_index(drop=True)
    predicted_spans = model.detector.predict(candles)
    matched = match_spans(_spans(source.spans_within(first, last)), _spans(predicted_spans))
    per_label = matched.pop("per_label")
    chart_tags = spans_to_tags(predicted_spans, len(candles))[source.positions[rows] - first]
    cdl_predicted = _cdl_predicted(model, dataset.X[rows])
    combined = np.where(chart_tags != OUTSIDE, chart_tags, cdl_predicted).astype(str).tolist()
    truth = dataset.tags(part)
    candle_metrics = evaluation.classification_metrics(truth, combined, dataset.classes)
    per_class = candle_metrics.pop("per_class")
    metrics: dict[str, Any] = {**candle_metrics, **matched}
    if model.cdl_estimator is not None:
        cdl = evaluation.classification_metrics(cdl_tags[rows].tolist(), cdl_predicted.tolist(), model.cdl_classes)
        metrics.update({f"cdl_{key}": cdl[key] for key in ("accuracy", "f1_macro", "f1_weighted")})
    return metrics, per_label, (truth, combined), per_class


def fit_span_model(dataset: Dataset, config: PipelineConfig) -> tuple[SpanModel, dict[str, Any]]:
    """Fit the detector and the CDL part; score validation and test.

    Returns ``(model, {"metrics", "predictions", "per_class", "hyperparameters"})`` where
    ``metrics`` is the bundle's ``{"validation", "test", "per_class", "span_per_label"}``.
    """
    detector = fit_detector(dataset, config)
    estimator, cdl_classes, cdl_tags = fit_cdl(dataset, config)
    model = SpanModel(
        detector=detector, cdl_estimator=estimator, cdl_classes=cdl_classes, cdl_model_type=config.training.model_type
    )
    scores: dict[str, Any] = {}
    per_label: dict[str, Any] = {}
    predictions: dict[str, tuple[list[str], list[str]]] = {}
    per_class: dict[str, dict[str, dict[str, float]]] = {}
    for part in ("validation", "test"):
        scores[part], per_label[part], predictions[part], per_class[part] = evaluate_part(
            model, dataset, part, cdl_tags
        )
    hyperparameters = {
        **get_model_type(config.training.model_type)(config.training).hyperparameters(),
        **{f"span.{key}": value for key, value in config.to_dict()["labeling"]["span"].items()},
    }
    metrics = {
        "validation": scores["validation"],
        "test": scores["test"],
        "per_class": per_class["test"],
        "span_per_label": per_label,
    }
    return model, {
        "metrics": metrics,
        "predictions": predictions,
        "per_class": per_class,
        "hyperparameters": hyperparameters,
    }
