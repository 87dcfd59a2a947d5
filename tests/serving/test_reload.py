"""Hot reload: new bundles are served without a restart, and never half-swapped."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from litestar.testing import TestClient

from ml_platform.bundle import load_bundle
from ml_platform.config import PipelineConfig, load_config
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from tests.serving.conftest import PAIR, TIMEFRAME, candle_dicts, make_client, train_bundle, write_serving_config


def _expected(bundle_dir: Path, candles: pd.DataFrame) -> list[tuple[str, float]]:
    result = Predictor.from_bundle(load_bundle(bundle_dir)).predict(candles, batch_size=1000)
    return list(zip(result.tags, result.confidences.tolist(), strict=True))


def test_reload_under_concurrent_requests_never_mixes_versions(
    client: TestClient, config: PipelineConfig, bundle_path: Path, stored: pd.DataFrame, sample
) -> None:
    candles = stored.iloc[:200]
    body = {"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(candles)}
    expected = {"v1": _expected(bundle_path.parent, candles)}
    seen: list[tuple[str, list[tuple[str, float]]]] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            response = client.post("/predict", json=body)
            if response.status_code != 200:
                errors.append(response.text)
                continue
            answer = response.json()
            seen.append((answer["model_info"]["version"], [(p["tag"], p["confidence"]) for p in answer["predictions"]]))

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        train_bundle(config.data.models_dir, config, stored, sample[1], version="v2", seed=3, n_estimators=9)
        expected["v2"] = _expected(bundle_path.parent, candles)
        reload = client.post("/model/reload").json()
        assert reload["changed"] == ["EURUSD|1h"]
        deadline = time.monotonic() + 10
        while not any(version == "v2" for version, _ in seen[-4:]) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert not errors
    assert expected["v1"] != expected["v2"]
    versions = [version for version, _ in seen]
    assert "v1" in versions and "v2" in versions
    assert versions.index("v2") > 0 and "v1" not in versions[versions.index("v2") + 4 :]  # in-flight ones may finish
    for version, predictions in seen:
        assert predictions == expected[version], f"a {version} answer with another version's predictions"


def test_polling_picks_up_a_new_bundle(tmp_path: Path, sample, stored: pd.DataFrame) -> None:
    config_file = write_serving_config(tmp_path, serving={"reload_interval_seconds": 0.1})
    config = load_config(config_file)
    train_bundle(config.data.models_dir, config, stored, sample[1], version="v1")
    with make_client(config_file) as client:
        assert client.get("/model/info").json()["models"][0]["version"] == "v1"
        train_bundle(config.data.models_dir, config, stored, sample[1], version="v2", seed=5)
        deadline = time.monotonic() + 15
        version = "v1"
        while version != "v2" and time.monotonic() < deadline:
            time.sleep(0.1)
            version = client.get("/model/info").json()["models"][0]["version"]
        assert version == "v2"
        # a new partition's bundle appears too
        train_bundle(config.data.models_dir, config, stored, sample[1], partition=Partition("BTC-USDT", "1h"))
        deadline = time.monotonic() + 15
        while len(client.get("/model/info").json()["models"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["pair"] for m in client.get("/model/info").json()["models"]] == ["BTC-USDT", PAIR]


def test_a_broken_new_version_keeps_the_old_one_serving(
    client: TestClient, config: PipelineConfig, bundle_path: Path, stored: pd.DataFrame
) -> None:
    meta = json.loads(bundle_path.read_text())
    (bundle_path.parent / "model-v2.ubj").write_bytes(b"corrupt")
    meta.update(model_version="v2", model_file="model-v2.ubj")
    bundle_path.write_text(json.dumps(meta))
    reload = client.post("/model/reload").json()
    assert reload["loaded"] == ["EURUSD|1h"] and reload["changed"] == []
    (failure,) = reload["failures"]
    assert failure["serving_version"] == "v1" and "model-v2.ubj" in failure["error"]
    answer = client.post(
        "/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(stored.iloc[:100])}
    ).json()
    assert answer["model_info"]["version"] == "v1"
    assert np.isfinite([p["confidence"] for p in answer["predictions"]]).all()
