"""Fit the configured model on a dataset's train part and score validation and test.

The scores are `ml_platform.training.evaluation`'s: per-row metrics, and span metrics in
BIO mode when the split is chronological. `flat_metrics` and `metrics_summary` name them
for MLflow and the `training_runs` row. Span mode (``labeling.mode: span``) fits and scores
in `ml_platform.training.span_fit`; `promotion_score` is the metric promotion compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_platform.config import PipelineConfig
from ml_platform.training import evaluation
from ml_platform.training.dataset import Dataset
from ml_platform.training.models import PatternModel, get_model_type
from ml_platform.training.weights import class_weight_map


@dataclass(frozen=True)
class FittedModel:
    """A fitted estimator with its predictions and scores on the validation and test parts."""

    estimator: Any
    model_type: type[PatternModel]
    hyperparameters: dict[str, Any]
    class_weight: dict[int, float] | None
    predictions: dict[str, tuple[list[str], list[str]]]  # part -> (true tags, predicted tags)
    metrics: dict[str, Any]  # the bundle's {"validation", "test", "per_class"}
    per_class: dict[str, dict[str, dict[str, float]]]  # part -> class -> precision/recall/f1/support
    mode: str = "bio"  # labeling.mode: "span" means `estimator` is a `SpanModel`


def fit_and_evaluate(dataset: Dataset, config: PipelineConfig) -> FittedModel:
    """Fit the configured model on the train part and score validation and test."""
    model_type = get_model_type(config.training.model_type)
    if dataset.mode == "span":
        from ml_platform.training.span_fit import fit_span_model

        model, result = fit_span_model(dataset, config)
        return FittedModel(
            estimator=model,
            model_type=model_type,
            hyperparameters=result["hyperparameters"],
            class_weight=None,
            predictions=result["predictions"],
            metrics=result["metrics"],
            per_class=result["per_class"],
            mode="span",
        )
    wrapper = model_type(config.training)
    train = dataset.split.train
    weights = class_weight_map(dataset.y[train], dataset.classes, config.training.class_weights)
    estimator = wrapper.fit(dataset.X[train], dataset.y[train], class_weight=weights)
    predictions: dict[str, tuple[list[str], list[str]]] = {}
    scores: dict[str, dict[str, Any]] = {}
    per_class: dict[str, dict[str, dict[str, float]]] = {}
    for part in ("validation", "test"):
        rows = dataset.split.parts()[part]
        predicted = [dataset.classes[i] for i in np.asarray(estimator.predict(dataset.X[rows]), dtype=np.int64)]
        truth = dataset.tags(part)
        predictions[part] = (truth, predicted)
        result = evaluation.classification_metrics(
            truth, predicted, dataset.classes, spans=dataset.mode == "bio" and not dataset.split.shuffled
        )
        per_class[part] = result.pop("per_class")
        scores[part] = result
    metrics = {"validation": scores["validation"], "test": scores["test"], "per_class": per_class["test"]}
    return FittedModel(
        estimator=estimator,
        model_type=model_type,
        hyperparameters=wrapper.hyperparameters(),
        class_weight=weights,
        predictions=predictions,
        metrics=metrics,
        per_class=per_class,
    )


def promotion_metric(mode: str) -> str:
    """The validation metric promotion compares: ``span_f1`` in span mode, else ``f1_macro``."""
    return "span_f1" if mode == "span" else "f1_macro"


def promotion_score(fitted: FittedModel) -> float:
    """`fitted`'s validation `promotion_metric` (what moves the champion alias and ``champion.json``)."""
    return float(fitted.metrics["validation"][promotion_metric(fitted.mode)])


def feature_importances(fitted: FittedModel, feature_columns: list[str]) -> tuple[object, list[str]]:
    """``(importances, names)`` for the feature-importance plot (span mode: the detector's shape features)."""
    if fitted.mode == "span":
        return fitted.estimator.feature_importances_, list(fitted.estimator.detector.feature_names)
    return fitted.estimator.feature_importances_, feature_columns


def flat_metrics(fitted: FittedModel) -> dict[str, float]:
    """MLflow metric names: ``validation_f1_macro``, ``test_span_f1``, ``test_f1.B-bull_flag``...

    Span mode adds ``{part}_span_f1.{label}`` (and precision/recall) per chart label.
    """
    flat: dict[str, float] = {}
    for part in ("validation", "test"):
        flat.update({f"{part}_{name}": float(value) for name, value in fitted.metrics[part].items()})
        for label, values in fitted.metrics.get("span_per_label", {}).get(part, {}).items():
            flat.update(
                {f"{part}_{name}.{label}": float(values[name]) for name in ("span_precision", "span_recall", "span_f1")}
            )
        for cls, values in fitted.per_class[part].items():
            flat.update({f"{part}_{name}.{cls}": float(value) for name, value in values.items() if name != "support"})
    return flat


def metrics_summary(fitted: FittedModel) -> dict[str, Any]:
    """What the training_runs row keeps: the headline scores of both parts."""
    keys = ("accuracy", "f1_macro", "f1_weighted", "span_precision", "span_recall", "span_f1")
    return {
        part: {k: fitted.metrics[part][k] for k in keys if k in fitted.metrics[part]} for part in ("validation", "test")
    }
