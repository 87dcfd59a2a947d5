from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from ml_platform.db import DatabaseUnavailableError, RunStore, database_url, normalize_url

COLUMNS = {
    "run_id",
    "model_type",
    "experiment_name",
    "pipeline_config_hash",
    "dataset_version",
    "metrics_summary",
    "status",
    "created_at",
    "completed_at",
    "pair",
    "timeframe",
    "mlflow_run_id",
    "model_version",
    "error",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs.db"
    return request.getfixturevalue("postgres_url")


def _start(store: RunStore, pair: str = "EURUSD") -> str:
    return store.start(
        pair=pair,
        timeframe="1h",
        model_type="xgboost",
        experiment_name="candle-patterns",
        pipeline_config_hash="abcd",
        dataset_version="0123",
    )


def test_migration_creates_the_table(store_url: str) -> None:
    store = RunStore(store_url)
    store.ensure_ready()
    engine = create_engine(store_url)
    try:
        assert {c["name"] for c in inspect(engine).get_columns("training_runs")} == COLUMNS
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001_training_runs"
    finally:
        engine.dispose()
        store.dispose()
    RunStore(store_url).ensure_ready()  # a second upgrade is a no-op


def test_rows_go_running_then_completed_or_failed(store_url: str) -> None:
    store = RunStore(store_url)
    ok, bad = _start(store), _start(store, "GBPUSD")
    assert store.get(ok).status == "running" and store.get(ok).completed_at is None
    store.set_mlflow_run(ok, "mlflow123")
    store.complete(ok, metrics_summary={"test": {"f1_macro": 0.9}}, mlflow_run_id="mlflow123", model_version="v1")
    store.fail(bad, "TrainingDataError: one class")
    done, failed = store.get(ok), store.get(bad)
    assert (done.status, done.metrics_summary, done.mlflow_run_id, done.model_version) == (
        "completed",
        {"test": {"f1_macro": 0.9}},
        "mlflow123",
        "v1",
    )
    assert done.completed_at is not None and done.created_at <= done.completed_at
    assert (failed.status, failed.error) == ("failed", "TrainingDataError: one class")
    assert [r.run_id for r in store.list_runs(pair="GBPUSD")] == [bad]
    assert store.list_runs(status="running") == []
    store.dispose()


def test_unreachable_database_says_what_to_check() -> None:
    store = RunStore("postgresql+psycopg2://postgres:secret@127.0.0.1:1/test")
    with pytest.raises(
        DatabaseUnavailableError, match=r"postgres:\*\*\*@127.0.0.1:1/test is unavailable .* unset DATABASE_URL"
    ):
        _start(store)


def test_url_from_env_and_driver_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@db:5432/app")
    assert database_url() == "postgresql+psycopg2://postgres@db:5432/app"
    assert normalize_url("sqlite:///data/x.db").endswith("/data/x.db") and normalize_url(
        "sqlite:///data/x.db"
    ).startswith("sqlite:////")
