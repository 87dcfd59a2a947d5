"""``bench_serving.py`` (BIO mode): per model type, ``/predict`` over HTTP against the same path
in-process and ``mlflow models serve`` on the same model inputs, ``/predict/batch`` cold and warm with
the in-process breakdown of an uncached batch, and RandomForest through ONNX when installed."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from serving_common import (
    PAIR,
    REQUEST_CANDLES,
    TIMEFRAME,
    concurrent,
    free_port,
    interleaved,
    percentiles,
    prepare,
    request_body,
    sequential,
    server,
    timed_calls,
)

from ml_platform.candles import write_candles
from ml_platform.config import load_config
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from serving import service
from serving.registry import ModelRegistry
from serving.schemas import PredictRequest
from serving.settings import load_settings
from serving.sources import source_for


def bench_model(model_type: str, workdir: Path, args: argparse.Namespace) -> dict[str, object]:
    print(f"[{model_type}] preparing", flush=True)
    config_file, candles = prepare(workdir, model_type, args.candles)
    settings = load_settings(config_file, env={})
    registry = ModelRegistry(source_for(settings))
    registry.reload_blocking()
    snapshot = registry.current
    starts = np.linspace(0, len(candles) - REQUEST_CANDLES, 8).astype(int).tolist()
    bodies = [request_body(candles, start) for start in starts]
    out: dict[str, object] = {"model_type": model_type}

    # (a) in-process: decode -> predict -> encode, and predict alone
    encoder = msgspec.json.Encoder()
    decoded = [msgspec.json.decode(body, type=PredictRequest) for body in bodies]
    counter = iter(range(10**9))

    def full_path() -> bytes:
        body = bodies[next(counter) % len(bodies)]
        return encoder.encode(service.predict(msgspec.json.decode(body, type=PredictRequest), settings, snapshot))

    def core() -> object:
        return service.predict(decoded[next(counter) % len(decoded)], settings, snapshot)

    if not args.batch_only:
        out["inproc_core"] = percentiles(timed_calls(core, args.requests))
    model = snapshot.get(Partition(PAIR, TIMEFRAME))
    predictor: Predictor = model.predictor
    out["features"] = predictor.bundle.meta.feature_columns
    features = predictor.features(candles)
    inputs, valid = predictor.model_inputs(features.frame)
    X_all = inputs.to_numpy()[valid]
    rows = X_all[-REQUEST_CANDLES:]
    if not args.batch_only:
        out["predict_proba"] = percentiles(timed_calls(lambda: predictor.bundle.predict_proba(rows), args.requests))
    out["runtime"] = model.runtime
    out.update(batch_breakdown(predictor, candles, settings.serving.batch_size, encoder))
    out.update(batch_inproc_cached(model, settings, snapshot, encoder, args.batch_repeats))

    # the service over loopback
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "serving",
        "--config",
        str(config_file),
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with server(command, f"http://127.0.0.1:{port}/health", workdir / "serving.log"):
        url = f"http://127.0.0.1:{port}/predict"
        batch_url = f"http://127.0.0.1:{port}/predict/batch"
        batch_body = msgspec.json.encode({"pair": PAIR, "timeframe": TIMEFRAME})
        # cold: the first batch after the model is loaded (nothing cached yet), then again after the
        # candle file is re-written (same candles, new file: the cache must miss); warm: the cached series
        cold = sequential(batch_url, [batch_body], 1, warmup=0)
        warm = sequential(batch_url, [batch_body], args.batch_repeats, warmup=2)
        write_candles(candles, load_config(config_file).data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
        cold += sequential(batch_url, [batch_body], 1, warmup=0)
        out["batch_http_cold_ms"] = [t * 1000 for t in cold]
        out["batch_http_cold"] = len(candles) / max(cold)
        out["batch_http"] = len(candles) / statistics.median(warm)
        out["batch_http_ms"] = statistics.median(warm) * 1000
        print(
            f"[{model_type}] /predict/batch cold {out['batch_http_cold']:,.0f} candles/s "
            f"({', '.join(f'{t:.0f}' for t in out['batch_http_cold_ms'])} ms), warm {out['batch_http']:,.0f} "
            f"candles/s ({out['batch_http_ms']:.1f} ms)",
            flush=True,
        )
        if not args.batch_only:
            inproc, http = interleaved(full_path, url, bodies, args.requests)
            out["inproc"], out["http_seq"] = percentiles(inproc), percentiles(http)
            print(
                f"[{model_type}] in-process p50 {out['inproc'][0]:.2f} ms, HTTP p50 {out['http_seq'][0]:.2f} ms",
                flush=True,
            )
            load = concurrent(url, bodies, args.concurrency, args.per_client)
            out["http_conc"] = (*percentiles(load.latencies), load.errors, len(load.latencies) / load.seconds)

    # (b) mlflow models serve, same estimator, same 500 rows of model inputs
    if args.batch_only:
        return out
    if not args.no_mlflow:
        out.update(bench_mlflow(model_type, predictor, rows, workdir, args))
    if model_type == "random_forest" and not args.no_onnx:
        out.update(bench_onnx(predictor, rows, X_all, args))
    return out


def batch_breakdown(
    predictor: Predictor, candles: pd.DataFrame, batch_size: int, encoder: msgspec.json.Encoder
) -> dict[str, object]:
    """Where the in-process time of a whole-partition batch goes (seconds, one run each after a warm-up)."""
    from serving.sources import LoadedModel

    predictor.predict_range(candles, 0, len(candles) - 1, batch_size=batch_size)
    started = time.perf_counter()
    features = predictor.features(candles)
    t_features = time.perf_counter() - started
    started = time.perf_counter()
    inputs, valid = predictor.model_inputs(features.frame)
    X = inputs.to_numpy()[valid]
    t_inputs = time.perf_counter() - started
    started = time.perf_counter()
    predictor.bundle.predict_proba(X)
    t_model = time.perf_counter() - started
    started = time.perf_counter()
    result = predictor.predict_range(candles, 0, len(candles) - 1, batch_size=batch_size)
    t_total = time.perf_counter() - started
    model = LoadedModel(
        partition=Partition(PAIR, TIMEFRAME),
        predictor=predictor,
        source="bundle",
        location="",
        token="",
        loaded_at="",
        metrics={},
    )
    started = time.perf_counter()
    encoder.encode(service.to_response(result, model, candles["time"].to_numpy()))
    t_encode = time.perf_counter() - started
    return {
        "batch_inproc": len(candles) / (t_total + t_encode),
        "breakdown": (t_features, t_inputs, t_model, t_encode, t_total + t_encode),
    }


def batch_inproc_cached(
    model: object, settings: object, snapshot: object, encoder: msgspec.json.Encoder, repeats: int
) -> dict[str, object]:
    """`service.predict_batch` over the whole partition in-process (with encode): cold (fresh store), then warm."""
    from serving.candle_store import CandleStore
    from serving.schemas import BatchPredictRequest

    request = BatchPredictRequest(pair=PAIR, timeframe=TIMEFRAME)
    store = CandleStore(settings.config.data)
    n = len(store.read(model.partition))  # the file read is not part of either figure
    started = time.perf_counter()
    encoder.encode(service.predict_batch(request, settings, snapshot, store))
    cold = time.perf_counter() - started
    warm = timed_calls(
        lambda: encoder.encode(service.predict_batch(request, settings, snapshot, store)), repeats, warmup=2
    )
    return {
        "batch_inproc_cold": n / cold,
        "batch_inproc_warm": n / statistics.median(warm),
        "batch_inproc_warm_ms": statistics.median(warm) * 1000,
    }


def bench_mlflow(
    model_type: str, predictor: Predictor, rows: np.ndarray, workdir: Path, args: argparse.Namespace
) -> dict[str, object]:
    import mlflow.sklearn
    import mlflow.xgboost

    model_dir = workdir / f"mlflow-model-{model_type}"
    estimator = getattr(predictor.bundle.model, "estimator", predictor.bundle.model)  # the forest, not the ONNX adapter
    if model_type == "xgboost":
        mlflow.xgboost.save_model(estimator, str(model_dir), model_format="ubj")
    else:
        mlflow.sklearn.save_model(
            estimator, str(model_dir), serialization_format="skops", skops_trusted_types=["sklearn.tree._tree.Tree"]
        )
    columns = list(predictor.bundle.meta.feature_columns)
    payload = msgspec.json.encode({"dataframe_split": {"columns": columns, "data": rows.tolist()}})
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        str(model_dir),
        "-p",
        str(port),
        "--env-manager",
        "local",
        "-w",
        "1",
    ]
    with server(command, f"http://127.0.0.1:{port}/ping", workdir / f"mlflow-{model_type}.log"):
        url = f"http://127.0.0.1:{port}/invocations"
        seq = percentiles(sequential(url, [payload], args.requests))
        load = concurrent(url, [payload], args.concurrency, args.per_client)
    print(f"[{model_type}] MLflow p50 {seq[0]:.2f} ms", flush=True)
    return {
        "mlflow_seq": seq,
        "mlflow_conc": (*percentiles(load.latencies), load.errors, len(load.latencies) / load.seconds),
    }


def bench_onnx(
    predictor: Predictor, rows: np.ndarray, X_all: np.ndarray, args: argparse.Namespace
) -> dict[str, object]:
    """The service's ONNX adapter against the scikit-learn forest: speed on 500 rows, labels on every row."""
    from serving.onnx_runtime import OnnxForest

    forest = predictor.bundle.model
    estimator = forest.estimator if isinstance(forest, OnnxForest) else forest
    try:
        onnx = forest if isinstance(forest, OnnxForest) else OnnxForest(estimator, X_all.shape[1])
    except ImportError:
        return {"onnx": "not installed (pip install skl2onnx onnxruntime)"}
    sk_proba, onnx_proba = estimator.predict_proba(X_all), onnx.predict_proba(X_all)
    return {
        "sklearn_p50": percentiles(timed_calls(lambda: estimator.predict_proba(rows), args.requests // 2)),
        "onnx_p50": percentiles(timed_calls(lambda: onnx.predict_proba(rows), args.requests)),
        "onnx_match": float(np.mean(onnx_proba.argmax(axis=1) == sk_proba.argmax(axis=1))),
        "onnx_max_abs": float(np.abs(onnx_proba - sk_proba).max()),
        "onnx_rows": len(X_all),
    }
