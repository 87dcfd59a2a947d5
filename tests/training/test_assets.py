"""The Dagster wiring: trained_model materialized in process, and the nightly schedule."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    MarkdownMetadataValue,
    TableMetadataValue,
    UrlMetadataValue,
    materialize,
)
from mlflow import MlflowClient

from assets.models import trained_model
from assets.partitions import add_partition_keys
from ml_platform.bundle import load_bundle
from ml_platform.db import RunStore
from ml_platform.partitions import Partition
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

from .helpers import labeled_bio_frame, small_config, write_config


@pytest.mark.slow  # trains and tracks a real model through Dagster (~5 s)
def test_materialize_one_partition(tmp_path: Path, mlflow_dir: Path) -> None:
    experiment = f"assets-{uuid.uuid4().hex[:6]}"
    config = small_config(
        tmp_path,
        mlflow={
            "tracking_uri": f"sqlite:///{mlflow_dir}/mlflow.db",
            "artifact_location": str(mlflow_dir / "artifacts"),
            "experiment_name": experiment,
            "registered_model_prefix": experiment,
        },
    )
    labeled = config.data.partition_file("labeled", Partition("EURUSD", "1h"))
    labeled.parent.mkdir(parents=True)
    labeled_bio_frame(config).to_parquet(labeled, index=False)
    config_path = write_config(config, tmp_path / "pipeline.yaml")
    resources = {
        "pipeline": PipelineResource(config_path=str(config_path)),
        "mlflow": MlflowResource(),
        "run_store": RunStoreResource(),
    }

    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, ["EURUSD|1h"])  # the pair dimension is dynamic
        result = materialize([trained_model], partition_key="EURUSD|1h", instance=instance, resources=resources)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("trained_model")
    metadata = materialization.metadata
    metrics = metadata["metrics"]
    assert isinstance(metrics, TableMetadataValue)  # inline, narrow: one row per metric
    assert [column.name for column in metrics.schema.columns] == ["metric", "validation", "test"]
    assert "f1_macro" in {record.data["metric"] for record in metrics.records}
    confusion = metadata["confusion_test"]
    assert isinstance(confusion, TableMetadataValue) and confusion.schema.columns[0].name == "true class"
    assert all(r.data["rows"] >= r.data["predicted right"] for r in confusion.records)
    assert metadata["registered_version"].value == "1"
    run_id = metadata["mlflow_run_id"].value
    experiment_id = MlflowClient(tracking_uri=config.mlflow.tracking_uri).get_run(run_id).info.experiment_id
    assert isinstance(metadata["mlflow_run"], UrlMetadataValue)
    assert metadata["mlflow_run"].value == (
        f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    )
    image = metadata["confusion_matrix_image"].value
    assert image.startswith("![confusion matrix, test part](http://127.0.0.1:5000/get-artifact?") and len(image) < 1000
    assert isinstance(metadata["registered_model"], UrlMetadataValue)
    for key, value in metadata.items():  # every entry reads inline: no Markdown over the UI's 1,000 characters
        assert not isinstance(value, MarkdownMetadataValue) or len(value.value) < 1000, key

    bundle = load_bundle(tmp_path / "models" / "EURUSD_1h")
    assert bundle.meta.mlflow_run_id == run_id and bundle.meta.model_version == metadata["model_version"].value
    store = RunStore(config.database.url)
    (row,) = store.list_runs()
    store.dispose()
    assert row.status == "completed" and row.mlflow_run_id == run_id
    run = MlflowClient(tracking_uri=config.mlflow.tracking_uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.tags["dagster_run_id"] == result.run_id
