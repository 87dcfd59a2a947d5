"""The ``mlflow``, ``database``, ``serving`` and ``dvc`` sections: the services around the pipeline."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ml_platform.config.base import PositiveInt, Section
from ml_platform.config.paths import resolve_path


class MlflowConfig(Section, frozen=True):
    """MLflow tracking; the embedded default is a SQLite store and an artifact folder.

    ui_url : str, default "http://127.0.0.1:5000"
        Where a browser opens the MLflow UI (``make mlflow``): the Dagster metadata links runs,
        models and artifacts there. Empty: the tracking URI when it is an MLflow server.
    dagster_ui_url : str, default "http://127.0.0.1:3000"
        Where a browser opens the Dagster UI (``make dagster``): each MLflow run's description
        links the Dagster run that trained it.
    """

    tracking_uri: str = "sqlite:///data/mlflow/mlflow.db"
    artifact_location: str = "data/mlflow/artifacts"
    experiment_name: str = "candle-patterns"
    register: bool = True
    registered_model_prefix: str = "candle-patterns"
    alias: str = "champion"
    ui_url: str = "http://127.0.0.1:5000"
    dagster_ui_url: str = "http://127.0.0.1:3000"


class DatabaseConfig(Section, frozen=True):
    """The `training_runs` store; `DATABASE_URL` overrides `url`."""

    url: str = "sqlite:///data/training_runs.db"


class ServingConfig(Section, frozen=True):
    """The Litestar inference service."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    model_source: Literal["bundle", "mlflow"] = "bundle"
    mlflow_alias: str = "champion"
    request_max_body_size: PositiveInt = 10_000_000
    max_candles: PositiveInt = 20_000
    batch_size: PositiveInt = 5_000
    cors_allow_origins: list[str] = msgspec.field(
        default_factory=lambda: ["http://localhost:3001", "http://127.0.0.1:3001"]
    )
    reload_interval_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    # uvicorn worker processes; 0 = one per core. Each worker loads the models and polls for new ones.
    workers: Annotated[int, msgspec.Meta(ge=0)] = 0
    # An idle keep-alive connection is closed after this long; a connection that has not sent a
    # request's complete headers within header_timeout_seconds (of opening, or of its last answer) too.
    keep_alive_timeout_seconds: Annotated[int, msgspec.Meta(ge=1)] = 5
    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0


class DvcConfig(Section, frozen=True):
    """Data versioning of `data/raw` and the annotation exports (``make data-push`` / ``make data-pull``).

    remote_name : str, default "local"
        The DVC remote's name (letters, digits, ``_`` and ``-``), made the default remote
        in ``.dvc/config.local`` at push/pull time.
    remote_path : str, default "data/dvc-remote"
        A folder (relative ones start at the project root) or a DVC remote URL
        (``s3://bucket/path``, ``ssh://host/path``: these need the ``dvc-s3`` / ``dvc-ssh`` package).
    """

    remote_name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "local"
    remote_path: Annotated[str, msgspec.Meta(min_length=1)] = "data/dvc-remote"

    @property
    def remote_is_local(self) -> bool:
        """True when `remote_path` is a folder on this machine, False for a URL."""
        return "://" not in self.remote_path

    def remote_url(self) -> str:
        """What ``dvc remote`` is given: a URL as written, a folder as an absolute path."""
        return str(resolve_path(self.remote_path)) if self.remote_is_local else self.remote_path
