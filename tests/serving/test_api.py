"""Every endpoint's success path, every error code with its message, CORS, the token, body limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from ml_platform.bundle import load_bundle
from ml_platform.config import load_config
from ml_platform.features import build_features
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from tests.serving.conftest import PAIR, TIMEFRAME, candle_dicts, make_client, train_bundle, write_serving_config


def _body(candles: pd.DataFrame, **overrides: object) -> dict:
    return {"pair": PAIR, "timeframe": TIMEFRAME, "candles": candle_dicts(candles), **overrides}


# --------------------------------------------------------------------------- success paths


def test_predict(client: TestClient, stored: pd.DataFrame) -> None:
    response = client.post("/predict", json=_body(stored.iloc[:300]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candles"] == 300
    assert body["unlabeled_leading"] == 52 and body["unlabeled_trailing"] == 2  # 49 warm-up + 3 previous; 2 next
    assert "49 indicator warm-up" in body["reason"] and "features.context.next=2" in body["reason"]
    predictions = body["predictions"]
    assert [p["index"] for p in predictions] == list(range(52, 298))
    assert [p["time"] for p in predictions] == stored["time"].iloc[52:298].tolist()
    for p in predictions:
        assert 0 <= p["confidence"] <= 1
        assert p["label"] == ("O" if p["tag"] == "O" else p["tag"][2:])
    for span in body["spans"]:
        inside = predictions[span["start_index"] - 52 : span["end_index"] - 52 + 1]
        assert {p["label"] for p in inside} == {span["label"]}
        assert span["start_time"] == stored["time"].iloc[span["start_index"]]
        assert span["avg_confidence"] == pytest.approx(np.mean([p["confidence"] for p in inside]))
    assert body["spans"], "the planted patterns should give at least one span"
    assert body["model_info"] == {
        "name": "EURUSD_1h",
        "version": "v1",
        "pair": "EURUSD",
        "timeframe": "1h",
        "trained_at": body["model_info"]["trained_at"],
        "model_type": "xgboost",
        "mode": "bio",
        "source": "bundle",
        "pooled_from": [],
    }


def test_predict_batch(client: TestClient, stored: pd.DataFrame) -> None:
    times = stored["time"]
    response = client.post(
        "/predict/batch",
        json={
            "pair": PAIR,
            "timeframe": TIMEFRAME,
            "start": int(times.iloc[100]),
            "end": int(times.iloc[399]),
            "batch_size": 64,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candles"] == 300 and body["unlabeled_leading"] == 0 and body["unlabeled_trailing"] == 0
    assert [p["index"] for p in body["predictions"]] == list(range(300))
    assert body["predictions"][0]["time"] == times.iloc[100]


def test_partitions(client: TestClient, stored: pd.DataFrame) -> None:
    response = client.get("/partitions")
    assert response.status_code == 200
    assert response.json() == [
        {
            "pair": PAIR,
            "timeframe": TIMEFRAME,
            "candles": len(stored),
            "first_time": int(stored["time"].iloc[0]),
            "last_time": int(stored["time"].iloc[-1]),
            "has_model": True,
        }
    ]


def test_candles_range_and_paging(client: TestClient, stored: pd.DataFrame) -> None:
    times = stored["time"].tolist()
    query = {"pair": PAIR, "timeframe": TIMEFRAME}
    ranged = client.get("/candles", params={**query, "start": times[10], "end": times[19]}).json()
    assert [c["time"] for c in ranged] == times[10:20]
    assert ranged[0] == candle_dicts(stored.iloc[10:11])[0]
    last = client.get("/candles", params={**query, "end": times[99], "limit": 25}).json()
    assert [c["time"] for c in last] == times[75:100]  # the LAST 25 up to end: paging backwards
    first = client.get("/candles", params={**query, "start": times[5], "limit": 3}).json()
    assert [c["time"] for c in first] == times[5:8]
    latest = client.get("/candles", params={**query, "limit": 2}).json()
    assert [c["time"] for c in latest] == times[-2:]
    assert len(client.get("/candles", params=query).json()) == len(times)


def test_model_info_and_labels(client: TestClient) -> None:
    info = client.get("/model/info").json()
    assert info["source"] == "bundle" and info["failures"] == []
    (model,) = info["models"]
    assert model["version"] == "v1" and model["pair"] == PAIR and model["mode"] == "bio"
    assert model["min_candles"] == 55 and model["unlabeled_leading"] == 52 and model["unlabeled_trailing"] == 2
    assert set(model["metrics"]) >= {"validation", "test", "per_class"}
    assert "O" in model["metrics"]["per_class"]
    labels = client.get("/model/labels").json()
    assert {"name": "bull_flag", "color": "#26a69a"} in labels
    assert all(label["name"] != "O" for label in labels)


def test_labels_without_configured_colour_are_stable(tmp_path: Path, sample) -> None:
    """A programmatic label (not in labeling.labels) gets the same generated colour every time."""
    config_file = write_serving_config(tmp_path)
    config = load_config(config_file)
    candles, tags = sample
    tags = np.where(tags == "O", "O", np.char.replace(tags.astype(str), "double_top", "cdl_engulfing")).astype(object)
    train_bundle(config.data.models_dir, config, candles, tags)
    with make_client(config_file) as client:
        first = client.get("/model/labels").json()
    with make_client(config_file) as client:
        second = client.get("/model/labels").json()
    assert first == second
    colour = {label["name"]: label["color"] for label in first}["cdl_engulfing"]
    assert colour.startswith("#") and len(colour) == 7


def test_health_and_reload(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["can_predict"] is True and body["model"]["status"] == "ok"
    assert body["mlflow"]["status"] == "error" and "does not exist" in body["mlflow"]["detail"]  # no run tracked yet
    assert body["database"]["status"] == "error"
    reload = client.post("/model/reload")
    assert reload.status_code == 200
    assert reload.json() == {"loaded": ["EURUSD|1h"], "changed": [], "failures": []}


def test_health_database_ok(tmp_path: Path, bundle_path: Path, config_file: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "training_runs.db").close()
    with make_client(config_file) as client:
        body = client.get("/health").json()
    assert body["database"]["status"] == "ok"


def test_openapi(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/predict", "/predict/batch", "/partitions", "/candles", "/model/info", "/model/labels", "/health"} <= set(
        paths
    )
    assert set(paths["/predict"]["post"]["responses"]) == {"200", "400", "401", "404", "413", "422", "503"}


def test_windowed_model_answers_in_the_same_shape(tmp_path: Path, sample) -> None:
    config_file = write_serving_config(tmp_path, labeling={"mode": "window", "window": {"size": 8}})
    config = load_config(config_file)
    candles, tags = sample
    train_bundle(config.data.models_dir, config, candles, tags, mode="window")
    with make_client(config_file) as client:
        body = client.post("/predict", json=_body(candles.iloc[:200])).json()
    assert body["model_info"]["mode"] == "window"
    assert body["unlabeled_leading"] == 49 + 4 and body["unlabeled_trailing"] == 3  # half windows: 8 // 2, 8 - 1 - 4
    assert [p["index"] for p in body["predictions"]] == list(range(53, 197))
    assert all(p["tag"] == p["label"] for p in body["predictions"])


def test_random_forest_runs_one_thread_and_onnx_only_with_the_same_labels(tmp_path: Path, sample) -> None:
    config_file = write_serving_config(tmp_path)
    config = load_config(config_file)
    candles, tags = sample
    bundle_json = train_bundle(
        config.data.models_dir, config, candles, tags, model_type="random_forest", n_estimators=8
    )
    with make_client(config_file) as client:
        body = client.post("/predict", json=_body(candles)).json()
        info = client.get("/model/info").json()["models"][0]
        served = client.app.state.models.current.get(Partition(PAIR, TIMEFRAME)).predictor.bundle.model
    assert body["model_info"]["model_type"] == "random_forest"
    assert served.n_jobs == 1
    estimator = load_bundle(bundle_json.parent)
    inputs, valid = Predictor.from_bundle(estimator).model_inputs(build_features(candles, config).frame)
    X = inputs.to_numpy()[valid]
    proba = estimator.predict_proba(X)
    tags_expected, confidence = [estimator.meta.classes[i] for i in proba.argmax(axis=1)], proba.max(axis=1)
    assert [p["tag"] for p in body["predictions"]] == tags_expected
    np.testing.assert_allclose([p["confidence"] for p in body["predictions"]], confidence, atol=1e-6)
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        assert info["runtime"] == "sklearn"
    else:
        assert info["runtime"] == "onnxruntime"


def test_load_failure_is_reported_and_others_still_served(tmp_path: Path, bundle_path: Path, config_file: Path) -> None:
    broken = tmp_path / "models" / "BTC-USDT_1h"
    shutil.copytree(bundle_path.parent, broken)
    meta = json.loads((broken / "bundle.json").read_text())
    (broken / meta["model_file"]).write_bytes(b"not a model")
    with make_client(config_file) as client:
        info = client.get("/model/info").json()
        assert [m["pair"] for m in info["models"]] == [PAIR]
        (failure,) = info["failures"]
        assert failure["partition"] == "BTC-USDT|1h" and "cannot load the xgboost model" in failure["error"]
        health = client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert "1 failed to load" in health.json()["model"]["detail"]
        assert (
            client.post(
                "/predict", json=_body(pd.read_parquet(tmp_path / "candles" / "EURUSD_1h.parquet").iloc[:100])
            ).status_code
            == 200
        )


# --------------------------------------------------------------------------- every error code


def _bad_candles(stored: pd.DataFrame, index: int, **values: float) -> list[dict]:
    candles = candle_dicts(stored.iloc[:100])
    candles[index].update(values)
    return candles


def _raw(candles: list[dict]) -> dict:
    return {"pair": PAIR, "timeframe": TIMEFRAME, "candles": candles}


ERROR_CASES = [
    # id, method, path, body (json or raw bytes) or query, status, error code, message fragment, index
    ("malformed-json", "POST", "/predict", b'{"pair": "EURUSD",', 400, "bad_request", "not valid JSON", None),
    (
        "nan-literal",
        "POST",
        "/predict",
        b'{"pair":"EURUSD","timeframe":"1h","candles":[{"time":1,"open":NaN,"high":1,"low":1,"close":1}]}',
        400,
        "bad_request",
        "NaN and Infinity",
        None,
    ),
    (
        "wrong-type",
        "POST",
        "/predict",
        {"pair": PAIR, "timeframe": TIMEFRAME, "candles": [{"time": "noon"}]},
        400,
        "bad_request",
        "candles[0].time: Expected `int`, got `str`",
        0,
    ),
    (
        "missing-field",
        "POST",
        "/predict",
        {"pair": PAIR, "timeframe": TIMEFRAME},
        400,
        "bad_request",
        "missing required field `candles`",
        None,
    ),
    (
        "batch-size-zero",
        "POST",
        "/predict/batch",
        {"pair": PAIR, "timeframe": TIMEFRAME, "batch_size": 0},
        400,
        "bad_request",
        "batch_size",
        None,
    ),
    (
        "candles-bad-limit",
        "GET",
        "/candles",
        {"pair": PAIR, "timeframe": TIMEFRAME, "limit": "many"},
        400,
        "bad_request",
        "limit",
        None,
    ),
    (
        "unknown-pair",
        "POST",
        "/predict",
        lambda s: _body(s.iloc[:80], pair="XAUUSD"),
        404,
        "unknown_partition",
        "unknown pair/timeframe XAUUSD 1h: this service knows EURUSD 1h, BTC-USDT 1h",
        None,
    ),
    (
        "invalid-pair",
        "POST",
        "/predict",
        lambda s: _body(s.iloc[:80], pair="../etc"),
        404,
        "unknown_partition",
        "pair '../etc' is not valid",
        None,
    ),
    (
        "invalid-timeframe",
        "GET",
        "/candles",
        {"pair": PAIR, "timeframe": "2h"},
        404,
        "unknown_partition",
        "timeframe '2h' is not valid: use one of 1m 5m 15m 30m 1h 4h 1d 1w",
        None,
    ),
    (
        "no-model",
        "POST",
        "/predict",
        lambda s: _body(s.iloc[:80], pair="BTC-USDT"),
        404,
        "no_model",
        "no model for BTC-USDT 1h: materialize trained_model for partition 'BTC-USDT|1h'",
        None,
    ),
    (
        "no-stored-candles",
        "GET",
        "/candles",
        {"pair": "BTC-USDT", "timeframe": TIMEFRAME},
        404,
        "no_candles",
        "no stored candles for BTC-USDT 1h: materialize raw_candles",
        None,
    ),
    (
        "too-many-candles",
        "POST",
        "/predict",
        lambda s: _body(pd.concat([s] * 5, ignore_index=True)),
        413,
        "too_large",
        "6000 candles exceed the limit of 5000 per request (serving.max_candles)",
        None,
    ),
    (
        "body-too-large",
        "POST",
        "/predict",
        lambda s: {**_body(s.iloc[:10]), "padding": "x" * 1_100_000},
        413,
        "too_large",
        "larger than the limit of 1000000 bytes (serving.request_max_body_size)",
        None,
    ),
    (
        "inconsistent",
        "POST",
        "/predict",
        lambda s: _raw(_bad_candles(s, 7, high=0.5)),
        422,
        "invalid_candles",
        "candles[7]: high is below open, close or low",
        7,
    ),
    (
        "non-positive",
        "POST",
        "/predict",
        lambda s: _raw(_bad_candles(s, 3, low=-1.0)),
        422,
        "invalid_candles",
        "candles[3]: low must be a positive price",
        3,
    ),
    (
        "out-of-range",
        "POST",
        "/predict",
        b'{"pair":"EURUSD","timeframe":"1h","candles":[{"time":1,"open":1,'
        b'"high":1,"low":1,"close":1},{"time":2,"open":1e999,"high":1,"low":1,'
        b'"close":1}]}',
        422,
        "invalid_candles",
        "candles[1]: a number is out of the range of finite floats",
        1,
    ),
    (
        "unsorted",
        "POST",
        "/predict",
        lambda s: _raw(_bad_candles(s, 40, time=0)),
        422,
        "invalid_candles",
        "candles[40]: time is not after the previous candle's",
        40,
    ),
    (
        "duplicate",
        "POST",
        "/predict",
        lambda s: _raw(_bad_candles(s, 41, time=int(s["time"].iloc[40]))),
        422,
        "invalid_candles",
        "candles[41]: time is not after the previous candle's (times must be strictly increasing",
        41,
    ),
    ("empty", "POST", "/predict", lambda s: _body(s.iloc[:0]), 400, "bad_request", "send at least 1 item(s)", None),
    (
        "too-few",
        "POST",
        "/predict",
        lambda s: _body(s.iloc[:30]),
        422,
        "not_enough_candles",
        "30 candles leave none to label: the model needs at least 55 candles (49 indicator warm-up",
        None,
    ),
    (
        "batch-reversed",
        "POST",
        "/predict/batch",
        {"pair": PAIR, "timeframe": TIMEFRAME, "start": 10, "end": 5},
        422,
        "unprocessable",
        "start 10 is after end 5",
        None,
    ),
    (
        "batch-empty-range",
        "POST",
        "/predict/batch",
        {"pair": PAIR, "timeframe": TIMEFRAME, "start": 1, "end": 5},
        422,
        "unprocessable",
        "no stored candles between 1 and 5",
        None,
    ),
    ("no-endpoint", "GET", "/nowhere", None, 404, "not_found", "no endpoint GET /nowhere", None),
]


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "code", "message", "index"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_codes(
    client: TestClient,
    stored: pd.DataFrame,
    method: str,
    path: str,
    payload: object,
    status: int,
    code: str,
    message: str,
    index: int | None,
) -> None:
    payload = payload(stored) if callable(payload) else payload
    if method == "GET":
        response = client.get(path, params=payload)
    elif isinstance(payload, bytes):
        response = client.post(path, content=payload, headers={"content-type": "application/json"})
    else:
        response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status and body["error"] == code
    assert message in body["detail"], body["detail"]
    assert body["index"] == index


def test_no_model_loaded_is_503(config_file: Path, stored: pd.DataFrame) -> None:
    with make_client(config_file) as client:
        predict = client.post("/predict", json=_body(stored.iloc[:100]))
        health = client.get("/health")
    assert predict.status_code == 503
    assert predict.json()["error"] == "no_model_loaded"
    assert "no model is loaded" in predict.json()["detail"] and "materialize trained_model" in predict.json()["detail"]
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert health.json()["model"] == {"status": "error", "detail": "no model loaded"}


# --------------------------------------------------------------------------- CORS and the token


def test_cors_preflight_allowed_and_refused(client: TestClient) -> None:
    request = {"access-control-request-method": "POST", "access-control-request-headers": "content-type"}
    allowed = client.options("/predict", headers={"origin": "http://localhost:3000", **request})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = client.options("/predict", headers={"origin": "http://evil.example", **request})
    assert "access-control-allow-origin" not in refused.headers
    assert refused.status_code == 400
    simple = client.get("/model/labels", headers={"origin": "http://localhost:3000"})
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_token_required_and_accepted(config_file: Path, bundle_path: Path, stored: pd.DataFrame) -> None:
    with make_client(config_file, env={"INFERENCE_API_TOKEN": "s3cret"}) as client:
        missing = client.get("/model/info")
        assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
        assert "Authorization: Bearer" in missing.json()["detail"] and missing.headers["www-authenticate"]
        wrong = client.post("/predict", json=_body(stored.iloc[:80]), headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"]
        ok = client.post("/predict", json=_body(stored.iloc[:80]), headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get("/health").status_code == 200  # open for probes
        preflight = client.options(
            "/predict", headers={"origin": "http://localhost:3000", "access-control-request-method": "POST"}
        )
        assert preflight.status_code in (200, 204)  # browsers ask before sending the token
        for path in ("/partitions", "/candles?pair=EURUSD&timeframe=1h", "/model/labels", "/schema/openapi.json"):
            assert client.get(path).status_code == 401, path
