"""train_partition end to end, and every fault failing cleanly.

No running row, no RUNNING MLflow run, nothing registered.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ml_platform.bundle import load_bundle
from ml_platform.config import PipelineConfig
from ml_platform.db import DatabaseUnavailableError, RunStore
from ml_platform.model_inputs import bio_model_inputs
from ml_platform.partitions import Partition
from ml_platform.training.dataset import TrainingDataError
from ml_platform.training.models import UnknownModelTypeError
from ml_platform.training.split import SplitError
from ml_platform.training.tracking import Tracker, TrackingUnavailableError, registered_model_name
from ml_platform.training.train import train_partition

from .helpers import labeled_bio_frame, labeled_window_frame, small_config

PARTITION = Partition("EURUSD", "1h")


def _config(tmp_path: Path, mlflow_dir: Path, **overrides: object) -> PipelineConfig:
    prefix = f"t{uuid.uuid4().hex[:8]}"  # registered names and experiments unique per test
    mlflow = {
        "tracking_uri": f"sqlite:///{mlflow_dir}/mlflow.db",
        "artifact_location": str(mlflow_dir / "artifacts"),
        "experiment_name": prefix,
        "registered_model_prefix": prefix,
        **overrides.pop("mlflow", {}),
    }  # type: ignore[dict-item]
    return small_config(tmp_path, mlflow=mlflow, **overrides)


def _run(
    config: PipelineConfig,
    frame: pd.DataFrame | None,
    tmp_path: Path,
    *,
    db_url: str | None = None,
    tracker: Tracker | None = None,
):  # type: ignore[no-untyped-def]
    labeled = tmp_path / "labeled" / "EURUSD_1h.parquet"
    if frame is not None:
        labeled.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(labeled, index=False)
    store = RunStore(db_url or config.database.url)
    try:
        return train_partition(
            config,
            PARTITION,
            labeled_path=labeled,
            bundle_dir=tmp_path / "models" / "EURUSD_1h",
            run_store=store,
            tracker=tracker or Tracker.from_config(config),
            dagster_run_id="dagster-1",
        )
    finally:
        store.dispose()


def _assert_clean_failure(config: PipelineConfig, tmp_path: Path, *, rows: int) -> None:
    store = RunStore(config.database.url)
    records = store.list_runs()
    store.dispose()
    assert len(records) == rows and all(r.status == "failed" and r.error for r in records)
    uri = config.mlflow.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name(config.mlflow.experiment_name)
    if experiment is not None:
        runs = client.search_runs([experiment.experiment_id])
        assert all(run.info.status == "FAILED" for run in runs)
    assert not client.search_registered_models(f"name = '{registered_model_name(config, 'EURUSD', '1h')}'")
    assert not (tmp_path / "models" / "EURUSD_1h" / "bundle.json").exists()


@pytest.mark.parametrize("model_type", ["xgboost", "random_forest"])
def test_trains_tracks_registers_and_writes_the_bundle(tmp_path: Path, mlflow_dir: Path, model_type: str) -> None:
    config = _config(tmp_path, mlflow_dir, training={"model_type": model_type})
    frame = labeled_bio_frame(config)
    result = _run(config, frame, tmp_path)

    store = RunStore(config.database.url)
    (row,) = store.list_runs()
    store.dispose()
    assert (row.status, row.mlflow_run_id, row.model_version, row.pair) == (
        "completed",
        result.mlflow_run_id,
        result.meta.model_version,
        "EURUSD",
    )
    assert row.metrics_summary["test"]["f1_macro"] == result.meta.metrics["test"]["f1_macro"]
    assert row.dataset_version == result.meta.dataset_version and row.pipeline_config_hash == config.fingerprint()

    client = MlflowClient(tracking_uri=config.mlflow.tracking_uri, registry_uri=config.mlflow.tracking_uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED"
    assert {k: run.data.tags[k] for k in ("pair", "timeframe", "dagster_run_id")} == {
        "pair": "EURUSD",
        "timeframe": "1h",
        "dagster_run_id": "dagster-1",
    }
    assert run.data.params["dataset.version"] == result.meta.dataset_version
    assert int(run.data.params["class_count.B-spike"]) == result.class_counts["all"]["B-spike"] > 0
    assert "model.n_estimators" in run.data.params and "model.max_depth" in run.data.params
    for metric in ("validation_f1_macro", "test_accuracy", "test_f1_weighted", "test_span_f1", "test_f1.B-spike"):
        assert metric in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(result.mlflow_run_id)}
    assert {
        "pipeline_config.yaml",
        "confusion_matrix.png",
        "feature_importance.png",
        "classification_report.txt",
        "class_counts.json",
    } <= artifacts
    name = registered_model_name(config, "EURUSD", "1h")
    assert str(client.get_model_version_by_alias(name, "champion").version) == result.registration.version == "1"

    bundle = load_bundle(tmp_path / "models" / "EURUSD_1h")
    assert bundle.meta.classes == ["B-dip", "B-spike", "I-dip", "I-spike", "O"]
    assert bundle.meta.registered_version == "1" and bundle.meta.mlflow_run_id == result.mlflow_run_id
    assert bundle.meta.metrics["test"]["span_f1"] >= 0.5
    inputs, valid = bio_model_inputs(frame, bundle.meta.base_feature_columns, bundle.config.features.context)
    assert list(inputs.columns) == bundle.meta.feature_columns
    proba = bundle.predict_proba(inputs.iloc[valid].to_numpy())
    assert proba.shape == (len(frame) - 2, 5) and np.allclose(proba.sum(axis=1), 1.0)


def test_window_mode_trains_on_labels(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(
        tmp_path, mlflow_dir, labeling={"mode": "window", "window": {"size": 4}}, mlflow={"register": False}
    )
    result = _run(config, labeled_window_frame(config), tmp_path)
    assert result.meta.mode == "window" and result.meta.classes == ["O", "dip", "spike"]
    assert result.meta.feature_columns[:2] == ["rsi_5_t0", "rsi_5_t1"] and len(result.meta.feature_columns) == 4 * 9
    assert "span_f1" not in result.meta.metrics["test"] and result.registration is None


def test_one_class_fails_with_advice(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir)
    frame = labeled_bio_frame(config).assign(tag="O")
    with pytest.raises(TrainingDataError, match="single class \\['O'\\].*Add pattern annotations"):
        _run(config, frame, tmp_path)
    _assert_clean_failure(config, tmp_path, rows=1)


def test_too_few_rows_fail(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir)
    frame = labeled_bio_frame(config, n=100).iloc[30:50]
    with pytest.raises(SplitError, match="too few"):
        _run(config, frame, tmp_path)
    _assert_clean_failure(config, tmp_path, rows=1)


def test_label_only_in_test_fails(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir)
    frame = labeled_bio_frame(config)
    frame.loc[len(frame) - 20, "tag"] = "B-late"
    with pytest.raises(TrainingDataError, match="\\['B-late'\\] occur in the test part but never in train"):
        _run(config, frame, tmp_path)
    _assert_clean_failure(config, tmp_path, rows=1)


def test_unknown_model_type_fails_before_anything(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir, training={"model_type": "lightgbm"})
    with pytest.raises(UnknownModelTypeError, match="use one of random_forest, xgboost"):
        _run(config, labeled_bio_frame(config), tmp_path)
    _assert_clean_failure(config, tmp_path, rows=0)


def test_database_unreachable_fails_before_mlflow(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir)
    with pytest.raises(DatabaseUnavailableError, match="is unavailable"):
        _run(config, labeled_bio_frame(config), tmp_path, db_url="postgresql+psycopg2://postgres@127.0.0.1:1/test")
    _assert_clean_failure(config, tmp_path, rows=0)


def test_mlflow_unreachable_fails_before_the_row(tmp_path: Path, mlflow_dir: Path) -> None:
    config = _config(tmp_path, mlflow_dir)
    dead = Tracker.from_config(config, uri="http://127.0.0.1:9")
    with pytest.raises(TrackingUnavailableError, match="unreachable"):
        _run(config, labeled_bio_frame(config), tmp_path, tracker=dead)
    _assert_clean_failure(config, tmp_path, rows=0)


def test_error_during_fit_ends_the_mlflow_run_failed(
    tmp_path: Path, mlflow_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, mlflow_dir)
    from ml_platform.training.models.xgboost_model import XGBoostModel

    def broken_fit(self, X, y, *, class_weight):  # type: ignore[no-untyped-def]
        raise MemoryError("out of memory")

    monkeypatch.setattr(XGBoostModel, "fit", broken_fit)
    with pytest.raises(MemoryError):
        _run(config, labeled_bio_frame(config), tmp_path)
    _assert_clean_failure(config, tmp_path, rows=1)
    client = MlflowClient(tracking_uri=config.mlflow.tracking_uri)
    (run,) = client.search_runs([client.get_experiment_by_name(config.mlflow.experiment_name).experiment_id])
    assert run.info.status == "FAILED" and "out of memory" in run.data.tags["error"]
