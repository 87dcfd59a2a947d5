"""GET /review-queue: the built file served as is, cut to `limit`; 404, 409 and 400 with their messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition
from ml_platform.review import read_queue_file, write_queue_file
from ml_platform.review.build import build_partition_queue
from tests.serving.conftest import PAIR, TIMEFRAME

SERVED = Partition(PAIR, TIMEFRAME)


def _write_annotations(config: PipelineConfig, candles: pd.DataFrame) -> None:
    t = candles["time"].to_numpy(np.int64)
    rows = [
        ("a1", "bull_flag", int(t[300]), int(t[320]), "human"),
        ("a2", "O", int(t[600]), int(t[610]), "human_correction"),
        ("a3", "double_top", int(t[-1]) + 10 * 3600, int(t[-1]) + 20 * 3600, "human"),  # after the stored series
    ]
    export = {
        "version": 1,
        "annotations": [
            {"id": i, "pair": PAIR, "timeframe": TIMEFRAME, "label": label, "start_time": s, "end_time": e,
             "confidence": 1.0, "source": source}
            for i, label, s, e, source in rows
        ],
    }  # fmt: skip
    config.data.annotations_dir.mkdir(parents=True, exist_ok=True)
    (config.data.annotations_dir / "export.json").write_text(json.dumps(export), encoding="utf-8")


@pytest.fixture
def built(config: PipelineConfig, stored: pd.DataFrame, bundle_path: Path) -> Path:
    _write_annotations(config, stored)
    queue_file, inputs = build_partition_queue(config, SERVED)
    assert inputs.annotations == 3 and inputs.annotations_outside == 1
    assert inputs.model_version == "v1" and inputs.n_candles == len(stored)
    return write_queue_file(queue_file, config.data.review_file(SERVED))


def test_build_writes_a_ranked_queue_over_the_whole_series(built: Path, stored: pd.DataFrame) -> None:
    assert built.name == "EURUSD_1h.json" and built.parent.name == "review"
    queue_file = read_queue_file(built)
    assert queue_file is not None and queue_file.model_version == "v1"
    assert queue_file.first_time == int(stored["time"].iloc[0]) and queue_file.last_time == int(stored["time"].iloc[-1])
    items = queue_file.queue.items
    assert items, "a model over 1,200 candles gives stretches to review"
    assert [i.rank for i in items] == list(range(1, len(items) + 1))
    assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)
    times = stored["time"].to_numpy(np.int64)
    for item in items:
        assert times[item.start] == item.start_time and times[item.end] == item.end_time
        assert 0.0 <= item.confidence <= 1.0 and item.fingerprint.startswith(f"{item.prediction}@")
    # the annotated human span is covered: no coverage credit right on it
    on_annotation = [i for i in items if i.start <= 320 and i.end >= 300]
    assert all(i.components["coverage"] < 0.5 for i in on_annotation)


def test_serves_the_built_queue(client: TestClient, built: Path) -> None:
    on_disk = read_queue_file(built)
    assert on_disk is not None
    response = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME, "limit": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pair"] == PAIR and body["timeframe"] == TIMEFRAME and body["model_version"] == "v1"
    assert body["total"] == len(on_disk.queue.items) > 3
    assert [i["rank"] for i in body["items"]] == [1, 2, 3]
    first = on_disk.queue.items[0]
    assert body["items"][0]["start_time"] == first.start_time and body["items"][0]["fingerprint"] == first.fingerprint
    assert set(body["items"][0]) >= {"prediction", "confidence", "reason", "components", "score", "end_time"}
    default = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME}).json()
    assert len(default["items"]) == min(50, body["total"])


def test_the_service_does_not_recompute(client: TestClient, built: Path) -> None:
    data = json.loads(built.read_text(encoding="utf-8"))
    data["queue"]["items"] = data["queue"]["items"][:1]
    data["model_version"] = "edited-on-disk"
    built.write_text(json.dumps(data), encoding="utf-8")
    body = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME}).json()
    assert body["model_version"] == "edited-on-disk" and body["total"] == 1


def test_not_built_is_409_with_what_to_do(client: TestClient) -> None:
    response = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "review_queue_not_built"
    assert "materialize review_queue" in body["detail"] and "EURUSD|1h" in body["detail"]


def test_unreadable_file_is_409_naming_it(client: TestClient, config: PipelineConfig) -> None:
    path = config.data.review_file(SERVED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    response = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME})
    assert response.status_code == 409
    assert "EURUSD_1h.json" in response.json()["detail"] and "not a review queue file" in response.json()["detail"]


def test_unknown_partition_is_404(client: TestClient) -> None:
    response = client.get("/review-queue", params={"pair": "USDJPY", "timeframe": "1h"})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_partition" and "EURUSD 1h" in response.json()["detail"]


@pytest.mark.parametrize("limit", ["0", "501", "x"])
def test_bad_limit_is_400(client: TestClient, limit: str) -> None:
    response = client.get("/review-queue", params={"pair": PAIR, "timeframe": TIMEFRAME, "limit": limit})
    assert response.status_code == 400
    assert "limit" in response.text


def test_openapi_documents_the_constraints(client: TestClient) -> None:
    operation = client.get("/schema/openapi.json").json()["paths"]["/review-queue"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["limit"]["schema"]["minimum"] == 1 and params["limit"]["schema"]["maximum"] == 500
    assert params["pair"]["required"] is True and params["limit"].get("required", False) is False
    assert {"200", "404", "409"} <= set(operation["responses"])
