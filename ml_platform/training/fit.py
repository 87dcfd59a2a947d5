"""Fit the configured model on a dataset's train part and score validation and test.

The scores are `ml_platform.training.evaluation`'s: per-row metrics, and span metrics in
BIO mode when the split is chronological. `flat_metrics` and `metrics_summary` name them
for MLflow and the `training_runs` row.
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


def fit_and_evaluate(dataset: Dataset, config: PipelineConfig) -> FittedModel:
    """Fit the configured model on the train part and score validation and test."""
    model_type = get_model_type(config.training.model_type)
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


def flat_metrics(fitted: FittedModel) -> dict[str, float]:
    """MLflow metric names: ``validation_f1_macro``, ``test_span_f1``, ``test_f1.B-bull_flag``..."""
    flat: dict[str, float] = {}
    for part in ("validation", "test"):
        flat.update({f"{part}_{name}": float(value) for name, value in fitted.metrics[part].items()})
        for cls, values in fitted.per_class[part].items():
            flat.update({f"{part}_{name}.{cls}": float(value) for name, value in values.items() if name != "support"})
    return flat


def metrics_summary(fitted: FittedModel) -> dict[str, Any]:
    """What the training_runs row keeps: the headline scores of both parts."""
    keys = ("accuracy", "f1_macro", "f1_weighted", "span_precision", "span_recall", "span_f1")
    return {
        part: {k: fitted.metrics[part][k] for k in keys if k in fitted.metrics[part]} for part in ("validation", "test")
    }
