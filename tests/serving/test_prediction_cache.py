"""/predict/batch from the cached whole-series predictions equals the uncached `predict_range`, field by field."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import msgspec
import numpy as np
import pandas as pd
import pytest
from litestar.testing import TestClient

from ml_platform.bundle import load_bundle
from ml_platform.candles import write_candles
from ml_platform.config import PipelineConfig
from ml_platform.inference import CandlePredictions, NotEnoughCandlesError, Predictor
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from serving import service
from serving.prediction_cache import SeriesCache
from tests.serving.conftest import PAIR, SERVED, TIMEFRAME, train_bundle

FIELDS = (
    "n_candles",
    "indices",
    "times",
    "class_ids",
    "confidences",
    "classes",
    "unlabeled_leading",
    "unlabeled_trailing",
    "skipped",
    "reason",
)


def _ranges(predictor: Predictor, n: int) -> list[tuple[int, int]]:
    """Start, middle and end of the store, one candle, and edges inside the warm-up and the look-ahead context."""
    lead = predictor.warmup_rows + predictor.before  # first position that can be labelled
    return [
        (0, n - 1),
        (0, lead),
        (0, lead + 40),
        (lead - 1, lead + 3),
        (lead, lead),
        (lead - 5, lead + 200),
        (300, 1000),
        (500, 500),
        (611, 612),
        (n - 200, n - 1),
        (n - 1 - predictor.after, n - 1),
        (n - 2 - predictor.after, n - 2),
        (n - 50, n - predictor.after - 1),
        (n - 3, n - 3),
        # nothing to label: the warm-up, the look-ahead context
        (0, 0),
        (0, lead - 1),
        (3, 10),
        (n - 1, n - 1),
        (n - predictor.after, n - 1),
    ]


def assert_same(cached: CandlePredictions, uncached: CandlePredictions, what: str) -> None:
    for name in FIELDS:
        a, b = getattr(cached, name), getattr(uncached, name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype, f"{what}: {name} dtype {a.dtype} != {b.dtype}"
            assert np.array_equal(a, b), f"{what}: {name} differs"
        else:
            assert a == b, f"{what}: {name}: {a!r} != {b!r}"


def _uncached(predictor: Predictor, candles: pd.DataFrame, first: int, last: int, batch_size: int):
    try:
        return predictor.predict_range(candles, first, last, batch_size=batch_size)
    except NotEnoughCandlesError as exc:
        return exc


@pytest.mark.parametrize("batch_size", [1000, 37])
def test_range_of_series_equals_predict_range(bundle_path: Path, stored: pd.DataFrame, batch_size: int) -> None:
    predictor = Predictor.from_bundle(load_bundle(bundle_path.parent))
    n = len(stored)
    series = predictor.predict_series(stored, batch_size=batch_size)
    assert series.n_candles == n and series.warmup_rows == predictor.warmup_rows
    labelled = 0
    for first, last in _ranges(predictor, n):
        expected = _uncached(predictor, stored, first, last, batch_size)
        cached = predictor.range_of_series(series, first, last)
        if isinstance(expected, NotEnoughCandlesError):
            assert cached is None, f"{first}..{last}: predict_range raised {expected}"
        else:
            assert cached is not None, f"{first}..{last}"
            assert_same(cached, expected, f"{first}..{last} batch_size={batch_size}")
            labelled += 1
    assert labelled >= 12


def test_range_of_series_keeps_skipped_candles(bundle_path: Path, stored: pd.DataFrame) -> None:
    """Candles with non-finite model inputs inside the series: skipped, and the reason says so, as uncached."""
    predictor = Predictor.from_bundle(load_bundle(bundle_path.parent))
    candles = stored.copy()
    candles.loc[600, "high"] = np.inf  # a broken stored candle: the inputs reading it are not finite
    series = predictor.predict_series(candles, batch_size=100)
    assert len(series.predictions.skipped), "the broken candle should leave inputs that are not finite"
    for first, last in ((0, len(candles) - 1), (590, 610), (601, 601), (300, 700), (550, 599)):
        expected = predictor.predict_range(candles, first, last, batch_size=100)
        assert_same(predictor.range_of_series(series, first, last), expected, f"{first}..{last}")


def _client_model(client: TestClient):
    return client.app.state.models.current.get(SERVED)


def _expected_body(
    client: TestClient, predictor: Predictor, candles: pd.DataFrame, first: int, last: int, batch_size: int
) -> tuple[int, dict]:
    """The /predict/batch answer without the cache: status and JSON body."""
    model = _client_model(client)
    try:
        result = predictor.predict_range(candles, first, last, batch_size=batch_size)
    except NotEnoughCandlesError as exc:
        return 422, {"message": str(exc)}
    times = candles["time"].to_numpy()[first : last + 1]
    return 200, msgspec.json.decode(msgspec.json.encode(service.to_response(result, model, times)))


def _batch(client: TestClient, candles: pd.DataFrame, first: int, last: int, batch_size: int):
    times = candles["time"].tolist()
    return client.post(
        "/predict/batch",
        json={
            "pair": PAIR,
            "timeframe": TIMEFRAME,
            "start": times[first],
            "end": times[last],
            "batch_size": batch_size,
        },
    )


def _assert_api_equals_uncached(
    client: TestClient, candles: pd.DataFrame, first: int, last: int, batch_size: int
) -> dict:
    predictor = _client_model(client).predictor
    status, expected = _expected_body(client, predictor, candles, first, last, batch_size)
    response = _batch(client, candles, first, last, batch_size)
    assert response.status_code == status, f"{first}..{last}: {response.text}"
    body = response.json()
    if status == 200:
        assert body == expected, f"{first}..{last} batch_size={batch_size}"
    else:
        assert body["detail"] == expected["message"], f"{first}..{last}: {body}"
    return body


def test_batch_answers_from_the_cache_equal_uncached(client: TestClient, stored: pd.DataFrame) -> None:
    cache: SeriesCache = client.app.state.candles.predictions
    predictor = _client_model(client).predictor
    for batch_size in (1000, 64, 7):
        for first, last in _ranges(predictor, len(stored)):
            _assert_api_equals_uncached(client, stored, first, last, batch_size)
    assert cache.stats.misses == 1, "one series computed for the partition, every other range a slice"
    assert cache.stats.hits >= 3 * len(_ranges(predictor, len(stored))) - 1


def test_the_series_is_computed_in_batch_size_chunks(client: TestClient, stored: pd.DataFrame, monkeypatch) -> None:
    predictor = _client_model(client).predictor
    calls: list[int] = []
    original = type(predictor.bundle).predict_proba

    def counting(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(type(predictor.bundle), "predict_proba", counting)
    body = _batch(client, stored, 500, 510, 100).json()  # cold: the whole series, 100 rows per model call
    labelable = len(stored) - predictor.warmup_rows - predictor.before - predictor.after
    assert max(calls) <= 100 and len(calls) == -(-labelable // 100)
    assert body["candles"] == 11
    calls.clear()
    _batch(client, stored, 0, len(stored) - 1, 100)
    assert calls == [], "a warm range runs no model step"


def test_a_rewritten_candle_file_invalidates(client: TestClient, config: PipelineConfig, stored: pd.DataFrame) -> None:
    before = _assert_api_equals_uncached(client, stored, 200, 900, 256)
    cache: SeriesCache = client.app.state.candles.predictions
    misses = cache.stats.misses
    changed, _ = generate_partition(PAIR, TIMEFRAME, n_candles=len(stored), seed=12)
    write_candles(changed, config.data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
    after = _assert_api_equals_uncached(client, changed, 200, 900, 256)
    assert cache.stats.misses == misses + 1
    assert after["predictions"] != before["predictions"]
    # the same candles written again (a new file, same content): recomputed, same answer
    write_candles(stored, config.data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
    again = _assert_api_equals_uncached(client, stored, 200, 900, 256)
    assert again == before and cache.stats.misses == misses + 2


def test_a_reloaded_model_invalidates(client: TestClient, config: PipelineConfig, stored: pd.DataFrame, sample) -> None:
    before = _assert_api_equals_uncached(client, stored, 100, 1100, 1000)
    assert before["model_info"]["version"] == "v1"
    train_bundle(config.data.models_dir, config, stored, sample[1], version="v2", seed=3, n_estimators=9)
    assert client.post("/model/reload").json()["changed"] == ["EURUSD|1h"]
    after = _assert_api_equals_uncached(client, stored, 100, 1100, 1000)
    assert after["model_info"]["version"] == "v2"
    assert [(p["tag"], p["confidence"]) for p in after["predictions"]] != [
        (p["tag"], p["confidence"]) for p in before["predictions"]
    ]


def test_concurrent_first_requests_agree(client: TestClient, stored: pd.DataFrame) -> None:
    expected = _expected_body(client, _client_model(client).predictor, stored, 0, len(stored) - 1, 128)[1]
    answers, errors = [], []

    def ask() -> None:
        response = _batch(client, stored, 0, len(stored) - 1, 128)
        (answers if response.status_code == 200 else errors).append(response.json())

    workers = [threading.Thread(target=ask) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors and len(answers) == 4
    assert all(answer == expected for answer in answers)
    assert len(client.app.state.candles.predictions) == 1


def test_the_cache_is_a_bounded_lru() -> None:
    computed: list[str] = []

    def fake_model(pair: str):
        def predict_series(candles, *, batch_size):
            computed.append(pair)
            return SimpleNamespace(n_candles=len(candles))

        return SimpleNamespace(
            partition=Partition(pair, "1h"), predictor=SimpleNamespace(predict_series=predict_series)
        )

    cache = SeriesCache(entries=2)
    candles = pd.DataFrame({"time": [1, 2, 3]})
    a, b, c = fake_model("AAA"), fake_model("BBB"), fake_model("CCC")
    for model in (a, b, a, c, a, b):
        cache.series(model, (1, 1), candles, batch_size=10)
    assert computed == ["AAA", "BBB", "CCC", "BBB"] and len(cache) == 2  # b was least recently used when c came
    cache.series(a, (2, 1), candles, batch_size=10)  # a new file key
    cache.series(fake_model("AAA"), (2, 1), candles, batch_size=10)  # a new model object for the same partition
    assert computed[-2:] == ["AAA", "AAA"]
