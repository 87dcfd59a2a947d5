"""Fixtures for the training tests: one MLflow store per session (creating one costs seconds), PostgreSQL schemas."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their stores explicitly: a developer's DATABASE_URL / MLFLOW_TRACKING_URI must not leak in."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def mlflow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MLflow SQLite store + artifact folder shared by the session's tests (experiments keep them apart)."""
    return tmp_path_factory.mktemp("mlflow")
