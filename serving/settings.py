"""The service's settings: one typed object, built once from the pipeline config and the environment.

Read from the environment (nowhere else in `serving/`):

- ``ML_PLATFORM_CONFIG``: the pipeline config file (default ``config/pipeline.yaml``);
  ``python -m serving --config PATH`` overrides it.
- ``INFERENCE_API_TOKEN``: when set, every endpoint but ``/health`` requires
  ``Authorization: Bearer <token>``.
- ``MLFLOW_TRACKING_URI``: overrides ``mlflow.tracking_uri``, and ``DATABASE_URL`` overrides
  ``database.url``, exactly as in the pipeline: ``ml_platform.training.tracking.tracking_uri``
  and ``ml_platform.db.database_url`` read them (a blank value counts as unset).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ml_platform.config import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    PipelineConfig,
    ServingConfig,
    load_config,
    resolve_path,
)
from ml_platform.db import database_url
from ml_platform.training.tracking import tracking_uri

TOKEN_ENV_VAR = "INFERENCE_API_TOKEN"


@dataclass(frozen=True)
class Settings:
    """Everything the app needs, resolved: absolute paths, effective URLs, the token.

    config : PipelineConfig
        The whole pipeline config (the ``serving`` section and the data paths are used).
    api_token : str or None
        The bearer token every endpoint but ``/health`` requires; None disables auth.
    mlflow_tracking_uri, database_url : str
        After the environment overrides, as the pipeline resolves them (relative SQLite paths
        anchored at the project root; a driverless PostgreSQL URL mapped to psycopg2 when
        psycopg 3 is not installed).
    """

    config: PipelineConfig
    api_token: str | None
    mlflow_tracking_uri: str
    database_url: str
    config_path: Path | None = None

    @property
    def serving(self) -> ServingConfig:
        return self.config.serving

    @property
    def models_path(self) -> Path:
        return self.config.data.models_dir

    @classmethod
    def from_config(
        cls, config: PipelineConfig, *, env: Mapping[str, str] | None = None, config_path: Path | None = None
    ) -> Settings:
        """Settings for `config`, with the environment overrides of `env` (default ``os.environ``)."""
        env = os.environ if env is None else env
        token = (env.get(TOKEN_ENV_VAR) or "").strip() or None
        return cls(
            config=config,
            api_token=token,
            mlflow_tracking_uri=tracking_uri(config, env=env),
            database_url=database_url(config, env=env),
            config_path=config_path,
        )


def load_settings(
    config_path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the config file (`config_path`, else ``ML_PLATFORM_CONFIG``, else the default) into Settings.

    Raises
    ------
    ml_platform.config.ConfigError
        Naming the file, key and value at fault.
    """
    if config_path is None:
        config_path = (os.environ if env is None else env).get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH
    path = resolve_path(config_path)
    return Settings.from_config(load_config(path), env=env, config_path=path)
