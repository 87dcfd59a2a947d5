"""A span bundle (``labeling.mode: span``) from `train_partition`, served by /predict, /predict/batch, /model/info.

Parity: the service's answers equal an in-process prediction from the same bundle (the
`trained_model` asset's code path) for the same candles, tag for tag and confidence for confidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from litestar.testing import TestClient

from ml_platform.bundle import load_bundle
from ml_platform.candles import write_candles
from ml_platform.config import PipelineConfig
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from tests.serving.conftest import candle_dicts, make_client
from tests.training.test_span_mode import run_training, span_config, span_labeled_frame

pytestmark = pytest.mark.slow

PARTITION = Partition("EURUSD", "1h")


@dataclass(frozen=True)
class SpanService:
    """A client of the service, the training config, the span bundle's folder and the labeled frame it was fit on."""

    client: TestClient
    config: PipelineConfig
    bundle_dir: Path
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def span_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpanService]:
    """A trained span bundle (CDL stand-in included), its stored candles, and a client of the service."""
    root = tmp_path_factory.mktemp("span_serving")
    config = span_config(root, root / "mlflow")
    frame, candles = span_labeled_frame(config, cdl_every=37)
    result = run_training(config, frame, root)
    write_candles(candles, config.data.partition_file("candles", PARTITION))
    raw = config.to_dict()
    raw["serving"] = {**raw["serving"], "reload_interval_seconds": 0, "max_candles": 5000, "batch_size": 300}
    config_file = root / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    assert result.bundle_path.parent.parent.parent == config.data.models_dir / PARTITION.stem
    with make_client(config_file) as client:
        yield SpanService(client, config, result.bundle_path.parent, frame)


def _in_process(bundle_dir: Path, candles: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    predictor = Predictor.from_bundle(load_bundle(bundle_dir))
    result = predictor.predict(candles.reset_index(drop=True), batch_size=10_000)
    return result.tags, result.confidences


def test_model_info_shows_span_mode(span_service: SpanService) -> None:
    client = span_service.client
    response = client.get("/model/info")
    assert response.status_code == 200, response.text
    (model,) = [m for m in response.json()["models"] if m["pair"] == "EURUSD"]
    assert model["mode"] == "span" and model["min_candles"] == 1
    assert {"bull_flag", "double_top", "head_and_shoulders"} <= {label["name"] for label in model["labels"]}


def test_predict_equals_the_in_process_prediction(span_service: SpanService) -> None:
    client, bundle_dir = span_service.client, span_service.bundle_dir
    candles, planted = generate_partition("GBPUSD", "1h", 1500, seed=5)  # unseen candles
    response = client.post("/predict", json={"pair": "EURUSD", "timeframe": "1h", "candles": candle_dicts(candles)})
    assert response.status_code == 200, response.text
    body = response.json()
    tags, confidences = _in_process(bundle_dir, candles)
    assert body["model_info"]["mode"] == "span"
    assert [p["tag"] for p in body["predictions"]] == tags
    assert [p["confidence"] for p in body["predictions"]] == pytest.approx(confidences.tolist(), abs=1e-12)
    assert body["unlabeled_leading"] == 0 and body["unlabeled_trailing"] == 0
    detected = load_bundle(bundle_dir).model.detector.predict(candles)
    chart = [s for s in body["spans"] if s["label"] != "doji"]
    assert [(s["start_index"], s["end_index"], s["label"]) for s in chart] == [
        (int(r.start), int(r.end), str(r.label)) for r in detected.itertuples()
    ]
    assert [s["avg_confidence"] for s in chart] == pytest.approx(detected["confidence"].tolist())
    assert len(planted) > 0 and len(chart) > 0


def test_predict_batch_equals_one_pass_over_the_range(span_service: SpanService) -> None:
    client, config, bundle_dir = span_service.client, span_service.config, span_service.bundle_dir
    candles = pd.read_parquet(config.data.partition_file("candles", PARTITION))
    first, last = 1000, 2999
    body = {
        "pair": "EURUSD",
        "timeframe": "1h",
        "start": int(candles["time"][first]),
        "end": int(candles["time"][last]),
    }
    responses = [client.post("/predict/batch", json={**body, "batch_size": size}) for size in (64, 5000)]
    assert all(r.status_code == 200 for r in responses), responses[0].text
    small, large = (r.json() for r in responses)
    assert small["predictions"] == large["predictions"] and small["spans"] == large["spans"]
    predictor = Predictor.from_bundle(load_bundle(bundle_dir))
    expected = predictor.predict_range(candles, first, last, batch_size=10_000)
    assert [p["tag"] for p in large["predictions"]] == expected.tags
    assert len(large["predictions"]) == last - first + 1
