"""Crash-consistent training: SIGKILL at each kill point, then the previous champion is still served.

Each training runs in a real subprocess (``tests/reliability/conftest.py``) on a real PostgreSQL
schema and a real MLflow SQLite store; ``ML_PLATFORM_TEST_KILL_AT`` makes it SIGKILL itself at the
point named (``ml_platform/training/train.py``: ``fit``, ``model_write``, ``before_promote``). The
service is the real Litestar app (in-process ASGI client) on both model sources; the MLflow source
is checked with the local bundles moved away. The run-failure sensor runs against a real Dagster
instance (``assets/run_failure.py``), not a daemon: its function is called with the context Dagster
builds for a real failed run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from litestar.testing import TestClient
from mlflow import MlflowClient

from ml_platform import bundle_store
from ml_platform.bundle import BUNDLE_FILE, load_meta
from ml_platform.db import RunStore
from ml_platform.training.tracking import registered_model_name
from serving.app import create_app
from serving.settings import Settings
from tests.training.helpers import synthetic_candles

from .conftest import Stack

pytestmark = pytest.mark.slow


@contextmanager
def service(stack: Stack, source: str, *, token: str | None = None) -> Iterator[TestClient]:
    """The app on `source` (``bundle`` or ``mlflow``; the latter with the local bundles moved away)."""
    raw = yaml.safe_load(stack.config_file.read_text())
    raw["serving"]["model_source"] = source
    path = stack.config_file.with_name(f"pipeline-{source}.yaml")
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    from ml_platform.config import load_config

    settings = Settings.from_config(load_config(path), env={"INFERENCE_API_TOKEN": token} if token else {})
    models = stack.config.data.models_dir
    hidden = models.with_name("models-hidden")
    if source == "mlflow":
        models.rename(hidden)  # no local data volume: only the run's artifacts
    try:
        with TestClient(app=create_app(settings), raise_server_exceptions=False) as client:
            yield client
    finally:
        if source == "mlflow":
            hidden.rename(models)


def served(client: TestClient, headers: dict[str, str] | None = None) -> dict:
    info = client.get("/model/info", headers=headers or {}).json()
    (model,) = [m for m in info["models"] if m["pair"] == "EURUSD"]
    return model


def predict_version(client: TestClient) -> str:
    candles, _ = synthetic_candles(200, seed=3)
    body = {
        "pair": "EURUSD",
        "timeframe": "1h",
        "candles": [
            {k: (int(v) if k == "time" else float(v)) for k, v in row.items()}
            for row in candles[["time", "open", "high", "low", "close", "volume"]].to_dict("records")
        ],
    }
    answer = client.post("/predict", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["model_info"]["version"])


def assert_serves(stack: Stack, model_version: str, registered_version: str) -> None:
    """Both sources serve `model_version`; the champion pointer names a complete folder."""
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and pointer.model_version == model_version
    folder = bundle_store.version_dir(stack.partition_dir, model_version)
    assert load_meta(folder).model_version == model_version and (folder / load_meta(folder).model_file).stat().st_size
    for source in ("bundle", "mlflow"):
        with service(stack, source) as client:
            model = served(client)
            assert model["version"] == model_version, (source, model)
            assert model["metrics"]["champion"]["is_champion"] is True
            assert model["registered_version"] == registered_version
            assert predict_version(client) == model_version


def alias_version(stack: Stack) -> str:
    uri = stack.config.mlflow.tracking_uri
    name = registered_model_name(stack.config, "EURUSD", "1h")
    return str(MlflowClient(uri, uri).get_model_version_by_alias(name, "champion").version)


def rows(stack: Stack) -> list:
    store = RunStore(stack.config.database.url)
    try:
        return store.list_runs()
    finally:
        store.dispose()


def failed_dagster_run(stack: Stack) -> tuple[object, object]:
    """A real Dagster instance and one failed run of EURUSD|1h: (instance, run)."""
    from dagster import DagsterInstance, asset, materialize

    @asset
    def trained_model() -> None:
        raise RuntimeError("the training process was killed")

    instance = DagsterInstance.ephemeral()
    result = materialize(
        [trained_model],
        instance=instance,
        raise_on_error=False,
        tags={"dagster/partition/pair": "EURUSD", "dagster/partition/timeframe": "1h"},
    )
    assert not result.success
    return instance, instance.get_run_by_id(result.run_id)


def run_failure_sensor(instance: object, run: object, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluate ``close_failed_training_runs`` on the failed `run` as the daemon would."""
    from dagster import DagsterEventType, build_run_status_sensor_context

    from assets.run_failure import close_failed_training_runs

    monkeypatch.setenv("ML_PLATFORM_CONFIG", str(stack.config_file))
    (event,) = [
        record.event_log_entry.dagster_event
        for record in instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records  # type: ignore[attr-defined]
    ]
    context = build_run_status_sensor_context(
        sensor_name="close_failed_training_runs", dagster_event=event, dagster_instance=instance, dagster_run=run
    ).for_run_failure()
    close_failed_training_runs(context)


@pytest.mark.parametrize("kill_at", ["fit", "model_write", "before_promote"])
def test_sigkill_leaves_the_previous_champion_served(
    stack: Stack, kill_at: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = stack.train()
    assert first.returncode == 0, first.stderr[-3000:]
    champion = first.output["model_version"]
    assert first.output["promoted"] is True

    instance, dagster_run = failed_dagster_run(stack)
    killed = stack.train(kill_at=kill_at, dagster_run_id=dagster_run.run_id)  # type: ignore[attr-defined]
    assert killed.returncode == -9, killed.stderr[-3000:]  # SIGKILL, not an exception

    assert_serves(stack, champion, "1")
    assert alias_version(stack) == "1"
    uri = stack.config.mlflow.tracking_uri
    name = registered_model_name(stack.config, "EURUSD", "1h")
    versions = MlflowClient(uri, uri).search_model_versions(f"name = '{name}'")
    assert len(versions) == (2 if kill_at == "before_promote" else 1)
    leftovers = [p.name for p in bundle_store.versions_dir(stack.partition_dir).iterdir() if p.name.startswith(".")]
    assert len(leftovers) == (1 if kill_at == "model_write" else 0) and all(n.startswith(".tmp-") for n in leftovers)
    assert sorted(r.status for r in rows(stack)) == ["completed", "running"]  # issue 15: nobody closed it yet

    run_failure_sensor(instance, dagster_run, stack, monkeypatch)
    by_status = sorted((r.status, bool(r.error)) for r in rows(stack))
    assert by_status == [("completed", False), ("failed", True)]
    (failed,) = [r for r in rows(stack) if r.status == "failed"]
    assert dagster_run.run_id in failed.error  # type: ignore[attr-defined]
    assert failed.mlflow_run_id  # every kill point is after the MLflow run opened
    assert MlflowClient(uri, uri).get_run(failed.mlflow_run_id).info.status == "FAILED"

    after = stack.train()
    assert after.returncode == 0, after.stderr[-3000:]
    assert after.output["promoted"] is True  # same data: a tie promotes
    new_registered = "3" if kill_at == "before_promote" else "2"
    assert_serves(stack, after.output["model_version"], new_registered)
    assert not [p for p in bundle_store.versions_dir(stack.partition_dir).iterdir() if p.name.startswith(".")]
    assert not [p for p in stack.partition_dir.iterdir() if p.name.startswith(".")]
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and pointer.previous == [champion]


def test_a_worse_model_is_recorded_but_not_served_and_rollback_works(stack: Stack) -> None:
    first = stack.train()
    assert first.returncode == 0, first.stderr[-3000:]
    champion = first.output["model_version"]
    worse = stack.train(worse=True)
    assert worse.returncode == 0, worse.stderr[-3000:]
    assert worse.output["promoted"] is False and worse.output["registered_version"] == "2"

    # recorded: its bundle folder, its completed row (promoted false), its MLflow run with the bundle artifacts
    worse_folder = bundle_store.version_dir(stack.partition_dir, worse.output["model_version"])
    assert (worse_folder / BUNDLE_FILE).is_file()
    (row,) = [r for r in rows(stack) if r.model_version == worse.output["model_version"]]
    assert row.status == "completed" and row.metrics_summary["promoted"] is False
    uri = stack.config.mlflow.tracking_uri
    artifacts = {a.path for a in MlflowClient(uri, uri).list_artifacts(worse.output["mlflow_run_id"], "bundle")}
    assert "bundle/bundle.json" in artifacts and any(p.startswith("bundle/model-") for p in artifacts)
    assert_serves(stack, champion, "1")  # not served, on either source

    third = stack.train()
    assert third.returncode == 0 and third.output["promoted"] is True
    assert_serves(stack, third.output["model_version"], "3")

    # POST /model/rollback: token-guarded, moves champion.json back; the service serves the previous champion
    with service(stack, "bundle", token="s3cret") as client:
        body = {"pair": "EURUSD", "timeframe": "1h"}
        assert client.post("/model/rollback", json=body).status_code == 401
        headers = {"Authorization": "Bearer s3cret"}
        answer = client.post("/model/rollback", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["from_version"] == third.output["model_version"]
        assert answer.json()["to_version"] == answer.json()["served_version"] == champion
        assert served(client, headers)["version"] == champion
        nothing = client.post("/model/rollback", json=body, headers=headers)
        assert nothing.status_code == 409 and "no previous champion" in nothing.json()["detail"]
        unknown = client.post("/model/rollback", json={"pair": "EUR/USD", "timeframe": "1h"}, headers=headers)
        assert unknown.status_code in (400, 404)
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and pointer.model_version == champion

    # the MLflow source moves the alias back (v3 -> v1; v2 never held it)
    with service(stack, "mlflow") as client:
        assert served(client)["registered_version"] == "3"
        answer = client.post("/model/rollback", json={"pair": "EURUSD", "timeframe": "1h"})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["from_version"], answer.json()["to_version"]) == ("3", "1")
        assert served(client)["version"] == champion and served(client)["registered_version"] == "1"
    assert alias_version(stack) == "1"


def test_a_legacy_flat_bundle_is_served_until_a_version_is_promoted(stack: Stack) -> None:
    first = stack.train()
    assert first.returncode == 0, first.stderr[-3000:]
    folder = bundle_store.version_dir(stack.partition_dir, first.output["model_version"])
    legacy = stack.partition_dir
    for path in folder.iterdir():  # rebuild the old layout: {PAIR}_{TF}/bundle.json + model file, no pointer
        shutil.copy2(path, legacy / path.name)
    shutil.rmtree(bundle_store.versions_dir(legacy))
    (legacy / bundle_store.CHAMPION_FILE).unlink()
    with service(stack, "bundle") as client:
        model = served(client)
        assert model["version"] == first.output["model_version"] and model["metrics"]["champion"]["reason"] == "legacy"
    second = stack.train()
    assert second.returncode == 0 and second.output["promoted"] is True
    pointer = bundle_store.read_champion(legacy)
    assert pointer is not None and pointer.previous == [first.output["model_version"]]
    with service(stack, "bundle") as client:
        assert served(client)["version"] == second.output["model_version"]
    assert bundle_store.rollback(legacy).model_version == first.output["model_version"]  # back to the flat bundle
    with service(stack, "bundle") as client:
        assert served(client)["version"] == first.output["model_version"]


def test_the_failure_sensor_closes_a_row_killed_before_its_mlflow_run_opened(stack: Stack) -> None:
    from datetime import UTC, datetime, timedelta

    from assets.run_failure import close_failed_training

    store = RunStore(stack.config.database.url)
    try:
        started = datetime.now(UTC) - timedelta(seconds=1)
        common = {"model_type": "xgboost", "experiment_name": "e", "pipeline_config_hash": "h", "dataset_version": "d"}
        orphan = store.start(pair="EURUSD", timeframe="1h", **common)  # killed in prepare_dataset
        other = store.start(pair="EURUSD", timeframe="1h", **common)  # another run of the partition, alive
        store.set_mlflow_run(other, "some-mlflow-run")
        elsewhere = store.start(pair="GBPUSD", timeframe="1h", **common)
        closed = close_failed_training(
            stack.config,
            dagster_run_id="dead-run",
            tags={"dagster/partition/pair": "EURUSD", "dagster/partition/timeframe": "1h"},
            started_at=started,
            reason="Dagster run dead-run failed: its process died",
            store=store,
        )
        assert closed == {"mlflow_runs": [], "training_runs": [orphan]}
        record = store.get(orphan)
        assert record is not None and record.status == "failed" and "dead-run" in (record.error or "")
        assert [store.get(r).status for r in (other, elsewhere)] == ["running", "running"]  # type: ignore[union-attr]
    finally:
        store.dispose()
