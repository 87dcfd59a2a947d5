"""Promotion at full precision (a tie moves the alias), and what an MLflow run page shows.

Real MLflow SQLite store, real training: no mocks.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml_platform.bundle import load_bundle
from ml_platform.db import RunStore
from ml_platform.partitions import Partition
from ml_platform.training.tracking import (
    Tracker,
    ensure_experiment,
    promote_if_not_worse,
    registered_model_name,
    tracked_run,
)
from ml_platform.training.train import train_partition

from .helpers import labeled_bio_frame, small_config

PARTITION = Partition("EURUSD", "1h")


def test_a_tie_that_rounding_would_break_still_promotes(mlflow_dir: Path) -> None:
    """0.9218755 rounds up to 0.921876 at 6 decimals: the old rounded tag made a tie look worse."""
    uri = f"sqlite:///{mlflow_dir}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = ensure_experiment(uri, f"tie-{uuid.uuid4().hex[:6]}", None)
    name = f"tie-test-{uuid.uuid4().hex[:6]}"
    client.create_registered_model(name)
    score = 0.9218755000000001

    def new_version() -> str:
        with tracked_run(uri, experiment_id, run_name="v", tags={}) as run:
            import mlflow

            mlflow.log_metric("validation_f1_macro", score)
        return str(
            client.create_model_version(name, source=(mlflow_dir / "x").as_uri(), run_id=run.info.run_id).version
        )

    v1 = new_version()
    assert promote_if_not_worse(uri, name, v1, alias="champion", score=score) == (True, None)
    v2 = new_version()
    assert promote_if_not_worse(uri, name, v2, alias="champion", score=score) == (True, v1)
    assert str(client.get_model_version_by_alias(name, "champion").version) == v2
    assert float(client.get_model_version(name, v2).tags["validation_f1_macro"]) == score  # stored exactly


@pytest.mark.slow  # two real trainings (~10 s)
def test_training_twice_on_identical_data_moves_the_alias_both_times(
    tmp_path: Path, mlflow_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = f"tie{uuid.uuid4().hex[:8]}"
    config = small_config(
        tmp_path,
        mlflow={
            "tracking_uri": f"sqlite:///{mlflow_dir}/mlflow.db",
            "artifact_location": str(mlflow_dir / "artifacts"),
            "experiment_name": prefix,
            "registered_model_prefix": prefix,
            "ui_url": "http://mlflow.example:5000/",
            "dagster_ui_url": "http://dagster.example:3000",
        },
    )
    labeled = tmp_path / "labeled" / "EURUSD_1h.parquet"
    labeled.parent.mkdir(parents=True)
    labeled_bio_frame(config).to_parquet(labeled, index=False)
    caplog.set_level("INFO", logger="ml_platform.training.tracking")

    results = []
    for attempt in range(2):
        store = RunStore(config.database.url)
        try:
            results.append(
                train_partition(
                    config,
                    PARTITION,
                    labeled_path=labeled,
                    bundle_dir=tmp_path / "models" / "EURUSD_1h",
                    run_store=store,
                    tracker=Tracker.from_config(config),
                    dagster_run_id=f"dagster-run-{attempt}",
                )
            )
        finally:
            store.dispose()

    first, second = results
    assert first.meta.metrics["validation"]["f1_macro"] == second.meta.metrics["validation"]["f1_macro"]
    assert first.registration and first.registration.promoted
    assert second.registration and second.registration.promoted and second.registration.previous_champion == "1"
    name = registered_model_name(config, "EURUSD", "1h")
    uri = config.mlflow.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "2"
    assert load_bundle(tmp_path / "models" / "EURUSD_1h").meta.registered_version == "2"  # files and registry agree
    score = repr(second.meta.metrics["validation"]["f1_macro"])
    assert f"validation f1_macro {score} >= {score} of v1 holding 'champion'; alias moved" in caplog.text

    # the run page: description with the partition, a Dagster link and the key metrics; source; dataset input
    run = client.get_run(second.mlflow_run_id)
    description = run.data.tags["mlflow.note.content"]
    assert "**EURUSD|1h**" in description
    assert "[dagster-](http://dagster.example:3000/runs/dagster-run-1)" in description
    assert "validation: f1_macro" in description and "test: f1_macro" in description
    assert "`champion` moved to it" in description
    assert run.data.tags["mlflow.source.name"] == "dagster trained_model EURUSD|1h"
    assert run.data.tags["dagster_run_url"] == "http://dagster.example:3000/runs/dagster-run-1"
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "EURUSD_1h labeled"
    assert dataset_input.dataset.digest == second.meta.dataset_version.removeprefix("dvc:")[:36]
    assert {tag.key: tag.value for tag in dataset_input.tags}["dataset_version"] == second.meta.dataset_version
    assert client.get_registered_model(name).description.startswith("Candle-pattern model of **EURUSD|1h**")
    assert "validation f1_macro" in client.get_model_version(name, "2").description
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert second.mlflow_run_url == (
        f"http://mlflow.example:5000/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
        "?workflowType=machine_learning"
    )
