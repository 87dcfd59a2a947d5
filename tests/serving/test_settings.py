"""serving.settings: the environment overrides are the pipeline's (`tracking_uri`, `database_url`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ml_platform.config import load_config, resolve_path
from ml_platform.db import database_url
from ml_platform.training.tracking import tracking_uri
from serving.settings import Settings
from tests.serving.conftest import write_serving_config


@pytest.fixture
def config(tmp_path: Path):
    return load_config(write_serving_config(tmp_path))


def test_without_overrides_the_config_urls_are_used(config, tmp_path: Path) -> None:
    settings = Settings.from_config(config, env={})
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.database_url == f"sqlite:///{tmp_path / 'training_runs.db'}"
    assert settings.api_token is None


def test_overrides_match_the_pipeline(config) -> None:
    env = {
        "MLFLOW_TRACKING_URI": " http://mlflow:5000 ",
        "DATABASE_URL": "sqlite:///data/elsewhere.db",
        "INFERENCE_API_TOKEN": " s3cret ",
    }
    settings = Settings.from_config(config, env=env)
    assert settings.mlflow_tracking_uri == "http://mlflow:5000" == tracking_uri(config, env=env)
    assert settings.database_url == f"sqlite:///{resolve_path('data/elsewhere.db')}" == database_url(config, env=env)
    assert settings.api_token == "s3cret"


def test_blank_overrides_count_as_unset(config, tmp_path: Path) -> None:
    settings = Settings.from_config(config, env={"MLFLOW_TRACKING_URI": "  ", "DATABASE_URL": ""})
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.database_url == f"sqlite:///{tmp_path / 'training_runs.db'}"


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None, reason="psycopg 3 installed: URL kept as is")
def test_a_driverless_postgres_url_uses_psycopg2_as_in_the_pipeline(config) -> None:
    settings = Settings.from_config(config, env={"DATABASE_URL": "postgres://u@db:5432/runs"})
    assert settings.database_url == "postgresql+psycopg2://u@db:5432/runs"
