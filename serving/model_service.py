"""What the model handlers do (``GET /model/info``, ``GET /model/labels``, ``POST /model/reload``).

`ModelService`, one per request, binds the settings, the registry snapshot read once for the request and the
`ModelRegistry` itself, which ``POST /model/reload`` asks for a new snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_platform.bundle import generated_color
from ml_platform.inference import class_labels
from serving.registry import ModelRegistry, Registry
from serving.schemas import LabelInfo, LoadedModelInfo, ModelInfoResponse, ReloadResponse
from serving.schemas import LoadFailure as LoadFailureSchema
from serving.settings import Settings
from serving.sources import LoadedModel


def _label_colors(model: LoadedModel, settings: Settings) -> list[LabelInfo]:
    configured = {spec.name: spec.color for spec in settings.config.labeling.labels}
    from_bundle = {entry.get("name"): entry.get("color") for entry in model.meta.labels}
    names = [name for name in dict.fromkeys(class_labels(model.meta.classes)) if name != "O"]
    return [
        LabelInfo(name=name, color=configured.get(name) or from_bundle.get(name) or generated_color(name))
        for name in names
    ]


def failures(registry: Registry) -> list[LoadFailureSchema]:
    """The load failures of a snapshot, as answered by ``/model/info`` and ``/model/reload``."""
    return [
        LoadFailureSchema(
            partition=f.partition, location=f.location, error=f.error, at=f.at, serving_version=f.serving_version
        )
        for f in registry.failures
    ]


@dataclass(frozen=True)
class ModelService:
    """The loaded models: their info and labels (from this request's snapshot), and reloading them."""

    settings: Settings
    registry: Registry
    models: ModelRegistry

    def info(self) -> ModelInfoResponse:
        """Loaded models with versions and metrics, and load failures."""
        settings, registry = self.settings, self.registry
        models = []
        for model in registry.models.values():
            meta, predictor = model.meta, model.predictor
            leading = None if predictor.warmup_rows is None else predictor.warmup_rows + predictor.before
            models.append(
                LoadedModelInfo(
                    name=model.name,
                    version=model.version,
                    pair=model.partition.pair,
                    timeframe=model.partition.timeframe,
                    trained_at=meta.trained_at,
                    model_type=meta.model_type,
                    mode=predictor.mode,
                    source=model.source,
                    pooled_from=list(meta.pooled_from),
                    runtime=model.runtime,
                    location=model.location,
                    loaded_at=model.loaded_at,
                    classes=list(meta.classes),
                    labels=_label_colors(model, settings),
                    feature_count=len(meta.feature_columns),
                    min_candles=predictor.min_candles,
                    unlabeled_leading=leading,
                    unlabeled_trailing=predictor.after,
                    dataset_version=meta.dataset_version,
                    mlflow_run_id=meta.mlflow_run_id,
                    registered_model_name=meta.registered_model_name,
                    registered_version=meta.registered_version,
                    metrics=dict(model.metrics),
                )
            )
        return ModelInfoResponse(
            source=settings.serving.model_source,
            models=models,
            failures=failures(registry),
            last_reload=registry.loaded_at,
            reload_interval_seconds=settings.serving.reload_interval_seconds,
        )

    def labels(self) -> list[LabelInfo]:
        """Every label a loaded model can emit.

        Colour: the serving config's ``labeling.labels``, else the bundle's, else a stable generated one.
        """
        seen: dict[str, LabelInfo] = {}
        for model in self.registry.models.values():
            for label in _label_colors(model, self.settings):
                seen.setdefault(label.name, label)
        return list(seen.values())

    async def reload(self) -> ReloadResponse:
        """Look for new or changed models now, retrying failed ones, and swap them in atomically."""
        result = await self.models.reload(retry_failed=True)
        return ReloadResponse(
            loaded=[p.key for p in result.registry.models],
            changed=result.changed,
            failures=failures(result.registry),
        )
