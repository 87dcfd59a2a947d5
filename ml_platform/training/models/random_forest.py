"""scikit-learn's RandomForestClassifier, stored with skops."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ml_platform.training.models.base import PatternModel


class RandomForestModel(PatternModel):
    """Hyperparameters from ``training.random_forest``; class weights via ``class_weight``."""

    name = "random_forest"
    mlflow_flavor = "sklearn"
    file_suffix = ".skops"
    # What skops.io.get_untrusted_types reports for a fitted forest: the tree structure.
    trusted_types = ("sklearn.tree._tree.Tree",)

    def hyperparameters(self) -> dict[str, Any]:
        params = self.training.random_forest
        return {
            "n_estimators": params.n_estimators,
            "max_depth": params.max_depth,
            "min_samples_leaf": params.min_samples_leaf,
            "max_features": params.max_features,
            "n_jobs": params.n_jobs,
            "random_state": self.seed,
        }

    def fit(self, X: np.ndarray, y: np.ndarray, *, class_weight: dict[int, float] | None) -> Any:
        estimator = RandomForestClassifier(**self.hyperparameters(), class_weight=class_weight)
        return estimator.fit(X, y)

    @classmethod
    def for_serving(cls, estimator: Any) -> Any:
        # One request at a time: n_jobs=-1 measured about 2x slower than one thread.
        estimator.n_jobs = 1
        return estimator
