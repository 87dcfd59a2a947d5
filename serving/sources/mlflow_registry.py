"""The ``mlflow`` model source: registered models ``{prefix}-{PAIR}-{TF}`` at an alias.

For each configured partition, the registered model ``{mlflow.registered_model_prefix}-{PAIR}-{TF}``
at alias ``serving.mlflow_alias`` (``models:/name@alias``); and every other registered model of
that name pattern whose alias is set (a pair added to the Dagster instance without being in the
config, trained by the pipeline: nothing to redeploy). A legacy stage word (``Production``,
``Staging``...) is accepted as the alias name, and when no such alias exists, the latest version
in that stage is used. The model and its metadata come from the run's ``bundle/`` artifact folder
(``bundle/bundle.json`` + the model file, logged by training before it registers the version), so
no local data volume is needed. Runs from before that artifact fall back to the flavor model plus a
``bundle.json`` artifact, or the local bundle trained in the same run.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import msgspec

from ml_platform.bundle import BUNDLE_FILE, BundleMeta, ModelBundle, load_bundle, load_meta
from ml_platform.partitions import Partition, PartitionError
from serving.settings import Settings
from serving.sources.base import Candidate, LoadedModel, check_partition, loaded_model

_LEGACY_STAGES = ("none", "staging", "production", "archived")


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
        """The committed model version at the alias, or the latest in the legacy stage of that name.

        A training moves the alias inside its MLflow run, then writes ``champion.json`` (the commit),
        then ends the run FINISHED. An alias holder whose run is not FINISHED is a promotion in
        progress or one killed before its commit: the newest previous holder whose run finished is
        served instead (the registered model's ``previous_champions`` tag), until the run finishes or
        the run-failure sensor or the next training moves the alias back.
        """
        from mlflow.exceptions import MlflowException

        try:
            holder = client.get_model_version_by_alias(name, self.alias)
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
        return self._committed(client, name, holder)

    def _committed(self, client: Any, name: str, holder: Any) -> Any:
        from ml_platform.training.tracking import PREVIOUS_ALIAS_TAG

        if not holder.run_id or client.get_run(holder.run_id).info.status == "FINISHED":
            return holder
        chain = (client.get_registered_model(name).tags or {}).get(PREVIOUS_ALIAS_TAG) or ""
        for number in [v for v in chain.split(",") if v and v != str(holder.version)]:
            try:
                version = client.get_model_version(name, number)
            except Exception:  # pruned: try the next holder
                continue
            if not version.run_id or client.get_run(version.run_id).info.status == "FINISHED":
                return version
        raise LookupError(
            f"models:/{name}@{self.alias}: v{holder.version}'s training run has not finished (a promotion in "
            "progress, or one killed before champion.json), and no earlier holder of the alias finished"
        )

    def scan(self) -> list[Candidate]:
        client = self._client()
        config = self.settings.config
        configured = [Partition(pair, tf) for pair in config.partitions.pairs for tf in config.partitions.timeframes]
        candidates = []
        for partition in configured + [p for p in self._registered(client) if p not in configured]:
            name = self._name(partition)
            location = f"models:/{name}@{self.alias}"
            try:
                version = self._version(client, name)
                token = f"{version.version}:{version.run_id}"
            except Exception:  # reported by load(), which raises the same error with its message
                if partition not in configured:  # registered, never promoted: nothing to serve, nothing wrong
                    continue
                token = None
            candidates.append(Candidate(partition, location, token))
        return candidates

    def _registered(self, client: Any) -> list[Partition]:
        """The partitions of the registered models named ``{prefix}-{PAIR}-{TF}``, in name order."""
        prefix = f"{self.settings.config.mlflow.registered_model_prefix}-"
        partitions, token = [], None
        while True:
            page = client.search_registered_models(
                filter_string=f"name LIKE '{prefix}%'", max_results=200, page_token=token
            )
            for model in page:
                pair, _, timeframe = model.name[len(prefix) :].rpartition("-")
                try:
                    partitions.append(Partition(pair, timeframe))
                except PartitionError:  # another model that shares the prefix
                    continue
            token = page.token
            if not token:
                return sorted(set(partitions), key=lambda p: p.key)

    def load(self, candidate: Candidate) -> LoadedModel:
        client = self._client()
        name = self._name(candidate.partition)
        version = self._version(client, name)
        with tempfile.TemporaryDirectory(prefix="mlflow-bundle-") as scratch:
            bundle = self._run_bundle(client, version.run_id, Path(scratch))
            if bundle is not None:  # the run logged the complete bundle: nothing local is read
                meta = msgspec.structs.replace(
                    bundle.meta, registered_model_name=name, registered_version=str(version.version)
                )
                check_partition(meta, candidate.partition, candidate.location)
                bundle = ModelBundle(directory=Path(candidate.location), meta=meta, model=bundle.model)
        if bundle is None:  # runs from before the bundle/ artifact: the flavor model + bundle.json
            meta = msgspec.structs.replace(
                self._meta(client, version.run_id, candidate.partition),
                registered_model_name=name,
                registered_version=str(version.version),
            )
            check_partition(meta, candidate.partition, candidate.location)
            model = self._model(f"models:/{name}/{version.version}", meta)
            bundle = ModelBundle(
                directory=self.settings.config.data.bundle_dir(candidate.partition), meta=meta, model=model
            )
        run_metrics = client.get_run(version.run_id).data.metrics
        metrics = {
            **bundle.meta.metrics,
            "mlflow_run": dict(run_metrics),
            "champion": {"is_champion": True, "champion_version": str(version.version), "alias": self.alias},
        }
        return loaded_model(bundle, candidate, "mlflow", token=f"{version.version}:{version.run_id}", metrics=metrics)

    @staticmethod
    def _run_bundle(client: Any, run_id: str, scratch: Path) -> ModelBundle | None:
        """The run's ``bundle/`` artifact folder loaded as a bundle, or None when the run has none."""
        from ml_platform.training.tracking import BUNDLE_ARTIFACT_PATH

        try:
            path = Path(client.download_artifacts(run_id, BUNDLE_ARTIFACT_PATH, str(scratch)))
        except Exception:  # not logged: an older run
            return None
        if not (path / BUNDLE_FILE).is_file():
            return None
        return load_bundle(path)

    def rollback(self, partition: Partition) -> tuple[str, str]:
        """Move the alias back to the version that held it before; return ``(from, to)`` registered versions.

        Raises LookupError when there is no alias or no previous holder.
        """
        from ml_platform.training.run_recovery import rollback_alias

        return rollback_alias(self.uri, self._name(partition), self.alias)

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
