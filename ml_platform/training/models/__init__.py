"""The model types, by `training.model_type`. A new type: one module, one line in `MODEL_TYPES`."""

from __future__ import annotations

from ml_platform.training.models.base import PatternModel, sample_weights
from ml_platform.training.models.random_forest import RandomForestModel
from ml_platform.training.models.xgboost_model import XGBoostModel

MODEL_TYPES: dict[str, type[PatternModel]] = {
    RandomForestModel.name: RandomForestModel,
    XGBoostModel.name: XGBoostModel,
}


class UnknownModelTypeError(ValueError):
    """`training.model_type` names no registered model type."""


def get_model_type(name: str) -> type[PatternModel]:
    """The model class registered under `name`; an unknown name lists the supported ones."""
    try:
        return MODEL_TYPES[name]
    except KeyError:
        raise UnknownModelTypeError(
            f"training.model_type: {name!r} is not a supported model type; use one of {', '.join(sorted(MODEL_TYPES))}"
        ) from None


__all__ = ["MODEL_TYPES", "PatternModel", "UnknownModelTypeError", "get_model_type", "sample_weights"]
