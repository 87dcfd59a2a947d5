"""Where the served models come from (``serving.model_source``): bundles on disk or the MLflow registry.

- ``bundle`` (`BundleSource`): every ``{data.models_path}/{PAIR}_{TF}/bundle.json``.
- ``mlflow`` (`MlflowSource`): each configured partition's registered model at ``serving.mlflow_alias``.

`source_for(settings)` picks the configured one; `serving.registry` polls it and swaps models in.
"""

from serving.settings import Settings
from serving.sources.base import Candidate, LoadedModel, ModelSource, SourceKind, loaded_model, utc_now
from serving.sources.bundles import BundleSource, partition_of_stem
from serving.sources.mlflow_registry import MlflowSource


def source_for(settings: Settings) -> ModelSource:
    """The model source ``serving.model_source`` names."""
    if settings.serving.model_source == "mlflow":
        return MlflowSource(settings)
    return BundleSource(settings.models_path, pool_serve=settings.config.training.pool.serve)


__all__ = [
    "BundleSource",
    "Candidate",
    "LoadedModel",
    "MlflowSource",
    "ModelSource",
    "SourceKind",
    "loaded_model",
    "partition_of_stem",
    "source_for",
    "utc_now",
]
