from __future__ import annotations

import numpy as np
import pytest

from ml_platform.config import RandomForestParams, TrainingConfig, XGBoostParams
from ml_platform.training.models import MODEL_TYPES, UnknownModelTypeError, get_model_type
from ml_platform.training.models.xgboost_model import XGBoostModel
from ml_platform.training.weights import class_weight_map

SMALL = TrainingConfig(
    random_forest=RandomForestParams(n_estimators=5, n_jobs=1), xgboost=XGBoostParams(n_estimators=5, n_jobs=1)
)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array([0] * 40 + [1] * 15 + [2] * 5)
    return X, y


def test_unknown_model_type_lists_the_supported_ones() -> None:
    with pytest.raises(
        UnknownModelTypeError, match="'lightgbm' is not a supported model type; use one of random_forest, xgboost"
    ):
        get_model_type("lightgbm")
    assert set(MODEL_TYPES) == {"random_forest", "xgboost"}


def test_balanced_weights_follow_sklearn_formula() -> None:
    _, y = _data()
    weights = class_weight_map(y, ["O", "B-x", "I-x"], "balanced")
    assert weights == pytest.approx({0: 60 / (3 * 40), 1: 60 / (3 * 15), 2: 60 / (3 * 5)})
    assert class_weight_map(y, ["O", "B-x", "I-x"], "none") is None


def test_weight_map_accepts_tags_and_pattern_labels() -> None:
    _, y = _data()
    weights = class_weight_map(y, ["B-flag", "I-flag", "O"], {"flag": 3.0, "O": 0.5})
    assert weights == {0: 3.0, 1: 3.0, 2: 0.5}
    weights = class_weight_map(y, ["B-flag", "I-flag", "O"], {"B-flag": 4.0})
    assert weights == {0: 4.0, 1: 1.0, 2: 1.0}


def test_random_forest_receives_class_weight_and_hyperparameters() -> None:
    X, y = _data()
    estimator = get_model_type("random_forest")(SMALL, seed=3).fit(X, y, class_weight={0: 1.0, 1: 2.0, 2: 5.0})
    assert estimator.class_weight == {0: 1.0, 1: 2.0, 2: 5.0}
    assert (estimator.n_estimators, estimator.n_jobs, estimator.random_state) == (5, 1, 3)


def test_xgboost_receives_class_weights_as_sample_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = _data()
    seen: dict[str, np.ndarray] = {}
    from xgboost import XGBClassifier

    original = XGBClassifier.fit

    def spy(self, X, y, *, sample_weight=None, **kwargs):  # type: ignore[no-untyped-def]
        seen["sample_weight"] = sample_weight
        return original(self, X, y, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(XGBClassifier, "fit", spy)
    estimator = XGBoostModel(SMALL).fit(X, y, class_weight={0: 1.0, 1: 2.0, 2: 5.0})
    assert np.array_equal(seen["sample_weight"], np.array([1.0] * 40 + [2.0] * 15 + [5.0] * 5))
    assert (estimator.n_estimators, estimator.n_jobs) == (5, 1)
    XGBoostModel(SMALL).fit(X, y, class_weight=None)
    assert seen["sample_weight"] is None


def test_feature_exclusion_patterns() -> None:
    from ml_platform.training.dataset import select_base_columns

    columns = ["rsi_14", "sma_20", "bbands_20_upperband", "bbands_20_lowerband", "body_size"]
    assert select_base_columns(columns, exclude=["sma_*", "bbands_*"]) == ["rsi_14", "body_size"]
    assert select_base_columns(columns) == columns
