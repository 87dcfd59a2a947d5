from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml_platform.training.tracking import (
    Tracker,
    TrackingUnavailableError,
    check_reachable,
    ensure_experiment,
    promote_if_not_worse,
    tracked_run,
)


def _tracker(mlflow_dir: Path, experiment: str) -> Tracker:
    return Tracker(
        uri=f"sqlite:///{mlflow_dir}/mlflow.db",
        experiment_name=experiment,
        artifact_location=(mlflow_dir / "artifacts").as_uri(),
        register=True,
        alias="champion",
    )


def test_run_ends_finished_on_success_and_failed_on_error(mlflow_dir: Path) -> None:
    tracker = _tracker(mlflow_dir, f"runs-{uuid.uuid4().hex[:6]}")
    client = MlflowClient(tracking_uri=tracker.uri)
    with tracker.run(run_name="ok", tags={"pair": "EURUSD"}) as run:
        ok_id = run.info.run_id
        assert client.get_run(ok_id).info.status == "RUNNING"
    with pytest.raises(RuntimeError, match="boom"):
        with tracker.run(run_name="bad", tags={}) as run:
            bad_id = run.info.run_id
            raise RuntimeError("boom")
    assert client.get_run(ok_id).info.status == "FINISHED"
    assert client.get_run(ok_id).data.tags["pair"] == "EURUSD"
    assert client.get_run(bad_id).info.status == "FAILED"
    assert client.get_run(bad_id).data.tags["error"] == "RuntimeError: boom"


def test_a_run_leaves_no_tracking_uri_behind_for_the_next_config(mlflow_dir: Path, tmp_path: Path) -> None:
    """mlflow.set_tracking_uri writes MLFLOW_TRACKING_URI; a long-lived process must not track the next config there."""
    import os

    from ml_platform.training.tracking import tracking_uri

    from .helpers import small_config

    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)
    with tracker_run(_tracker(mlflow_dir, f"env-{uuid.uuid4().hex[:6]}")):
        pass
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    other = small_config(tmp_path)
    assert tracking_uri(other) == other.mlflow.tracking_uri and tracking_uri(other).startswith(f"sqlite:///{tmp_path}")
    os.environ["MLFLOW_TRACKING_URI"] = "http://mlflow.example:5000"  # an operator's override survives a run
    try:
        with tracker_run(_tracker(mlflow_dir, f"env-{uuid.uuid4().hex[:6]}")):
            pass
        assert os.environ["MLFLOW_TRACKING_URI"] == "http://mlflow.example:5000"
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]


def tracker_run(tracker: Tracker):  # noqa: ANN201
    return tracker.run(run_name="env", tags={})


def test_unreachable_server_fails_fast_with_advice() -> None:
    with pytest.raises(TrackingUnavailableError, match="unreachable.*unset MLFLOW_TRACKING_URI"):
        check_reachable("http://127.0.0.1:9", timeout=2)


def test_alias_moves_only_to_a_version_not_worse(mlflow_dir: Path) -> None:
    uri = f"sqlite:///{mlflow_dir}/mlflow.db"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = ensure_experiment(uri, f"alias-{uuid.uuid4().hex[:6]}", None)
    name = f"alias-test-{uuid.uuid4().hex[:6]}"
    client.create_registered_model(name)

    def new_version(score: float) -> str:
        with tracked_run(uri, experiment_id, run_name="v", tags={}) as run:
            import mlflow

            mlflow.log_metric("validation_f1_macro", score)
        return str(
            client.create_model_version(name, source=(mlflow_dir / "x").as_uri(), run_id=run.info.run_id).version
        )

    v1 = new_version(0.70)
    assert promote_if_not_worse(uri, name, v1, alias="champion", score=0.70) == (True, None)
    v2 = new_version(0.65)
    assert promote_if_not_worse(uri, name, v2, alias="champion", score=0.65) == (False, v1)
    assert str(client.get_model_version_by_alias(name, "champion").version) == v1
    v3 = new_version(0.70)  # equal is "not worse": promoted
    assert promote_if_not_worse(uri, name, v3, alias="champion", score=0.70) == (True, v1)
    assert str(client.get_model_version_by_alias(name, "champion").version) == v3
