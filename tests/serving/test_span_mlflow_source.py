"""A span bundle served from the MLflow registry (``serving.model_source: mlflow``) answers like the bundle source.

`train_partition` trains a span-mode model (chart spans plus a CDL stand-in), logs its bundle to
a real MLflow store (SQLite + file artifacts) and registers it at the ``champion`` alias. One
service reads the local bundle folder, another only the registry (its ``data.models_path`` is
empty); both must give the same tags, confidences and spans for the same candles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from litestar.testing import TestClient

from ml_platform.candles import write_candles
from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from ml_platform.training.tracking import registered_model_name
from tests.serving.conftest import candle_dicts, make_client
from tests.training.test_span_mode import run_training, span_config, span_labeled_frame

pytest.importorskip("mlflow")

pytestmark = pytest.mark.slow  # trains a span model, logs and registers it in a real MLflow store

PARTITION = Partition("EURUSD", "1h")


@dataclass(frozen=True)
class TwoSources:
    """Clients of the same trained model served from its bundle folder and from the MLflow registry."""

    bundle: TestClient
    mlflow: TestClient
    config: PipelineConfig
    registered_version: str


def _config_file(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoSources]:
    root = tmp_path_factory.mktemp("span_mlflow")
    config = span_config(root, root / "mlflow")
    frame, candles = span_labeled_frame(config, cdl_every=37)
    with pytest.MonkeyPatch.context() as env:
        # mlflow.set_tracking_uri (any earlier training in this process) exports MLFLOW_TRACKING_URI, which
        # Tracker.from_config prefers to the config: without this the model would go to another test's store
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run_training(config, frame, root)
    assert result.registration is not None, "train_partition did not register the span model in MLflow"
    write_candles(candles, config.data.partition_file("candles", PARTITION))
    raw = config.to_dict()
    serving = {**raw["serving"], "reload_interval_seconds": 0, "max_candles": 5000, "batch_size": 300}
    bundle_file = _config_file(root / "bundle.yaml", {**raw, "serving": {**serving, "model_source": "bundle"}})
    # the registry source reads nothing local: its models folder is empty
    empty_models = root / "no-local-models"
    empty_models.mkdir()
    mlflow_raw = {
        **raw,
        "data": {**raw["data"], "models_path": str(empty_models)},
        "serving": {**serving, "model_source": "mlflow", "mlflow_alias": "champion"},
    }
    mlflow_file = _config_file(root / "mlflow.yaml", mlflow_raw)
    with make_client(bundle_file) as bundle_client, make_client(mlflow_file) as mlflow_client:
        yield TwoSources(bundle_client, mlflow_client, config, str(result.registration.version))


def _model_info(client: TestClient) -> dict:
    response = client.get("/model/info")
    assert response.status_code == 200, response.text
    body = response.json()
    (model,) = [m for m in body["models"] if m["pair"] == PARTITION.pair and m["timeframe"] == PARTITION.timeframe]
    return {**model, "source": body["source"]}


def test_model_info_from_mlflow_says_span_mode(two_sources: TwoSources) -> None:
    model = _model_info(two_sources.mlflow)
    name = registered_model_name(two_sources.config, PARTITION.pair, PARTITION.timeframe)
    assert model["source"] == "mlflow" and model["mode"] == "span" and model["min_candles"] == 1
    assert model["name"] == name and model["registered_version"] == two_sources.registered_version
    assert model["location"] == f"models:/{name}@champion"
    assert {"bull_flag", "double_top", "head_and_shoulders"} <= {label["name"] for label in model["labels"]}
    local = _model_info(two_sources.bundle)
    assert local["source"] == "bundle" and local["mode"] == "span" and local["version"] == model["version"]


def test_predict_from_mlflow_equals_the_bundle_source(two_sources: TwoSources) -> None:
    candles, _ = generate_partition("GBPUSD", "1h", 1500, seed=5)  # candles neither model was trained on
    body = {"pair": "EURUSD", "timeframe": "1h", "candles": candle_dicts(candles)}
    answers = [client.post("/predict", json=body) for client in (two_sources.bundle, two_sources.mlflow)]
    assert all(a.status_code == 200 for a in answers), [a.text[:300] for a in answers]
    local, registry = (a.json() for a in answers)
    assert registry["model_info"]["source"] == "mlflow" and registry["model_info"]["mode"] == "span"
    assert registry["predictions"] == local["predictions"]  # time, tag, label and confidence of every candle
    assert registry["spans"] == local["spans"]
    chart = [s for s in registry["spans"] if s["label"] != "doji"]
    assert chart, "the span model detected no chart span in 1,500 sample candles"
    assert all(0.0 < s["avg_confidence"] <= 1.0 for s in chart)


def test_predict_batch_from_mlflow_equals_the_bundle_source(two_sources: TwoSources) -> None:
    body = {"pair": "EURUSD", "timeframe": "1h"}
    answers = [client.post("/predict/batch", json=body) for client in (two_sources.bundle, two_sources.mlflow)]
    assert all(a.status_code == 200 for a in answers), [a.text[:300] for a in answers]
    local, registry = (a.json() for a in answers)
    assert registry["predictions"] == local["predictions"] and registry["spans"] == local["spans"]
    assert len(registry["predictions"]) == 5000
