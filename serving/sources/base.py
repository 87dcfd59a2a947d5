"""What a model source offers and delivers: `Candidate` (a partition's current version) and `LoadedModel`.

`ModelSource` is the protocol the registry polls: `scan` cheaply lists every partition's
current version token, `load` reads one model. `loaded_model` turns a `ModelBundle` into
a `LoadedModel`, adopting ONNX Runtime for a RandomForest when it gives the same labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Literal, Protocol

from ml_platform.bundle import BundleMeta, ModelBundle
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from serving.onnx_runtime import accelerate
from serving.schemas import ModelInfo

SourceKind = Literal["bundle", "mlflow"]


def utc_now() -> str:
    """The current time as ISO 8601 seconds with a ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LoadedModel:
    """One partition's model, ready to predict (immutable)."""

    partition: Partition
    predictor: Predictor
    source: SourceKind
    location: str
    token: str  # what polling compares: the bundle's model_version, or the MLflow version
    loaded_at: str
    metrics: Mapping[str, Any]
    runtime: str = "native"  # what executes the model: xgboost, sklearn or onnxruntime

    @property
    def meta(self) -> BundleMeta:
        return self.predictor.bundle.meta

    @property
    def name(self) -> str:
        if self.meta.pooled_from:  # a pooled model serving a member: the pool's name, POOLED_{TF}
            return f"{self.meta.pair}_{self.meta.timeframe}"
        return self.meta.registered_model_name or self.partition.stem

    @property
    def version(self) -> str:
        return self.meta.model_version

    @cached_property
    def info(self) -> ModelInfo:
        """The `ModelInfo` answered with every prediction (built once)."""
        return ModelInfo(
            name=self.name,
            version=self.version,
            pair=self.partition.pair,
            timeframe=self.partition.timeframe,
            trained_at=self.meta.trained_at,
            model_type=self.meta.model_type,
            mode=self.predictor.mode,
            source=self.source,
            pooled_from=list(self.meta.pooled_from),
        )


@dataclass(frozen=True)
class Candidate:
    """A model a source offers for a partition: where it is and its current version token."""

    partition: Partition
    location: str
    token: str | None


class ModelSource(Protocol):
    @property
    def kind(self) -> SourceKind: ...

    def scan(self) -> list[Candidate]:
        """Every partition's current model version, cheaply (no model file is read)."""

    def load(self, candidate: Candidate) -> LoadedModel:
        """Load one model; raise on any failure (the registry reports it)."""

    def rollback(self, partition: Partition) -> tuple[str, str]:
        """Move the partition's champion back to the previous one; return ``(from, to)``; LookupError if none."""


def check_partition(meta: BundleMeta, partition: Partition, location: str) -> None:
    """Raise ValueError when the bundle at `location` is for another pair or timeframe than its folder/name.

    A pooled bundle (``pooled_from`` not empty) may serve each of its member partitions.
    """
    if meta.pooled_from:
        if partition.key not in meta.pooled_from:
            raise ValueError(
                f"{location}: the pooled model was trained on {', '.join(meta.pooled_from)}, not {partition.key}"
            )
        return
    if (meta.pair, meta.timeframe) != (partition.pair, partition.timeframe):
        raise ValueError(
            f"{location}: the bundle is for {meta.pair} {meta.timeframe}, not {partition.pair} "
            f"{partition.timeframe}: move it to the matching folder"
        )


def loaded_model(
    bundle: ModelBundle,
    candidate: Candidate,
    source: SourceKind,
    *,
    token: str,
    metrics: Mapping[str, Any],
) -> LoadedModel:
    """The `LoadedModel` of `bundle`; a RandomForest runs on ONNX Runtime when its labels are identical."""
    predictor = Predictor.from_bundle(bundle)  # one thread per prediction (n_jobs=1)
    runtime = "xgboost" if bundle.meta.model_type == "xgboost" else "sklearn"
    if bundle.meta.model_type == "random_forest":
        rows = predictor.probe_inputs()
        if len(rows):
            accelerated, runtime = accelerate(bundle, rows)
            predictor = dataclasses.replace(predictor, bundle=accelerated)
    return LoadedModel(
        partition=candidate.partition,
        predictor=predictor,
        source=source,
        location=candidate.location,
        token=token,
        loaded_at=utc_now(),
        metrics=dict(metrics),
        runtime=runtime,
    )
