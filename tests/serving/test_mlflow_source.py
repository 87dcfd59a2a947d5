"""serving.sources.MlflowSource: the registered model by name and alias (models:/name@alias)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ml_platform.bundle import BUNDLE_FILE, load_bundle
from ml_platform.config import load_config
from ml_platform.partitions import Partition
from tests.serving.conftest import SERVED, candle_dicts, make_client, train_bundle, write_serving_config

mlflow = pytest.importorskip("mlflow")

pytestmark = pytest.mark.slow  # trains a model, logs and registers it in a real MLflow store


def _log_and_register(
    tmp_path: Path, bundle_dir: Path, uri: str, *, aliases: list[str], partition: Partition = SERVED
) -> str:
    """Log the bundle's model and bundle.json to a run, register it, point the aliases at it; return the run id."""
    from mlflow import MlflowClient

    from ml_platform.training.tracking import log_model

    bundle = load_bundle(bundle_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("serving-test")
    if experiment is None:
        experiment_id = mlflow.create_experiment("serving-test", artifact_location=(tmp_path / "mlartifacts").as_uri())
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_metric("validation_f1_macro", 0.61)
        model_uri = log_model(bundle.model, flavor="xgboost", trusted_types=[])
        mlflow.log_artifact(str(bundle_dir / BUNDLE_FILE))
    name = f"candle-patterns-{partition.pair}-{partition.timeframe}"
    version = mlflow.register_model(model_uri, name).version
    for alias in aliases:
        client.set_registered_model_alias(name, alias, version)
    return run.info.run_id


def test_serves_the_registered_model_at_the_alias(tmp_path: Path, sample) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config_file = write_serving_config(tmp_path, serving={"model_source": "mlflow"})
    config = load_config(config_file)
    candles, tags = sample
    bundle_json = train_bundle(config.data.models_dir, config, candles, tags, version="v7")
    _log_and_register(tmp_path, bundle_json.parent, uri, aliases=["champion", "Production"])
    shutil.rmtree(bundle_json.parent)  # served from MLflow only
    body = {
        "pair": SERVED.pair,
        "timeframe": SERVED.timeframe,
        "candles": candle_dicts(pd.DataFrame(candles).iloc[:120]),
    }

    for alias in ("champion", "Production"):  # the seed's stage word works as an alias name
        config_file = write_serving_config(tmp_path, serving={"model_source": "mlflow", "mlflow_alias": alias})
        with make_client(config_file) as client:
            info = client.get("/model/info").json()
            answer = client.post("/predict", json=body)
            health = client.get("/health").json()
        assert info["source"] == "mlflow"
        (model,) = info["models"]
        assert model["name"] == "candle-patterns-EURUSD-1h" and model["registered_version"] == "1"
        assert model["location"] == f"models:/candle-patterns-EURUSD-1h@{alias}"
        assert model["metrics"]["mlflow_run"] == {"validation_f1_macro": 0.61}
        assert model["version"] == "v7"
        (failure,) = info["failures"]  # BTC-USDT 1h is configured but has no registered model
        assert failure["partition"] == "BTC-USDT|1h" and "candle-patterns-BTC-USDT-1h" in failure["error"]
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_info"]["name"] == "candle-patterns-EURUSD-1h"
        assert answer.json()["model_info"]["source"] == "mlflow"
        assert health["mlflow"]["status"] == "ok"


def test_serves_a_registered_pair_the_config_does_not_list(tmp_path: Path, sample) -> None:
    """A pair added to the Dagster instance (not the config) and trained there is served once its alias is set."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config_file = write_serving_config(tmp_path, serving={"model_source": "mlflow"})
    config = load_config(config_file)  # pairs EURUSD, BTC-USDT
    candles, tags = sample
    added, unpromoted = Partition("XRP-USDT", "1h"), Partition("SOLUSD", "4h")
    for partition, aliases in ((added, ["champion"]), (unpromoted, [])):
        bundle_json = train_bundle(config.data.models_dir, config, candles, tags, partition=partition)
        _log_and_register(tmp_path, bundle_json.parent, uri, aliases=aliases, partition=partition)
        shutil.rmtree(bundle_json.parent)
    from mlflow import MlflowClient

    MlflowClient(uri, uri).create_registered_model("candle-patterns-notes")
    body = {"pair": added.pair, "timeframe": added.timeframe, "candles": candle_dicts(pd.DataFrame(candles).iloc[:120])}
    with make_client(config_file) as client:
        info = client.get("/model/info").json()
        answer = client.post("/predict", json=body)
    assert [m["name"] for m in info["models"]] == ["candle-patterns-XRP-USDT-1h"]
    assert [m["pair"] for m in info["models"]] == ["XRP-USDT"]
    # the configured partitions without a model are reported; the registered, never-promoted one is not
    assert sorted(f["partition"] for f in info["failures"]) == ["BTC-USDT|1h", "EURUSD|1h"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_info"]["name"] == "candle-patterns-XRP-USDT-1h"
