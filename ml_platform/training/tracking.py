"""MLflow helpers: the tracking URI, a run that always ends, model logging and alias promotion.

Every MLflow run opened here ends ``FINISHED`` or ``FAILED`` (`tracked_run`), never ``RUNNING``.
The tracking URI is ``MLFLOW_TRACKING_URI`` if set, else ``mlflow.tracking_uri`` of the
config (embedded default: a SQLite store under ``data/mlflow``); the artifact folder is
``mlflow.artifact_location`` (relative paths anchored at the project root), except with a
tracking server (``http(s)://``): a local folder there leaves the artifact root to the
server (its proxied store, ``mlflow-artifacts:/``), since a client's folder is not where
the server keeps artifacts.

Registry: the model of a partition is registered as ``{registered_model_prefix}-{PAIR}-{TF}``.
The alias (``champion``) moves only to a version not worse than its holder (`promote_if_not_worse`).
"""

from __future__ import annotations

import logging
import os
import socket
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml_platform.config import PipelineConfig, resolve_path, resolve_sqlite_url

logger = logging.getLogger(__name__)

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
PROMOTION_METRIC = "validation_f1_macro"
BUNDLE_ARTIFACT_PATH = "bundle"
"""Run artifact folder holding the complete model bundle (``bundle/bundle.json`` + ``bundle/model-…``)."""
# MLflow 3's UI opens in its GenAI view; this query (or the sidebar's "Model training" switch) selects the other.
ML_WORKFLOW_QUERY = "workflowType=machine_learning"
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


EXPERIMENT_DESCRIPTION = (
    "One run per training of a pair x timeframe partition (the Dagster asset `trained_model`). "
    "Each run's description names its partition, links its Dagster run and gives its key metrics; "
    "compare runs on `validation_f1_macro` (what moves the `champion` alias) and `test_f1_macro`: "
    "add them with Columns, or open a run's Model metrics tab."
)


class TrackingUnavailableError(RuntimeError):
    """The MLflow tracking store cannot be reached; the message says what to check."""


def tracking_uri(config: PipelineConfig, *, env: Mapping[str, str] | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` of `env` (default ``os.environ``; blank = unset), else the configured URI.

    A relative SQLite path is anchored at the project root.
    """
    override = ((os.environ if env is None else env).get(TRACKING_URI_ENV) or "").strip()
    return resolve_sqlite_url(override or config.mlflow.tracking_uri)


def artifact_location(config: PipelineConfig, uri: str | None = None) -> str | None:
    """The experiment's artifact root as a URI (local folders anchored at the project root).

    None (the server's default, its proxied artifact store) when the tracking `uri` is an
    MLflow server (``http(s)://``) and the configured location is a local folder.
    """
    location = config.mlflow.artifact_location
    if not location:
        return None
    if "://" in location:
        return location
    if uri is not None and urllib.parse.urlparse(uri).scheme in ("http", "https"):
        return None
    return resolve_path(location).as_uri()


def mlflow_ui_url(config: PipelineConfig, uri: str | None = None) -> str:
    """Where a browser opens the MLflow UI: ``mlflow.ui_url``; when that is empty, a tracking server's own URI."""
    configured = config.mlflow.ui_url.strip()
    if not configured and uri is not None and urllib.parse.urlparse(uri).scheme in ("http", "https"):
        configured = uri
    return configured.rstrip("/")


def registered_model_name(config: PipelineConfig, pair: str, timeframe: str) -> str:
    """``{prefix}-{PAIR}-{TF}``, e.g. ``candle-patterns-EURUSD-1h``."""
    return f"{config.mlflow.registered_model_prefix}-{pair}-{timeframe}"


def check_reachable(uri: str, *, timeout: float = 5.0) -> None:
    """Fail fast, with advice, when the tracking store is not reachable.

    HTTP(S): a TCP connect and ``GET /health`` within `timeout`; SQLite: the folder can be
    created; other schemes (e.g. ``postgresql://``) are checked by connecting.
    """
    parsed = urllib.parse.urlparse(uri)
    advice = f"start the MLflow server, or unset {TRACKING_URI_ENV} to use the embedded SQLite store"
    if parsed.scheme in ("http", "https"):
        import requests

        try:
            response = requests.get(uri.rstrip("/") + "/health", timeout=timeout)
        except requests.RequestException as exc:
            raise TrackingUnavailableError(
                f"MLflow tracking server {uri} is unreachable ({exc.__class__.__name__}): {advice}"
            ) from None
        if response.status_code >= 500:
            raise TrackingUnavailableError(f"MLflow tracking server {uri} answered {response.status_code}: {advice}")
        return
    if parsed.scheme == "sqlite":
        path = uri[len("sqlite:///") :]
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TrackingUnavailableError(f"MLflow store {uri}: cannot create its folder ({exc})") from None
        return
    if parsed.scheme in ("", "file"):
        return
    host, port = parsed.hostname, parsed.port
    if host and port:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            raise TrackingUnavailableError(f"MLflow store {uri} is unreachable ({exc}): {advice}") from None


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(uri: str, name: str, location: str | None) -> str:
    """The experiment's id, created with `location` as artifact root if it does not exist."""
    client = _client(uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        if EXPERIMENT_KIND_TAG not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return experiment.experiment_id
    try:
        return client.create_experiment(
            name,
            artifact_location=location,
            tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, "mlflow.note.content": EXPERIMENT_DESCRIPTION},
        )
    except Exception:  # created concurrently by another partition's run
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


@contextmanager
def tracked_run(uri: str, experiment_id: str, *, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
    """An active MLflow run (fluent API) that ends FINISHED on success and FAILED on any exception.

    Also ends FAILED on KeyboardInterrupt/SystemExit (a Dagster termination), then re-raises. The
    URI variables ``mlflow.set_tracking_uri`` writes into the environment (read by `tracking_uri` as an
    override) are put back afterwards, so a long-lived process tracks its next config in its own store.
    """
    import mlflow

    saved_env = {name: os.environ.get(name) for name in (TRACKING_URI_ENV, "MLFLOW_REGISTRY_URI")}
    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        with _run(mlflow, experiment_id, run_name=run_name, tags=tags) as run:
            yield run
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _run(mlflow: Any, experiment_id: str, *, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
    while mlflow.active_run() is not None:  # a run leaked by earlier code in this process: never nest into it
        mlflow.end_run("KILLED")
    run = mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags)
    status = "FAILED"
    try:
        yield run
        status = "FINISHED"
    except BaseException as exc:
        try:
            mlflow.set_tag("error", f"{type(exc).__name__}: {exc}"[:5000])
        except Exception:  # the store itself may be what failed; ending the run matters more
            logger.warning("could not tag MLflow run %s with its error", run.info.run_id)
        raise
    finally:
        mlflow.end_run(status)


def log_model(estimator: Any, *, flavor: str, trusted_types: list[str]) -> str:
    """Log the estimator to the active run with its flavor; return the model URI."""
    import mlflow

    if flavor == "xgboost":
        info = mlflow.xgboost.log_model(
            estimator, name="model", model_format="ubj", pip_requirements=_requirements("xgboost-cpu", "xgboost")
        )
    elif flavor == "sklearn":
        info = mlflow.sklearn.log_model(
            estimator,
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted_types,
            pip_requirements=_requirements("scikit-learn", "skops"),
        )
    else:
        raise ValueError(f"unsupported MLflow flavor {flavor!r}: use 'xgboost' or 'sklearn'")
    return info.model_uri


def _requirements(*distributions: str) -> list[str]:
    """Pinned requirements of the installed distributions (skips MLflow's slow inference)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in distributions:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    promoted: bool
    previous_champion: str | None


def register_model(
    uri: str,
    model_uri: str,
    name: str,
    *,
    run_id: str,
    alias: str,
    score: float,
    before_promote: Callable[[], None] | None = None,
) -> Registration:
    """Register `model_uri` as a new version of `name`; move `alias` to it when not worse (see module doc).

    `before_promote` (a test hook, default None) runs after the version is registered and
    before the alias may move.
    """
    import mlflow

    mlflow.set_registry_uri(uri)
    version = mlflow.register_model(model_uri, name, tags={"source_run_id": run_id}).version
    if before_promote is not None:
        before_promote()
    promoted, previous = promote_if_not_worse(uri, name, str(version), alias=alias, score=score)
    return Registration(name=name, version=str(version), promoted=promoted, previous_champion=previous)


def promote_if_not_worse(uri: str, name: str, version: str, *, alias: str, score: float) -> tuple[bool, str | None]:
    """Point `alias` at `version` when its validation f1_macro (`score`) >= the current holder's.

    Both scores are compared at full precision, each read from one stored value: the
    version's ``validation_f1_macro`` tag, written here as the float's exact ``repr``
    (round-trips bit for bit); a holder registered before that tag existed falls back to
    its run's metric (a double in the store). A tie is "not worse": the alias moves, so a
    retrain on identical data always leaves the registry pointing at the bundle just
    written. Returns ``(promoted, previous holder's version or None)``.
    """
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    client.set_model_version_tag(name, version, PROMOTION_METRIC, repr(float(score)))
    stored = _version_score(client, client.get_model_version(name, version))  # read back like the holder's
    score = float(score) if stored is None else stored
    try:
        holder = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        holder = None
    if holder is None:
        client.set_registered_model_alias(name, alias, version)
        logger.info("%s v%s: validation f1_macro %r; no version held %r: alias set", name, version, score, alias)
        return True, None
    held_score = _version_score(client, holder)
    if held_score is None or score >= held_score:
        client.set_registered_model_alias(name, alias, version)
        remember_previous_holder(uri, name, str(holder.version), version)
        logger.info(
            "%s v%s: validation f1_macro %r >= %r of v%s holding %r; alias moved",
            name,
            version,
            score,
            held_score,
            holder.version,
            alias,
        )
        return True, str(holder.version)
    logger.info(
        "%s v%s: validation f1_macro %r < %r of v%s holding %r; alias not moved",
        name,
        version,
        score,
        held_score,
        holder.version,
        alias,
    )
    return False, str(holder.version)


PREVIOUS_ALIAS_TAG = "previous_champions"
"""Registered-model tag: the versions that held the alias before, newest first, comma-separated."""


def remember_previous_holder(uri: str, name: str, previous: str | None, new: str) -> None:
    """Record `previous` (the version the alias left for `new`) at the head of the model's `PREVIOUS_ALIAS_TAG`."""
    if previous is None or previous == new:
        return
    client = _client(uri)
    tags = client.get_registered_model(name).tags or {}
    chain = [v for v in (tags.get(PREVIOUS_ALIAS_TAG) or "").split(",") if v and v != new]
    chain = list(dict.fromkeys([previous, *chain]))[:10]
    client.set_registered_model_tag(name, PREVIOUS_ALIAS_TAG, ",".join(chain))


def _version_score(client: Any, version: Any) -> float | None:
    """The version's validation f1_macro: its tag (full precision), else its run's metric."""
    tag = (version.tags or {}).get(PROMOTION_METRIC)
    if tag is not None:
        return float(tag)
    if version.run_id:
        value = client.get_run(version.run_id).data.metrics.get(PROMOTION_METRIC)
        return float(value) if value is not None else None
    return None


@dataclass(frozen=True)
class Tracker:
    """Where and how one training run is tracked (built from the config, or by the Dagster resource)."""

    uri: str
    experiment_name: str
    artifact_location: str | None
    register: bool
    alias: str
    ui_url: str = ""
    dagster_ui_url: str = ""

    @classmethod
    def from_config(
        cls, config: PipelineConfig, *, uri: str | None = None, experiment_name: str | None = None
    ) -> Tracker:
        resolved = resolve_sqlite_url(uri) if uri else tracking_uri(config)
        return cls(
            uri=resolved,
            experiment_name=experiment_name or config.mlflow.experiment_name,
            artifact_location=artifact_location(config, resolved),
            register=config.mlflow.register,
            alias=config.mlflow.alias,
            ui_url=mlflow_ui_url(config, resolved),
            dagster_ui_url=config.mlflow.dagster_ui_url.rstrip("/"),
        )

    def run_url(self, experiment_id: str, run_id: str) -> str:
        """The run's page in the MLflow UI (opened in its model-training view)."""
        return f"{self.ui_url}/#/experiments/{experiment_id}/runs/{run_id}?{ML_WORKFLOW_QUERY}"

    def artifact_url(self, run_id: str, path: str) -> str:
        """A run's artifact file as the MLflow UI server serves it (what the UI's artifact preview loads)."""
        return f"{self.ui_url}/get-artifact?" + urllib.parse.urlencode({"path": path, "run_uuid": run_id})

    def model_url(self, name: str, version: str) -> str:
        return f"{self.ui_url}/#/models/{urllib.parse.quote(name)}/versions/{version}?{ML_WORKFLOW_QUERY}"

    def dagster_run_url(self, dagster_run_id: str) -> str:
        return f"{self.dagster_ui_url}/runs/{dagster_run_id}"

    def check(self) -> None:
        """Raise TrackingUnavailableError unless the store answers."""
        check_reachable(self.uri)

    @contextmanager
    def run(self, *, run_name: str, tags: dict[str, str]) -> Iterator[Any]:
        """A run in the experiment that ends FINISHED or FAILED (see `tracked_run`)."""
        try:
            experiment_id = ensure_experiment(self.uri, self.experiment_name, self.artifact_location)
        except Exception as exc:
            raise TrackingUnavailableError(
                f"MLflow store {self.uri}: cannot open experiment {self.experiment_name!r} ({exc}): check the "
                f"tracking server or unset {TRACKING_URI_ENV} to use the embedded SQLite store"
            ) from exc
        with tracked_run(self.uri, experiment_id, run_name=run_name, tags=tags) as run:
            yield run
