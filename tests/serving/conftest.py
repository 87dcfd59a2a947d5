"""Fixtures for the inference service: sample candles, tiny trained bundles, an app per test.

Models are tiny (a few shallow trees) so a bundle trains in well under a second; candles
come from the sample-data generator (planted patterns give real BIO labels).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from litestar.testing import TestClient

from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle
from ml_platform.candles import write_candles
from ml_platform.config import DataConfig, PipelineConfig, load_config
from ml_platform.features import build_features
from ml_platform.model_inputs import bio_model_inputs, window_model_inputs
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from ml_platform.storage import write_parquet_atomic
from serving import Settings, create_app

N_CANDLES = 1200
PAIR, TIMEFRAME = "EURUSD", "1h"
SERVED = Partition(PAIR, TIMEFRAME)
LABELS = ("bull_flag", "double_top", "head_and_shoulders")


def write_serving_config(directory: Path, serving: dict | None = None, **sections: dict) -> Path:
    """A pipeline.yaml whose data, MLflow and database paths are inside `directory`."""
    raw: dict = {
        "data": DataConfig.paths_under(directory),
        "partitions": {"pairs": ["EURUSD", "BTC-USDT"], "timeframes": ["1h"]},
        "mlflow": {
            "tracking_uri": f"sqlite:///{directory / 'mlflow.db'}",
            "artifact_location": str(directory / "mlartifacts"),
        },
        "database": {"url": f"sqlite:///{directory / 'training_runs.db'}"},
        "serving": {
            "reload_interval_seconds": 0,
            "max_candles": 5000,
            "request_max_body_size": 1_000_000,
            "batch_size": 1000,
            "cors_allow_origins": ["http://localhost:3000"],
            **(serving or {}),
        },
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample() -> tuple[pd.DataFrame, np.ndarray]:
    """Candles of one partition and the planted pattern name of each candle ("" outside)."""
    candles, spans = generate_partition(PAIR, TIMEFRAME, n_candles=N_CANDLES, seed=11)
    tags = np.array(["O"] * len(candles), dtype=object)
    for span in spans:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    return candles, tags


def train_bundle(
    models_path: Path,
    config: PipelineConfig,
    candles: pd.DataFrame,
    tags: np.ndarray,
    *,
    partition: Partition = SERVED,
    version: str = "v1",
    mode: str = "bio",
    model_type: str = "xgboost",
    seed: int = 0,
    n_estimators: int = 4,
) -> Path:
    """Train a tiny model on the features of `candles` and save it as the partition's bundle."""
    from ml_platform.training.models import get_model_type

    features = build_features(candles, config)
    base = list(features.feature_columns)
    row_tags = tags[features.warmup_rows :]
    if mode == "bio":
        inputs, valid = bio_model_inputs(features.frame, base, config.features.context)
        y_tags = row_tags[valid]
    else:
        inputs, valid = window_model_inputs(features.frame, base, config.labeling.window.size)
        y_tags = np.array([t[2:] if t != "O" else "O" for t in row_tags[valid]], dtype=object)
    classes = sorted(set(y_tags), key=lambda t: (t == "O", t))
    index = {tag: i for i, tag in enumerate(classes)}
    y = np.array([index[t] for t in y_tags])
    X = inputs.to_numpy()[valid]
    if model_type == "xgboost":
        from xgboost import XGBClassifier

        model = XGBClassifier(n_estimators=n_estimators, max_depth=3, n_jobs=1, random_state=seed, tree_method="hist")
    else:
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(n_estimators=n_estimators, max_depth=6, n_jobs=1, random_state=seed)
    model.fit(X, y)
    get_model_type(model_type)  # the type must be registered for load_bundle
    meta = BundleMeta(
        model_version=version,
        model_type=model_type,
        pair=partition.pair,
        timeframe=partition.timeframe,
        mode=mode,
        classes=classes,
        labels=pattern_labels(classes, config.labeling.labels),
        base_feature_columns=base,
        feature_columns=list(inputs.columns),
        pipeline_config=config.to_dict(),
        metrics={
            "validation": {"f1_macro": 0.5},
            "test": {"f1_macro": 0.4},
            "per_class": {tag: {"precision": 0.5, "recall": 0.5, "f1": 0.5} for tag in classes},
        },
        dataset_version="test-dataset",
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return save_bundle(models_path / partition.stem, meta, model)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_serving_config(tmp_path)


@pytest.fixture
def config(config_file: Path) -> PipelineConfig:
    return load_config(config_file)


@pytest.fixture
def stored(config: PipelineConfig, sample: tuple[pd.DataFrame, np.ndarray]) -> pd.DataFrame:
    """The sample candles as the raw_candles asset, and their features as the enriched_features asset."""
    candles, _ = sample
    write_candles(candles, config.data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
    write_parquet_atomic(
        build_features(candles, config).frame, config.data.partition_file("features", Partition(PAIR, TIMEFRAME))
    )
    return candles


@pytest.fixture
def bundle_path(config: PipelineConfig, stored: pd.DataFrame, sample: tuple[pd.DataFrame, np.ndarray]) -> Path:
    return train_bundle(config.data.models_dir, config, stored, sample[1])


def make_client(config_file: Path, env: dict[str, str] | None = None) -> TestClient:
    settings = Settings.from_config(load_config(config_file), env=env or {}, config_path=config_file)
    return TestClient(app=create_app(settings), raise_server_exceptions=False)


@pytest.fixture
def client(config_file: Path, bundle_path: Path) -> Iterator[TestClient]:
    """A client of an app with the EURUSD 1h model loaded and its candles stored."""
    with make_client(config_file) as test_client:
        yield test_client


def candle_dicts(candles: pd.DataFrame) -> list[dict]:
    """Request candles from a frame (JSON-ready Python numbers)."""
    return [
        {"time": int(t), "open": float(o), "high": float(h), "low": float(lo), "close": float(c), "volume": float(v)}
        for t, o, h, lo, c, v in candles.loc[:, ["time", "open", "high", "low", "close", "volume"]].itertuples(
            index=False
        )
    ]
