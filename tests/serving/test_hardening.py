"""Bad input is always a 4xx that says what to send instead (docs/RELIABILITY.md, findings 3, 4, 5, 7).

Each test failed before its fix: deep JSON gave a 500, numeric strings were accepted,
candles 1 s apart were predicted by a 1h model, numpy reprs leaked into details, the
OpenAPI lost ``minimum: 0`` and allowed ``candles: []``, a 5 MB pair was echoed whole.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from litestar.testing import TestClient

from serving.request import MAX_JSON_DEPTH, json_depth
from tests.serving.conftest import PAIR, TIMEFRAME, candle_dicts

JSON = {"content-type": "application/json"}


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/predict", '{"pair":"EURUSD","timeframe":"1h","candles":' + _nested(1000) + "}"),
        ("/predict/batch", '{"pair":"EURUSD","timeframe":"1h","start":' + _nested(1000) + "}"),
        ("/predict", '{"a":' * 1000 + "1" + "}" * 1000),
    ],
)
def test_deeply_nested_json_is_a_400(client: TestClient, path: str, body: str) -> None:
    assert len(body) < 10_000
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "levels deep" in detail and f"at most {MAX_JSON_DEPTH}" in detail


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": [1, 2]}') == 2
    assert json_depth(('{"pair": "' + "[" * 100 + '", "x": [[1]]}').encode()) == 3
    assert json_depth(('{"pair": "\\"' + "{" * 100 + '"}').encode()) == 1
    assert json_depth(b"1") == 0


def test_a_body_just_under_the_depth_limit_is_judged_on_its_shape(client: TestClient) -> None:
    body = '{"pair":"EURUSD","timeframe":"1h","candles":' + _nested(MAX_JSON_DEPTH - 1) + "}"
    response = client.post("/predict", content=body, headers=JSON)
    assert response.status_code == 400
    assert "candles[0]" in response.json()["detail"] and "levels deep" not in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("close", "1.1", "candles[3].close: Expected `float`, got `str`: send a JSON number"),
        ("time", "1451606400", "candles[3].time: Expected `int`, got `str`: send an integer"),
        ("time", 1451606400.5, "candles[3].time: Expected `int`, got `float`"),
        ("open", True, "candles[3].open: Expected `float`, got `bool`"),
    ],
)
def test_strict_types(client: TestClient, stored: pd.DataFrame, field: str, value: object, expected: str) -> None:
    candles = candle_dicts(stored.iloc[:100])
    candles[3][field] = value
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candles})
    assert response.status_code == 400, response.text
    body = response.json()
    assert expected in body["detail"] and body["index"] == 3


def test_strict_types_in_batch_requests(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"pair": PAIR, "timeframe": TIMEFRAME, "batch_size": "64"})
    assert response.status_code == 400
    assert "batch_size: Expected `int | null`, got `str`" in response.json()["detail"]


def test_no_candles_is_a_400_as_the_schema_says(client: TestClient) -> None:
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": []})
    assert response.status_code == 400
    assert "send at least 1 item(s) (candles)" in response.json()["detail"]


def test_candles_closer_than_the_timeframe_are_refused_naming_the_first_gap(
    client: TestClient, stored: pd.DataFrame
) -> None:
    candles = candle_dicts(stored.iloc[:100])
    for i, candle in enumerate(candles):
        candle["time"] = 1_000_000 * 3600 // 3600 + i  # 1 s apart
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candles})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["index"] == 1
    assert body["detail"].startswith("candles[1]: time is not a whole number of 1h (3600 s) timeframes after")
    assert "previous time=1000000, 1 s earlier" in body["detail"]
    assert "np." not in body["detail"]


def test_gaps_of_whole_timeframes_are_fine(client: TestClient, stored: pd.DataFrame) -> None:
    candles = candle_dicts(stored.iloc[:200])
    for candle in candles[100:]:
        candle["time"] += 2 * 24 * 3600  # a weekend
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candles})
    assert response.status_code == 200, response.text


def test_invalid_candle_details_have_no_numpy_reprs(client: TestClient, stored: pd.DataFrame) -> None:
    candles = candle_dicts(stored.iloc[:100])
    candles[7]["high"] = 0.5
    response = client.post("/predict", json={"pair": PAIR, "timeframe": TIMEFRAME, "candles": candles})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "np.float64" not in detail and "np.int64" not in detail
    assert "high=0.5," in detail and f"time={candles[7]['time']}," in detail


def test_openapi_states_the_enforced_constraints(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json").json()
    components = schema["components"]["schemas"]
    batch = components["BatchPredictRequest"]["properties"]
    assert batch["start"]["minimum"] == 0 and batch["end"]["minimum"] == 0
    assert components["PredictRequest"]["properties"]["candles"]["minItems"] == 1
    candle = components["Candle"]["properties"]
    assert all(candle[name]["exclusiveMinimum"] == 0 for name in ("open", "high", "low", "close"))
    assert candle["volume"]["minimum"] == 0
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/candles"]["get"]["parameters"]}
    assert parameters["start"]["minimum"] == 0 and parameters["end"]["minimum"] == 0


def test_a_huge_pair_is_not_echoed_back_whole(client: TestClient) -> None:
    pair = "X" * 200_000
    response = client.post("/predict", json={"pair": pair, "timeframe": TIMEFRAME, "candles": [{"time": 1}]})
    assert response.status_code in (400, 404)
    response = client.get("/candles", params={"pair": pair[:20_000], "timeframe": TIMEFRAME})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert len(response.content) < 2_000 and "(20000 characters)" in detail
    body = json.dumps({"pair": pair, "timeframe": TIMEFRAME, "start": 1})
    response = client.post("/predict/batch", content=body, headers=JSON)
    assert response.status_code == 404 and len(response.content) < 2_000
