"""Shared fixtures: synthetic candles and a pipeline config whose data paths live in tmp_path."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine, text

from ml_platform.config import PipelineConfig, load_config

HOUR = 3600
START = 1_700_000_000 - 1_700_000_000 % HOUR


def synthetic_candles(
    n: int = 500, *, seed: int = 0, start: int = START, step: int = HOUR, price: float = 1.1
) -> pd.DataFrame:
    """A canonical candle frame: a random walk with consistent OHLC and positive volume."""
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([price], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.001, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.001, n))
    return pd.DataFrame(
        {
            "time": start + step * np.arange(n, dtype=np.int64),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.uniform(100, 1000, n),
        }
    )


def write_config(directory: Path, overrides: dict | None = None) -> Path:
    """A pipeline.yaml with every data, MLflow and database path inside `directory`."""
    data = {
        "raw_path": str(directory / "raw"),
        "raw_store": str(directory / "candles"),
        "enriched_path": str(directory / "enriched"),
        "labeled_path": str(directory / "labeled"),
        "models_path": str(directory / "models"),
        "annotations_path": str(directory / "annotations"),
        "ground_truth_path": str(directory / "ground_truth.json"),
    }
    raw: dict = {
        "data": data,
        "partitions": {"pairs": ["EURUSD", "BTC-USDT"], "timeframes": ["1h"]},
        "mlflow": {
            "tracking_uri": f"sqlite:///{directory / 'mlflow.db'}",
            "artifact_location": str(directory / "mlartifacts"),
        },
        "database": {"url": f"sqlite:///{directory / 'training_runs.db'}"},
    }
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A config file whose data paths point into this test's tmp_path."""
    return write_config(tmp_path)


@pytest.fixture
def pipeline_config(config_path: Path) -> PipelineConfig:
    return load_config(config_path)


POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The real PostgreSQL ``test`` database, in a fresh schema dropped afterwards (suites share the database)."""
    schema = f"t_{request.node.module.__name__.rsplit('.', 1)[-1][:20]}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
