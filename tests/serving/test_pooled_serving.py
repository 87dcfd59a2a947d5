"""Pooled models end to end: the `pooled_model` asset through Dagster, then the service serving its members.

One timeframe's pool (EURUSD and GBPUSD 1h, BIO mode, tiny trees) is materialized by a real
Dagster run; the service (bundle source) then serves it for every member without a champion of
its own, says so in ``/model/info`` and in each prediction's ``model_info``, and a partition's
own champion takes over again unless ``training.pool.serve`` is ``prefer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, materialize

from assets.definitions import build_definitions
from ml_platform.config import PipelineConfig, load_config
from ml_platform.db import RunStore
from ml_platform.partitions import Partition
from ml_platform.training.pooled_train import POOLED_PAIR, pool_dir
from ml_platform.training.tracking import Tracker
from ml_platform.training.train import train_partition
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource
from tests.serving.conftest import candle_dicts, make_client
from tests.training.helpers import labeled_bio_frame, small_config, synthetic_candles, write_config

MEMBERS = (Partition("EURUSD", "1h"), Partition("GBPUSD", "1h"))


def _setup(tmp_path: Path, **pool: Any) -> tuple[PipelineConfig, Path]:
    config = small_config(tmp_path, training={"pool": {"enabled": True, **pool}})
    for seed, partition in enumerate(MEMBERS):
        path = config.data.partition_file("labeled", partition)
        path.parent.mkdir(parents=True, exist_ok=True)
        labeled_bio_frame(config, n=500, seed=seed + 1).to_parquet(path, index=False)
    return config, write_config(config, tmp_path / "pipeline.yaml")


def _materialize(config_path: Path) -> Any:
    config = load_config(config_path)
    pooled = build_definitions(config).get_assets_def("pooled_model")
    resources = {
        "pipeline": PipelineResource(config_path=str(config_path)),
        "mlflow": MlflowResource(),
        "run_store": RunStoreResource(),
    }
    with DagsterInstance.ephemeral() as instance:
        return materialize([pooled], partition_key="1h", instance=instance, resources=resources, raise_on_error=False)


def _served(client: Any) -> dict[str, dict[str, Any]]:
    body = client.get("/model/info").json()
    return {f"{m['pair']}|{m['timeframe']}": m for m in body["models"]}


@pytest.mark.slow  # one pooled and one per-partition training (~15 s)
def test_the_pooled_model_asset_serves_members_without_a_model_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the config's store (see tests/training/conftest.py)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config, config_path = _setup(tmp_path)
    result = _materialize(config_path)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("pooled_model")
    metadata = materialization.metadata
    assert metadata["pooled_from"].value == "EURUSD|1h, GBPUSD|1h" and metadata["promoted"].value is True
    members = metadata["members"].value.records  # one row per member, scored on its own parts
    assert [row.data["member"] for row in members] == ["EURUSD|1h", "GBPUSD|1h"]
    assert all(row.data["train_spans"] > 0 for row in members)
    store = RunStore(config.database.url)
    try:
        (row,) = store.list_runs()
    finally:
        store.dispose()
    assert (row.pair, row.timeframe, row.status) == (POOLED_PAIR, "1h", "completed")
    assert (pool_dir(config, "1h") / "champion.json").is_file()

    candles = candle_dicts(synthetic_candles(300, seed=9)[0])
    with make_client(config_path) as client:
        served = _served(client)
        assert set(served) == {"EURUSD|1h", "GBPUSD|1h"}  # the pool itself is not a partition
        for key in served:
            assert served[key]["name"] == "POOLED_1h"
            assert served[key]["pooled_from"] == ["EURUSD|1h", "GBPUSD|1h"]
        answer = client.post("/predict", json={"pair": "GBPUSD", "timeframe": "1h", "candles": candles})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_info"]["pooled_from"] == ["EURUSD|1h", "GBPUSD|1h"]
        refused = client.post("/predict", json={"pair": "BTC-USDT", "timeframe": "1h", "candles": candles})
        assert refused.status_code == 404  # not a member: the pool does not serve it

        # EURUSD gets a champion of its own: it takes over at the next reload, GBPUSD stays pooled
        eurusd = MEMBERS[0]
        store = RunStore(config.database.url)
        try:
            train_partition(
                config,
                eurusd,
                labeled_path=config.data.partition_file("labeled", eurusd),
                bundle_dir=config.data.bundle_dir(eurusd),
                run_store=store,
                tracker=Tracker.from_config(config),
            )
        finally:
            store.dispose()
        assert client.post("/model/reload").status_code in (200, 201)
        served = _served(client)
        assert served["EURUSD|1h"]["name"] != "POOLED_1h" and served["EURUSD|1h"]["pooled_from"] == []
        assert served["GBPUSD|1h"]["name"] == "POOLED_1h"

    # serve: prefer: the pool's champion serves every member, EURUSD's own model notwithstanding
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    raw["training"]["pool"]["serve"] = "prefer"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with make_client(config_path) as client:
        assert {key: m["name"] for key, m in _served(client).items()} == {
            "EURUSD|1h": "POOLED_1h",
            "GBPUSD|1h": "POOLED_1h",
        }


def test_the_pooled_model_asset_exists_with_pooling_on_and_refuses_a_timeframe_not_pooled(tmp_path: Path) -> None:
    off = small_config(tmp_path)  # training.pool.enabled: false (the default): no asset, so '*' stays one partitioning
    assert "pooled_model" not in {key.to_user_string() for key in build_definitions(off).resolve_all_asset_keys()}
    config = small_config(tmp_path, training={"pool": {"enabled": True, "timeframes": ["4h"]}})
    config_path = write_config(config, tmp_path / "pipeline.yaml")
    result = _materialize(config_path)  # partition 1h
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    message = str(failure.step_failure_data.error.message)
    assert "no pooled model for 1h" in message and "training.pool.timeframes is ['4h']" in message
    assert not pool_dir(config, "1h").exists()  # nothing written
