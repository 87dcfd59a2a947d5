"""The models in memory, and their hot reload.

`ModelRegistry.current` is one immutable `Registry` snapshot (partition -> `LoadedModel`,
plus the load failures). A request reads the reference once and uses that snapshot to the
end, so it never sees a half-swapped model: a reload builds a complete new snapshot and
replaces the reference in one assignment.

Sources (``serving.model_source``):

- ``bundle``: every ``{data.models_path}/{PAIR}_{TF}/bundle.json``; polling compares each
  folder's `bundle_version` with the loaded one, so only new or changed bundles are read.
- ``mlflow``: for each configured partition, the registered model
  ``{mlflow.registered_model_prefix}-{PAIR}-{TF}`` at alias ``serving.mlflow_alias``
  (``models:/name@alias``). A legacy stage word (``Production``, ``Staging``...) is accepted
  as the alias name, and when no such alias exists, the latest version in that stage is used.
  The bundle metadata comes from the run's ``bundle.json`` artifact, or from the local bundle
  trained in the same run.

A partition that fails to load is logged and reported (`Registry.failures`); the others
are served. When a new version fails, the previously loaded one keeps serving; a failed
version is not retried until it changes or ``POST /model/reload`` asks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Protocol

import anyio.to_thread
import msgspec

from ml_platform.bundle import BUNDLE_FILE, BundleMeta, ModelBundle, bundle_version, load_bundle, load_meta
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition, PartitionError
from serving.onnx_runtime import accelerate
from serving.schemas import ModelInfo
from serving.settings import Settings

logger = logging.getLogger(__name__)

_LEGACY_STAGES = ("none", "staging", "production", "archived")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def partition_of_stem(stem: str) -> Partition | None:
    """``EURUSD_1h`` -> Partition, or None for a name that is not a valid partition stem."""
    pair, sep, timeframe = stem.rpartition("_")
    if not sep:
        return None
    try:
        return Partition(pair, timeframe)
    except PartitionError:
        return None


@dataclass(frozen=True)
class LoadedModel:
    """One partition's model, ready to predict (immutable)."""

    partition: Partition
    predictor: Predictor
    source: Literal["bundle", "mlflow"]
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
        )


@dataclass(frozen=True)
class LoadFailure:
    partition: str
    location: str
    error: str
    at: str
    token: str | None = None
    serving_version: str | None = None


@dataclass(frozen=True)
class Registry:
    """An immutable snapshot of the loaded models."""

    models: Mapping[Partition, LoadedModel] = field(default_factory=lambda: MappingProxyType({}))
    failures: tuple[LoadFailure, ...] = ()
    loaded_at: str = ""

    def get(self, partition: Partition) -> LoadedModel | None:
        return self.models.get(partition)

    @property
    def can_predict(self) -> bool:
        return bool(self.models)


@dataclass(frozen=True)
class ReloadResult:
    registry: Registry
    changed: list[str]


@dataclass(frozen=True)
class Candidate:
    """A model a source offers for a partition: where it is and its current version token."""

    partition: Partition
    location: str
    token: str | None


class ModelSource(Protocol):
    @property
    def kind(self) -> Literal["bundle", "mlflow"]: ...

    def scan(self) -> list[Candidate]:
        """Every partition's current model version, cheaply (no model file is read)."""

    def load(self, candidate: Candidate) -> LoadedModel:
        """Load one model; raise on any failure (the registry reports it)."""


# --------------------------------------------------------------------------- bundles on disk


class BundleSource:
    """Bundles under ``data.models_path``."""

    kind: Literal["bundle"] = "bundle"

    def __init__(self, models_path: Path) -> None:
        self.models_path = models_path

    def scan(self) -> list[Candidate]:
        if not self.models_path.is_dir():
            return []
        candidates = []
        for directory in sorted(self.models_path.iterdir()):
            partition = partition_of_stem(directory.name) if directory.is_dir() else None
            if partition is None or not (directory / BUNDLE_FILE).exists():
                continue
            candidates.append(Candidate(partition, str(directory), bundle_version(directory)))
        return candidates

    def load(self, candidate: Candidate) -> LoadedModel:
        bundle = load_bundle(Path(candidate.location))
        _check_partition(bundle.meta, candidate.partition, candidate.location)
        return _loaded(bundle, candidate, "bundle", token=bundle.meta.model_version, metrics=bundle.meta.metrics)


def _check_partition(meta: BundleMeta, partition: Partition, location: str) -> None:
    if (meta.pair, meta.timeframe) != (partition.pair, partition.timeframe):
        raise ValueError(
            f"{location}: the bundle is for {meta.pair} {meta.timeframe}, not {partition.pair} "
            f"{partition.timeframe}: move it to the matching folder"
        )


def _loaded(
    bundle: ModelBundle,
    candidate: Candidate,
    source: Literal["bundle", "mlflow"],
    *,
    token: str,
    metrics: Mapping[str, Any],
) -> LoadedModel:
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
        loaded_at=_now(),
        metrics=dict(metrics),
        runtime=runtime,
    )


# --------------------------------------------------------------------------- MLflow registry


class MlflowSource:
    """Registered models ``{prefix}-{PAIR}-{TF}`` at an alias, for the configured partitions."""

    kind: Literal["mlflow"] = "mlflow"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.alias = settings.serving.mlflow_alias
        self.uri = settings.mlflow_tracking_uri

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def _name(self, partition: Partition) -> str:
        from ml_platform.training.tracking import registered_model_name

        return registered_model_name(self.settings.config, partition.pair, partition.timeframe)

    def _version(self, client: Any, name: str) -> Any:
        """The model version at the alias, or the latest in the legacy stage of that name."""
        from mlflow.exceptions import MlflowException

        try:
            return client.get_model_version_by_alias(name, self.alias)
        except MlflowException as exc:
            if self.alias.lower() not in _LEGACY_STAGES:
                raise LookupError(f"models:/{name}@{self.alias}: {exc.message}") from None
            try:
                with warnings.catch_warnings():  # stages are deprecated; accepting the word is the point
                    warnings.simplefilter("ignore", FutureWarning)
                    versions = client.get_latest_versions(name, stages=[self.alias])
            except MlflowException as stage_exc:
                raise LookupError(f"models:/{name}@{self.alias}: {stage_exc.message}") from None
            if not versions:
                raise LookupError(
                    f"models:/{name}@{self.alias}: no alias {self.alias!r} and no version in stage {self.alias!r}"
                ) from None
            return versions[0]

    def scan(self) -> list[Candidate]:
        client = self._client()
        candidates = []
        for pair in self.settings.config.partitions.pairs:
            for timeframe in self.settings.config.partitions.timeframes:
                partition = Partition(pair, timeframe)
                name = self._name(partition)
                location = f"models:/{name}@{self.alias}"
                try:
                    version = self._version(client, name)
                    token = f"{version.version}:{version.run_id}"
                except Exception:  # reported by load(), which raises the same error with its message
                    token = None
                candidates.append(Candidate(partition, location, token))
        return candidates

    def load(self, candidate: Candidate) -> LoadedModel:
        client = self._client()
        name = self._name(candidate.partition)
        version = self._version(client, name)
        meta = msgspec.structs.replace(
            self._meta(client, version.run_id, candidate.partition),
            registered_model_name=name,
            registered_version=str(version.version),
        )
        _check_partition(meta, candidate.partition, candidate.location)
        model = self._model(f"models:/{name}/{version.version}", meta)
        bundle = ModelBundle(
            directory=self.settings.config.data.bundle_dir(candidate.partition), meta=meta, model=model
        )
        run_metrics = client.get_run(version.run_id).data.metrics
        metrics = {**meta.metrics, "mlflow_run": dict(run_metrics)}
        return _loaded(bundle, candidate, "mlflow", token=f"{version.version}:{version.run_id}", metrics=metrics)

    def _meta(self, client: Any, run_id: str, partition: Partition) -> BundleMeta:
        """The run's ``bundle.json`` artifact, else the local bundle trained in that run."""
        for artifact in (BUNDLE_FILE, f"bundle/{BUNDLE_FILE}"):
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    path = client.download_artifacts(run_id, artifact, scratch)
                except Exception:  # not logged under this name: try the next one
                    continue
                return msgspec.json.decode(Path(path).read_bytes(), type=BundleMeta)
        local = self.settings.config.data.bundle_dir(partition)
        try:
            meta = load_meta(local)
        except Exception:
            meta = None
        if meta is not None and meta.mlflow_run_id == run_id:
            return meta
        raise LookupError(
            f"MLflow run {run_id} has no {BUNDLE_FILE} artifact and the local bundle {local} is from "
            "another run: the classes and feature columns of the model are unknown"
        )

    @staticmethod
    def _model(uri: str, meta: BundleMeta) -> Any:
        from ml_platform.training.models import get_model_type

        model_type = get_model_type(meta.model_type)
        if model_type.mlflow_flavor == "xgboost":
            import mlflow.xgboost

            return model_type.for_serving(mlflow.xgboost.load_model(uri))
        import mlflow.sklearn

        return model_type.for_serving(mlflow.sklearn.load_model(uri))


# --------------------------------------------------------------------------- the registry


def source_for(settings: Settings) -> ModelSource:
    if settings.serving.model_source == "mlflow":
        return MlflowSource(settings)
    return BundleSource(settings.models_path)


class ModelRegistry:
    """Holds the current `Registry`; `reload` builds the next one and swaps the reference."""

    def __init__(self, source: ModelSource) -> None:
        self.source = source
        self._current = Registry(loaded_at=_now())
        self._lock = threading.Lock()

    @property
    def current(self) -> Registry:
        """The snapshot to use for one whole request."""
        return self._current

    def reload_blocking(self, *, retry_failed: bool = False) -> ReloadResult:
        """Scan the source, load what is new or changed, and swap in the new snapshot."""
        with self._lock:
            old = self._current
            try:
                candidates = self.source.scan()
            except Exception as exc:  # the source itself is unreachable: keep serving what is loaded
                logger.error("cannot list models from the %s source: %s", self.source.kind, exc)
                failure = LoadFailure(
                    partition="*", location=self.source.kind, error=f"cannot list models: {exc}", at=_now()
                )
                self._current = Registry(old.models, (failure,), _now())
                return ReloadResult(self._current, [])
            failed = {f.partition: f for f in old.failures}
            models: dict[Partition, LoadedModel] = {}
            failures: list[LoadFailure] = []
            changed: list[str] = []
            for candidate in candidates:
                key = candidate.partition.key
                previous = old.get(candidate.partition)
                if previous is not None and candidate.token is not None and previous.token == candidate.token:
                    models[candidate.partition] = previous
                    continue
                known_failure = failed.get(key)
                if not retry_failed and known_failure is not None and known_failure.token == candidate.token:
                    failures.append(known_failure)
                    if previous is not None:
                        models[candidate.partition] = previous
                    continue
                try:
                    models[candidate.partition] = self.source.load(candidate)
                    changed.append(key)
                    logger.info(
                        "loaded %s model %s from %s", key, models[candidate.partition].version, candidate.location
                    )
                except Exception as exc:
                    logger.error(
                        "cannot load the %s model from %s: %s",
                        key,
                        candidate.location,
                        exc,
                        exc_info=not isinstance(exc, (LookupError, ValueError, RuntimeError)),
                    )
                    failures.append(
                        LoadFailure(
                            partition=key,
                            location=candidate.location,
                            error=str(exc),
                            at=_now(),
                            token=candidate.token,
                            serving_version=previous.version if previous else None,
                        )
                    )
                    if previous is not None:
                        models[candidate.partition] = previous
            removed = [p.key for p in old.models if p not in models]
            for key in removed:
                logger.info("model %s is gone from the %s source; no longer served", key, self.source.kind)
            ordered = MappingProxyType(dict(sorted(models.items(), key=lambda item: item[0].key)))
            self._current = Registry(ordered, tuple(failures), _now())
            return ReloadResult(self._current, changed + removed)

    async def reload(self, *, retry_failed: bool = False) -> ReloadResult:
        """`reload_blocking` in a worker thread (loading reads files and parses models)."""
        return await anyio.to_thread.run_sync(lambda: self.reload_blocking(retry_failed=retry_failed))

    async def poll(self, interval: float) -> None:
        """Reload every `interval` seconds until cancelled; a failing poll is logged, not fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except Exception:
                logger.exception("model reload failed; still serving the previous models")
