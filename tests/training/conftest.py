"""Fixtures for the training tests: one MLflow store per session (creating one costs seconds), PostgreSQL schemas."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their stores explicitly: a developer's DATABASE_URL / MLFLOW_TRACKING_URI must not leak in."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def mlflow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MLflow SQLite store + artifact folder shared by the session's tests (experiments keep them apart)."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The real PostgreSQL, in a fresh schema dropped afterwards (other suites share the database)."""
    schema = f"training_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
