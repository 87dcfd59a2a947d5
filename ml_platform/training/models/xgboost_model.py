"""XGBoost's XGBClassifier, stored in its native UBJSON format; class weights as sample weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from xgboost import XGBClassifier

from ml_platform.training.models.base import PatternModel, sample_weights


class XGBoostModel(PatternModel):
    """Hyperparameters from ``training.xgboost``."""

    name = "xgboost"
    mlflow_flavor = "xgboost"
    file_suffix = ".ubj"

    def hyperparameters(self) -> dict[str, Any]:
        params = self.training.xgboost
        return {
            "n_estimators": params.n_estimators,
            "max_depth": params.max_depth,
            "learning_rate": params.learning_rate,
            "subsample": params.subsample,
            "colsample_bytree": params.colsample_bytree,
            "tree_method": params.tree_method,
            "n_jobs": params.n_jobs,
            "random_state": self.seed,
        }

    def fit(self, X: np.ndarray, y: np.ndarray, *, class_weight: dict[int, float] | None) -> Any:
        estimator = XGBClassifier(**self.hyperparameters())
        return estimator.fit(X, y, sample_weight=sample_weights(y, class_weight))

    @classmethod
    def save(cls, estimator: Any, path: Path) -> None:
        # save_model picks the format from the suffix; the temp name must keep ".ubj".
        estimator.save_model(_ubj(path))
        if _ubj(path) != path:
            _ubj(path).replace(path)

    @classmethod
    def load(cls, path: Path) -> Any:
        estimator = XGBClassifier()
        if path.suffix == ".ubj":
            estimator.load_model(path)
        else:
            estimator.load_model(bytearray(path.read_bytes()))
        return estimator


def _ubj(path: Path) -> Path:
    return path if path.suffix == ".ubj" else path.with_name(path.name + ".ubj")
