"""Preprocessing parity with the training assets, and /predict/batch equal to one pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from ml_platform.bundle import ModelBundle, load_bundle
from ml_platform.config import PipelineConfig
from ml_platform.features import build_features
from ml_platform.inference import Predictor
from ml_platform.model_inputs import bio_model_inputs
from ml_platform.partitions import Partition
from tests.serving.conftest import PAIR, TIMEFRAME, candle_dicts
from tests.serving.test_span_serving import SpanService, span_service  # noqa: F401 (the module-scoped fixture)


def _bits(frame: pd.DataFrame) -> np.ndarray:
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).view(np.uint64)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """What the service computed: the feature frames and the model input matrices."""
    seen: dict[str, list] = {"features": [], "X": []}
    features, predict_proba = Predictor.features, ModelBundle.predict_proba

    def spy_features(self: Predictor, candles: pd.DataFrame):  # noqa: ANN202
        result = features(self, candles)
        seen["features"].append(result)
        return result

    def spy_predict_proba(self: ModelBundle, X: np.ndarray) -> np.ndarray:
        seen["X"].append(np.array(X, copy=True))
        return predict_proba(self, X)

    monkeypatch.setattr(Predictor, "features", spy_features)
    monkeypatch.setattr(ModelBundle, "predict_proba", spy_predict_proba)
    return seen


def _asset_inputs(config: PipelineConfig, bundle: ModelBundle) -> tuple[pd.DataFrame, np.ndarray, slice]:
    asset = pd.read_parquet(config.data.partition_file("features", Partition(PAIR, TIMEFRAME)))
    inputs, valid = bio_model_inputs(asset, bundle.meta.base_feature_columns, bundle.config.features.context)
    return asset, inputs.loc[:, bundle.meta.feature_columns].to_numpy()[valid], valid


def test_predict_features_and_labels_equal_the_training_assets(
    client: TestClient, config: PipelineConfig, bundle_path: Path, stored: pd.DataFrame, captured: dict[str, list]
) -> None:
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(stored)})
    assert response.status_code == 200, response.text
    bundle = load_bundle(bundle_path.parent)
    asset, X_asset, valid = _asset_inputs(config, bundle)

    (served,) = captured["features"]
    assert list(served.frame.columns) == list(asset.columns)
    assert served.frame["time"].tolist() == asset["time"].tolist()
    assert np.array_equal(_bits(served.frame), _bits(asset)), "features differ from enriched_features"

    X_served = np.concatenate(captured["X"])
    assert X_served.shape == X_asset.shape
    assert np.array_equal(X_served.view(np.uint64), X_asset.view(np.uint64)), "model inputs differ"

    proba = bundle.predict_proba(X_asset)
    tags, confidence = [bundle.meta.classes[i] for i in proba.argmax(axis=1)], proba.max(axis=1)
    body = response.json()
    assert [p["tag"] for p in body["predictions"]] == tags
    assert [p["confidence"] for p in body["predictions"]] == confidence.tolist()
    assert [p["time"] for p in body["predictions"]] == asset["time"].to_numpy()[valid].tolist()


def _without_indices(body: dict, offset: int = 0) -> tuple[list, list]:
    predictions = [(p["time"], p["tag"], p["confidence"], p["index"] - offset) for p in body["predictions"]]
    spans = [
        (
            s["label"],
            s["start_time"],
            s["end_time"],
            s["start_index"] - offset,
            s["end_index"] - offset,
            s["avg_confidence"],
        )
        for s in body["spans"]
    ]
    return predictions, spans


def test_batch_equals_one_pass_whatever_the_chunk_size(
    client: TestClient,
    config: PipelineConfig,
    bundle_path: Path,
    stored: pd.DataFrame,
) -> None:
    times = stored["time"].tolist()
    first, last = 300, 1000
    request = {"pair": PAIR, "timeframe": TIMEFRAME, "start": times[first], "end": times[last]}
    one_chunk = client.post("/predict/batch", json={**request, "batch_size": 5000}).json()
    assert one_chunk["candles"] == last - first + 1 and one_chunk["unlabeled_leading"] == 0
    for batch_size in (5, 37, 256):
        chunked = client.post("/predict/batch", json={**request, "batch_size": batch_size})
        assert chunked.status_code == 200
        assert _without_indices(chunked.json()) == _without_indices(one_chunk), f"batch_size={batch_size}"

    # One /predict pass over the same stored history (start of the store .. end + look-ahead context).
    whole = client.post(
        "/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(stored.iloc[: last + 3])}
    ).json()
    in_range = [p for p in whole["predictions"] if times[first] <= p["time"] <= times[last]]
    assert [(p["time"], p["tag"], p["confidence"]) for p in in_range] == [
        (p["time"], p["tag"], p["confidence"]) for p in one_chunk["predictions"]
    ]

    # And it is the model's answer on the enriched_features asset's rows, bit for bit.
    bundle = load_bundle(bundle_path.parent)
    asset, X_asset, valid = _asset_inputs(config, bundle)
    asset_times = asset["time"].to_numpy()[valid]
    rows = (asset_times >= times[first]) & (asset_times <= times[last])
    proba = bundle.predict_proba(X_asset[rows])
    tags, confidence = [bundle.meta.classes[i] for i in proba.argmax(axis=1)], proba.max(axis=1)
    assert [p["tag"] for p in one_chunk["predictions"]] == tags
    assert [p["confidence"] for p in one_chunk["predictions"]] == confidence.tolist()


def test_a_short_lead_in_would_not_equal_one_pass(config: PipelineConfig, stored: pd.DataFrame) -> None:
    """Why the batch computes features over the whole stored history, not per chunk with a lead-in.

    Recursive indicators (EMA) remember all of it: a 500-candle lead-in leaves them different.
    TA-Lib's SMA keeps a running sum whose rounding depends on where the series starts, so it
    may differ in the last bits (on some series it happens not to): close, not equal by design.
    """
    full = build_features(stored, config).frame.set_index("time")
    short = build_features(stored.iloc[500:], config).frame.set_index("time")
    common = short.index[short.index.isin(full.index)][:50]
    assert not np.array_equal(full.loc[common, "ema_50"].to_numpy(), short.loc[common, "ema_50"].to_numpy())
    np.testing.assert_allclose(full.loc[common, "sma_20"], short.loc[common, "sma_20"], rtol=1e-12)


# --------------------------------------------------------------------------- span bundles


@pytest.mark.slow
def test_span_bundle_test_part_equals_the_service(span_service: SpanService) -> None:  # noqa: F811 (the fixture)
    """The trained_model asset's test-part spans (counted in bundle.json) are what /predict finds on those candles."""
    from ml_platform.training.dataset import prepare_dataset
    from ml_platform.training.evaluation import Span, match_spans

    config, frame = span_service.config, span_service.frame
    dataset = prepare_dataset(frame, config, version="parity")
    assert dataset.span is not None
    first, last = dataset.span.segment(dataset.split.test)
    candles = dataset.span.candles.iloc[first : last + 1]
    response = span_service.client.post(
        "/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(candles)}
    )
    assert response.status_code == 200, response.text
    chart = set(dataset.span.chart_labels)
    served = [
        Span(s["label"], s["start_index"], s["end_index"]) for s in response.json()["spans"] if s["label"] in chart
    ]
    true = [Span(str(r.label), int(r.start), int(r.end)) for r in dataset.span.spans_within(first, last).itertuples()]
    recorded = load_bundle(span_service.bundle_dir).meta.metrics["test"]
    scored = match_spans(true, served)
    assert (scored["predicted_spans"], scored["matched_spans"], scored["span_f1"]) == (
        recorded["predicted_spans"],
        recorded["matched_spans"],
        recorded["span_f1"],
    )
