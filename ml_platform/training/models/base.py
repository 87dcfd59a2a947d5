"""The interface every model type implements: build and fit an estimator, save and load it.

A new model type subclasses `PatternModel`, sets `name`, `mlflow_flavor` and
`file_suffix`, implements `hyperparameters` and `fit`, and is added to the registry in
`ml_platform.training.models` (one line). Saving defaults to skops with the listed
`trusted_types`; XGBoost overrides it with its native format.

Classes are integers ``0..n-1`` everywhere (``meta.classes`` of the bundle maps them back
to tags); `class_weight` maps class index to weight, or is None for unweighted training.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ml_platform.config import TrainingConfig


class PatternModel(ABC):
    """A model type: how to fit it from the training config, and how to store it."""

    name: ClassVar[str]
    mlflow_flavor: ClassVar[str]  # "sklearn" or "xgboost"
    file_suffix: ClassVar[str] = ".skops"
    trusted_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, training: TrainingConfig, *, seed: int | None = None) -> None:
        self.training = training
        self.seed = training.seed if seed is None else seed

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """Every hyperparameter the estimator is built with (logged to MLflow as params)."""

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, *, class_weight: dict[int, float] | None) -> Any:
        """A fitted estimator with ``predict_proba``, ``classes_`` and ``feature_importances_``.

        Parameters
        ----------
        X : float array of shape (n_rows, n_features)
        y : int array of shape (n_rows,), values in ``0..n_classes-1``
        class_weight : dict of class index to weight, or None
        """

    # ----------------------------------------------------------------- storage (skops by default)

    @classmethod
    def save(cls, estimator: Any, path: Path) -> None:
        import skops.io as sio

        sio.dump(estimator, path)

    @classmethod
    def load(cls, path: Path) -> Any:
        """Load with only the explicitly trusted types (skops refuses anything else)."""
        import skops.io as sio

        return cls.for_serving(sio.load(path, trusted=list(cls.trusted_types)))

    @classmethod
    def for_serving(cls, estimator: Any) -> Any:
        """Adjust a loaded estimator for single-request prediction (e.g. one thread)."""
        return estimator


def sample_weights(y: np.ndarray, class_weight: dict[int, float] | None) -> np.ndarray | None:
    """Per-row weights from a class weight map (None stays None)."""
    if class_weight is None:
        return None
    lookup = np.ones(int(y.max()) + 1 if len(y) else 1, dtype=np.float64)
    for index, weight in class_weight.items():
        if index < len(lookup):
            lookup[index] = weight
    return lookup[y]
