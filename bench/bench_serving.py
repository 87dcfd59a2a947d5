"""Benchmark: the inference service over loopback, against the same path in-process and `mlflow models serve`.

For each model type (default: the config's XGBoost and RandomForest hyperparameters,
trained here on 20,000 sample candles with the planted patterns as BIO tags):

- ``/predict`` with 500 candles: p50/p95, sequential and with 32 concurrent clients (no
  errors allowed), against (a) the same path in-process (JSON decode -> `service.predict`
  -> JSON encode, no HTTP) and (b) ``mlflow models serve --env-manager local -w 1`` serving
  the same estimator on the same 500 rows of model inputs;
- ``/predict/batch`` over the whole stored partition: candles per second, cold (the first
  request after the model is loaded or the candle file is re-written: the whole stored series
  is predicted and cached) and warm (answered by slicing the cached series predictions);
- for RandomForest, ONNX (skl2onnx + onnxruntime) when installed: speed and whether its
  labels match the estimator's on every row (adopted only if they do).

Servers run as subprocesses (one uvicorn worker each) and are stopped at the end.
Writes a Markdown report (default ``bench/serving_results.md``).

    python bench/bench_serving.py [--model-types xgboost,random_forest] [--requests 200] [--batch-only]
    python bench/bench_serving.py --mode span [--candles 20000] [--batch-repeats 5]   # a span bundle: /predict
        in-process vs HTTP, cold /predict/batch with the span code before and after it was vectorised
        (add --workdir DIR --reuse to measure again on the bundle and candles an earlier run left in DIR)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle  # noqa: E402
from ml_platform.candles import write_candles  # noqa: E402
from ml_platform.config import load_config  # noqa: E402
from ml_platform.features import build_features  # noqa: E402
from ml_platform.inference import Predictor  # noqa: E402
from ml_platform.model_inputs import bio_model_inputs  # noqa: E402
from ml_platform.partitions import Partition  # noqa: E402
from ml_platform.sample_data import generate_partition  # noqa: E402
from ml_platform.training.models import get_model_type  # noqa: E402
from serving import service  # noqa: E402
from serving.registry import ModelRegistry  # noqa: E402
from serving.schemas import PredictRequest  # noqa: E402
from serving.settings import load_settings  # noqa: E402
from serving.sources import source_for  # noqa: E402

PAIR, TIMEFRAME = "EURUSD", "1h"
T = TypeVar("T")
REQUEST_CANDLES = 500


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- setup


def prepare(workdir: Path, model_type: str, n_candles: int) -> tuple[Path, pd.DataFrame]:
    """Config, stored candles and a bundle trained with the config's hyperparameters; (config file, candles)."""
    raw = yaml.safe_load((ROOT / "config" / "pipeline.yaml").read_text())
    for key in ("raw_path", "raw_store", "enriched_path", "labeled_path", "models_path", "annotations_path"):
        raw["data"][key] = str(workdir / key)
    raw["partitions"] = {"pairs": [PAIR], "timeframes": [TIMEFRAME]}
    raw["mlflow"]["tracking_uri"] = f"sqlite:///{workdir / 'mlflow.db'}"
    raw["database"]["url"] = f"sqlite:///{workdir / 'runs.db'}"
    raw["training"]["model_type"] = model_type
    raw["serving"]["reload_interval_seconds"] = 0
    for section in ("xgboost", "random_forest"):  # training threads only: OpenMP teams crawl on a busy machine
        raw["training"][section]["n_jobs"] = 1
    config_file = workdir / "pipeline.yaml"
    config_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(config_file)

    candles, spans = generate_partition(PAIR, TIMEFRAME, n_candles=n_candles, seed=20240601)
    write_candles(candles, config.data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
    tags = np.array(["O"] * len(candles), dtype=object)
    for span in spans:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    features = build_features(candles, config)
    base = features.feature_columns
    inputs, valid = bio_model_inputs(features.frame, base, config.features.context)
    y_tags = tags[features.warmup_rows :][valid]
    classes = sorted(set(y_tags), key=lambda t: (t == "O", t))
    y = np.array([classes.index(t) for t in y_tags])
    X = inputs.to_numpy()[valid]
    train = int(0.7 * len(X))
    started = time.perf_counter()
    estimator = get_model_type(model_type)(config.training).fit(X[:train], y[:train], class_weight=None)
    print(f"  trained {model_type} on {train} rows x {X.shape[1]} in {time.perf_counter() - started:.1f} s", flush=True)
    meta = BundleMeta(
        model_version=f"bench-{model_type}",
        model_type=model_type,
        pair=PAIR,
        timeframe=TIMEFRAME,
        mode="bio",
        classes=classes,
        labels=pattern_labels(classes, config.labeling.labels),
        base_feature_columns=base,
        feature_columns=list(inputs.columns),
        pipeline_config=config.to_dict(),
        metrics={},
        dataset_version="bench",
        trained_at="2026-11-26T00:00:00Z",
    )
    save_bundle(config.data.bundle_dir(Partition(PAIR, TIMEFRAME)), meta, estimator)
    return config_file, candles


def prepare_span(workdir: Path, n_candles: int) -> tuple[Path, pd.DataFrame, dict[str, object]]:
    """`prepare`'s config and candles with a span bundle (``labeling.mode: span``, chart labels only) trained
    by `fit_and_evaluate` on the planted spans; (config file, candles, the bundle's test metrics)."""
    from ml_platform.training.dataset import prepare_dataset
    from ml_platform.training.fit import fit_and_evaluate

    config_file, candles = prepare(workdir, "xgboost", n_candles)  # writes the candles (and a BIO bundle, replaced)
    raw = yaml.safe_load(config_file.read_text())
    raw["labeling"]["mode"] = "span"
    config_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    config = load_config(config_file)
    _, spans = generate_partition(PAIR, TIMEFRAME, n_candles=n_candles, seed=20240601)
    tags = np.array(["O"] * len(candles), dtype=object)
    for span in spans:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    features = build_features(candles, config)
    frame = features.frame.copy()
    frame["tag"] = tags[features.warmup_rows :]
    started = time.perf_counter()
    dataset = prepare_dataset(frame, config, version="bench")
    fitted = fit_and_evaluate(dataset, config)
    print(f"  trained a span detector in {time.perf_counter() - started:.1f} s", flush=True)
    meta = BundleMeta(
        model_version="bench-span",
        model_type="xgboost",
        pair=PAIR,
        timeframe=TIMEFRAME,
        mode="span",
        classes=dataset.classes,
        labels=pattern_labels(dataset.classes, config.labeling.labels),
        base_feature_columns=dataset.base_feature_columns,
        feature_columns=dataset.feature_columns,
        pipeline_config=config.to_dict(),
        metrics=fitted.metrics,
        dataset_version="bench",
        trained_at="2026-11-29T00:00:00Z",
    )
    save_bundle(config.data.bundle_dir(Partition(PAIR, TIMEFRAME)), meta, fitted.estimator)
    return config_file, candles, dict(fitted.metrics["test"])


REFERENCE_SERVER = (
    "import sys; from tests.shapes.reference import reference_code; swapped = reference_code(); "
    "swapped.__enter__(); import ml_platform.shapes.detector as d; "
    "assert d.shape_features.__module__ == 'tests.shapes.reference', 'the reference code is not swapped in'; "
    "from serving.__main__ import main; sys.exit(main(sys.argv[1:]))"
)
"""`python -m serving` with the span detector's code from before it was vectorised (tests/shapes/reference.py).

The context manager is kept in a variable: once collected, its generator would close and restore the code."""


def span_breakdown(predictor: Predictor, candles: pd.DataFrame) -> tuple[float, ...]:
    """Seconds of one whole-series span prediction: candidates, features, model step, total (`predict_range`)."""
    from ml_platform.shapes import detector as code  # its names, as `_with_reference` may have swapped them

    detector = predictor.bundle.model.detector
    started = time.perf_counter()
    prepared = code._prepare(candles, detector.settings, detector.lengths)
    t_candidates = time.perf_counter() - started
    started = time.perf_counter()
    x = code.shape_features(prepared.arrays, prepared.candidates, prepared.pivots, settings=detector.settings)
    t_features = time.perf_counter() - started
    started = time.perf_counter()
    detector.estimator.predict_proba(x)
    t_model = time.perf_counter() - started
    started = time.perf_counter()
    predictor.predict_range(candles, 0, len(candles) - 1, batch_size=10_000)
    return t_candidates, t_features, t_model, time.perf_counter() - started, len(prepared.candidates)


def bench_span(workdir: Path, args: argparse.Namespace) -> str:
    """``--mode span``: /predict (500 candles) in-process vs HTTP, and cold whole-series /predict/batch, with the
    current span code against the code before it was vectorised (`tests/shapes/reference.py`), side by side."""
    from serving.candle_store import CandleStore
    from serving.schemas import BatchPredictRequest
    from tests.shapes.reference import reference_code

    load_start = os.getloadavg()
    if args.reuse and (workdir / "pipeline.yaml").is_file():  # the bundle and candles of an earlier run
        from ml_platform.bundle import load_meta

        config_file = workdir / "pipeline.yaml"
        data = load_config(config_file).data
        candles = pd.read_parquet(data.partition_file("candles", Partition(PAIR, TIMEFRAME)))
        test = dict(load_meta(data.bundle_dir(Partition(PAIR, TIMEFRAME))).metrics["test"])
    else:
        config_file, candles, test = prepare_span(workdir, args.candles)
    settings = load_settings(config_file, env={})
    registry = ModelRegistry(source_for(settings))
    registry.reload_blocking()
    snapshot = registry.current
    starts = np.linspace(0, len(candles) - REQUEST_CANDLES, 8).astype(int).tolist()
    bodies = [request_body(candles, start) for start in starts]
    encoder = msgspec.json.Encoder()
    counter = iter(range(10**9))

    def full_path() -> bytes:
        body = bodies[next(counter) % len(bodies)]
        return encoder.encode(service.predict(msgspec.json.decode(body, type=PredictRequest), settings, snapshot))

    # in-process cold batches (span bundles are never cached: every batch is cold), after and before alternately
    store = CandleStore(settings.config.data)
    request = BatchPredictRequest(pair=PAIR, timeframe=TIMEFRAME)
    store.read(Partition(PAIR, TIMEFRAME))  # the file read is not part of either figure

    def batch() -> bytes:
        return encoder.encode(service.predict_batch(request, settings, snapshot, store))

    equal = batch() == _with_reference(reference_code, batch)  # also the warm-up of both
    inproc_new, inproc_old = [], []
    for _ in range(args.batch_repeats):
        inproc_new += timed_calls(batch, 1, warmup=0)
        inproc_old += _with_reference(reference_code, lambda: timed_calls(batch, 1, warmup=0))
    predictor = snapshot.get(Partition(PAIR, TIMEFRAME)).predictor
    runs_new, runs_old = [], []
    for _ in range(args.batch_repeats):
        runs_new.append(span_breakdown(predictor, candles))
        runs_old.append(_with_reference(reference_code, lambda: span_breakdown(predictor, candles)))
    parts_new = tuple(statistics.median(column) for column in zip(*runs_new, strict=True))
    parts_old = tuple(statistics.median(column) for column in zip(*runs_old, strict=True))

    port, old_port = free_port(), free_port()
    serve = [sys.executable, "-m", "serving"]
    flags = ["--config", str(config_file), "--workers", "1", "--log-level", "warning"]
    with (
        server(serve + flags + ["--port", str(port)], f"http://127.0.0.1:{port}/health", workdir / "serving.log"),
        server(
            [sys.executable, "-c", REFERENCE_SERVER, *flags, "--port", str(old_port)],
            f"http://127.0.0.1:{old_port}/health",
            workdir / "serving-reference.log",
        ),
    ):
        batch_body = msgspec.json.encode({"pair": PAIR, "timeframe": TIMEFRAME})
        http_new, http_old = [], []
        for i in range(args.batch_repeats + 1):  # the first pair warms both servers up
            new = sequential(f"http://127.0.0.1:{port}/predict/batch", [batch_body], 1, warmup=0)
            old = sequential(f"http://127.0.0.1:{old_port}/predict/batch", [batch_body], 1, warmup=0)
            if i:
                http_new, http_old = http_new + new, http_old + old
        inproc, http = interleaved(full_path, f"http://127.0.0.1:{port}/predict", bodies, args.requests)
    (ip50, ip95), (hp50, hp95) = percentiles(inproc), percentiles(http)
    n = len(candles)

    def rate(samples: list[float]) -> str:
        median = statistics.median(samples)
        return f"{median * 1000:.0f} ms ({n / median:,.0f} candles/s)"

    def parts(values: tuple[float, ...]) -> str:
        return " | ".join(f"{v * 1000:.0f} ms" for v in values[:4])

    return "\n".join(
        [
            "### Span bundle (`bench/bench_serving.py --mode span`)",
            "",
            f"{os.cpu_count()} CPUs shared with other work (load average {load_start[0]:.1f} / {load_start[1]:.1f} "
            f"(1 / 5 min) at the start, {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} at the end); one "
            f"uvicorn worker per server, loopback; a span detector (chart labels, no CDL part) trained on "
            f"{n:,} sample candles (test span F1 {float(test['span_f1']):.2f}); {REQUEST_CANDLES}-candle `/predict` "
            f"requests, {args.requests} each, interleaved. Before = the candidate and feature code before it was "
            "vectorised (`tests/shapes/reference.py`, swapped in for the same bundle and candles; a second server "
            f"runs it), measured alternately with the current code, {args.batch_repeats} times each (medians).",
            "",
            "| path | p50 | p95 |",
            "| --- | ---: | ---: |",
            f"| in-process (decode, predict, encode) | {ip50:.1f} ms | {ip95:.1f} ms |",
            f"| HTTP `/predict` | {hp50:.1f} ms | {hp95:.1f} ms |",
            f"| HTTP / in-process | {hp50 / ip50:.2f}x | |",
            "",
            f"| cold `/predict/batch`, all {n:,} stored candles | before | after | speed-up |",
            "| --- | ---: | ---: | ---: |",
            f"| HTTP | {rate(http_old)} | {rate(http_new)} | "
            f"{statistics.median(http_old) / statistics.median(http_new):.2f}x |",
            f"| in-process (`service.predict_batch` + encode) | {rate(inproc_old)} | {rate(inproc_new)} | "
            f"{statistics.median(inproc_old) / statistics.median(inproc_new):.2f}x |",
            "",
            f"Answers equal before and after: {'yes' if equal else '**no**'} (the encoded response, byte for byte). "
            f"One whole-series prediction, in-process ({parts_new[4]:,.0f} candidates; medians of "
            f"{args.batch_repeats}, alternately):",
            "",
            "| code | candidates (zigzags, proposal) | shape features | model step | total `predict_range` |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| before | {parts(parts_old)} |",
            f"| after | {parts(parts_new)} |",
            "",
        ]
    )


def _with_reference(reference_code: Callable[[], AbstractContextManager[None]], function: Callable[[], T]) -> T:
    with reference_code():
        return function()


def request_body(candles: pd.DataFrame, start: int) -> bytes:
    part = candles.iloc[start : start + REQUEST_CANDLES]
    return msgspec.json.encode({"pair": PAIR, "timeframe": TIMEFRAME, "candles": part.to_dict(orient="records")})


# --------------------------------------------------------------------------- servers


@contextmanager
def server(command: list[str], ready_url: str, log: Path, timeout: float = 300.0) -> Iterator[subprocess.Popen]:
    """Start `command` in its own process group, wait for `ready_url`, stop the group afterwards."""
    with log.open("wb") as out:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT, env=env
        )  # MLflow execs `uvicorn` from PATH
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited with {process.returncode}; see {log}")
            try:
                if httpx.get(ready_url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} not ready after {timeout} s; see {log}")
            time.sleep(0.5)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def sequential(url: str, bodies: list[bytes], requests: int, *, warmup: int = 20) -> list[float]:
    latencies = []
    with httpx.Client(timeout=60, headers={"content-type": "application/json"}) as client:
        for i in range(warmup + requests):
            started = time.perf_counter()
            response = client.post(url, content=bodies[i % len(bodies)])
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
            if i >= warmup:
                latencies.append(elapsed)
    return latencies


def interleaved(
    inproc: Callable[[], object], url: str, bodies: list[bytes], requests: int, *, warmup: int = 20
) -> tuple[list[float], list[float]]:
    """In-process call and HTTP request alternately, so both see the same background load."""
    inproc_times, http_times = [], []
    with httpx.Client(timeout=60, headers={"content-type": "application/json"}) as client:
        for i in range(warmup + requests):
            started = time.perf_counter()
            inproc()
            middle = time.perf_counter()
            response = client.post(url, content=bodies[i % len(bodies)])
            ended = time.perf_counter()
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
            if i >= warmup:
                inproc_times.append(middle - started)
                http_times.append(ended - middle)
    return inproc_times, http_times


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0


def concurrent(url: str, bodies: list[bytes], clients: int, per_client: int) -> LoadResult:
    """`clients` concurrent keep-alive connections, each sending `per_client` requests back to back."""
    result = LoadResult()

    async def client_loop(client: httpx.AsyncClient, offset: int) -> None:
        for i in range(per_client):
            started = time.perf_counter()
            try:
                response = await client.post(url, content=bodies[(offset + i) % len(bodies)])
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            result.latencies.append(time.perf_counter() - started)
            result.errors += not ok

    async def run() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(timeout=120, limits=limits, headers={"content-type": "application/json"}) as c:
            await asyncio.gather(*(client_loop(c, k) for k in range(2)))  # warm the connections
            result.latencies.clear()
            started = time.perf_counter()
            await asyncio.gather(*(client_loop(c, k) for k in range(clients)))
            result.seconds = time.perf_counter() - started

    asyncio.run(run())
    return result


# --------------------------------------------------------------------------- the measurements


def timed_calls(function: Callable[[], object], repeats: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


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


# --------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(results: list[dict[str, object]], args: argparse.Namespace, load_start: float, load_end: float) -> str:
    from importlib.metadata import version

    import mlflow
    import sklearn
    import xgboost

    lines = [
        "## Inference service (`bench/bench_serving.py`)",
        "",
        f"{os.cpu_count()} CPUs shared with other work (load average {load_start:.1f} at the start, {load_end:.1f} at "
        f"the end: times are upper bounds), Python {platform.python_version()}, litestar {version('litestar')}, "
        f"uvicorn {version('uvicorn')}, msgspec {msgspec.__version__}, xgboost {xgboost.__version__}, "
        f"scikit-learn {sklearn.__version__}, mlflow {mlflow.__version__}, onnxruntime "
        f"{_optional_version('onnxruntime')}, skl2onnx {_optional_version('skl2onnx')}. One uvicorn worker per "
        "server, all over loopback in one run; the load generator (httpx) shares the 2 CPUs with the servers.",
        "",
        f"Models: the config's hyperparameters (XGBoost 200 trees depth 6; RandomForest 200 trees, "
        f"min_samples_leaf 2, no depth limit) trained on 70% of {args.candles:,} sample candles (planted patterns as "
        "BIO tags, 7 classes); BIO mode with 3 previous + 2 next candles of context: "
        f"{len(results[0]['features'])} model inputs per candle. Prediction runs with one thread (`n_jobs=1`).",
        "",
        f"`/predict`: {REQUEST_CANDLES} candles per request (about {REQUEST_CANDLES * 110 // 1000} kB of JSON), "
        f"answered with {REQUEST_CANDLES - 55} labelled candles and their spans. In-process = the same path without "
        "HTTP (msgspec decode, `serving.service.predict` on the same registry code, msgspec encode), measured "
        f"alternately with the HTTP request ({args.requests} pairs after 20 warm-up) so both see the same load. "
        f"Then {args.concurrency} concurrent clients x {args.per_client} requests. MLflow serves the same estimator "
        f"on the same {REQUEST_CANDLES} candles' model inputs (`dataframe_split`): the model step only.",
        "",
        "| model (runtime) | path | p50 ms | p95 ms | 32 clients p50 / p95 ms | errors | req/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        m = f"{r['model_type']} ({r['runtime']})"
        lines.append(
            f"| {m} | in-process (decode, predict, encode) | {r['inproc'][0]:.2f} | {r['inproc'][1]:.2f} | | | |"
        )
        lines.append(
            f"| {m} | in-process `service.predict` only | {r['inproc_core'][0]:.2f} | {r['inproc_core'][1]:.2f} | | | |"
        )
        lines.append(
            f"| {m} | model step alone (`predict_proba`, 500 rows) | {r['predict_proba'][0]:.2f} | "
            f"{r['predict_proba'][1]:.2f} | | | |"
        )
        c = r["http_conc"]
        lines.append(
            f"| {m} | **HTTP `/predict`** | {r['http_seq'][0]:.2f} | {r['http_seq'][1]:.2f} | "
            f"{c[0]:.1f} / {c[1]:.1f} | {c[2]} | {c[3]:.0f} |"
        )
        if "mlflow_seq" in r:
            c = r["mlflow_conc"]
            lines.append(
                f"| {m} | `mlflow models serve` (model step only) | {r['mlflow_seq'][0]:.2f} | "
                f"{r['mlflow_seq'][1]:.2f} | {c[0]:.1f} / {c[1]:.1f} | {c[2]} | {c[3]:.0f} |"
            )
        if "onnx_p50" in r:
            lines.append(
                f"| random_forest | scikit-learn `predict_proba`, 500 rows, 1 job | "
                f"{r['sklearn_p50'][0]:.2f} | "
                f"{r['sklearn_p50'][1]:.2f} | | | |"
            )
            lines.append(
                f"| random_forest | ONNX Runtime, 500 rows, 1 thread | {r['onnx_p50'][0]:.2f} | "
                f"{r['onnx_p50'][1]:.2f} | | | |"
            )
    lines += [
        "",
        "| model | HTTP / in-process p50 (target <= 1.3) | HTTP / MLflow p50 (target <= 0.5) |",
        "| --- | ---: | ---: |",
    ]
    for r in results:
        ratio_in = r["http_seq"][0] / r["inproc"][0]
        ratio_ml = r["http_seq"][0] / r["mlflow_seq"][0] if "mlflow_seq" in r else float("nan")
        lines.append(
            f"| {r['model_type']} | {ratio_in:.2f} {verdict(ratio_in <= 1.3)} | {ratio_ml:.2f} "
            f"{verdict(ratio_ml <= 0.5)} |"
        )
    lines += batch_lines(results, args)
    for r in results:
        if "onnx_match" in r:
            adopted = r["onnx_match"] == 1.0 and r["onnx_max_abs"] <= 1e-6
            lines += [
                "",
                "ONNX (RandomForest through skl2onnx + onnxruntime, `serving/onnx_runtime.py`): labels equal "
                f"scikit-learn's on {r['onnx_match']:.2%} of {r['onnx_rows']:,} rows, largest probability "
                f"difference {r['onnx_max_abs']:.1g}: "
                + (
                    "adopted (the service converts at load and keeps scikit-learn if its own check on "
                    "synthetic candles differs)."
                    if adopted
                    else "**not adopted**."
                ),
            ]
        elif "onnx" in r:
            lines += ["", f"ONNX: {r['onnx']}."]
    return "\n".join(lines) + "\n"


def batch_lines(results: list[dict[str, object]], args: argparse.Namespace) -> list[str]:
    """The `/predict/batch` table (cold and warm) and the in-process breakdown of an uncached batch."""
    n = f"{args.candles:,}"
    lines = [
        "",
        f"`/predict/batch` over the whole stored partition ({n} candles, the full JSON answer). Cold = the "
        "first request after the model is loaded, and the first after the candle file is re-written (the "
        "stored series is predicted once, in `serving.batch_size` chunks, and cached; the worse of the two is "
        "reported). Warm = later requests, answered by slicing the cached predictions (median of "
        f"{args.batch_repeats}). In-process = `service.predict_batch` + msgspec encode, no HTTP.",
        "",
        "| model | HTTP cold, candles/s | **HTTP warm, candles/s** (target 500k) | in-process cold | "
        "in-process warm | uncached `predict_range` + encode |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        cold_ms = ", ".join(f"{t:.0f}" for t in r["batch_http_cold_ms"])
        lines.append(
            f"| {r['model_type']} | {r['batch_http_cold']:,.0f} ({cold_ms} ms) | {r['batch_http']:,.0f} "
            f"({r['batch_http_ms']:.1f} ms) {verdict(r['batch_http'] >= 500_000)} | "
            f"{r['batch_inproc_cold']:,.0f} | {r['batch_inproc_warm']:,.0f} "
            f"({r['batch_inproc_warm_ms']:.1f} ms) | {r['batch_inproc']:,.0f} |"
        )
    lines += [
        "",
        f"Where an uncached whole-partition batch ({args.candles:,} candles; what a cold request pays) "
        "spends its time in-process:",
        "",
        "| model | features | model inputs | model step | response encode | total |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        f, i, m, e, t = (value * 1000 for value in r["breakdown"])
        lines.append(f"| {r['model_type']} | {f:.0f} ms | {i:.0f} ms | {m:.0f} ms | {e:.0f} ms | {t:.0f} ms |")
    return lines


def batch_report(results: list[dict[str, object]], args: argparse.Namespace, load_start: float, load_end: float) -> str:
    """`--batch-only`: the batch section alone."""
    lines = [
        "### `/predict/batch` (`bench/bench_serving.py --batch-only`)",
        "",
        f"{os.cpu_count()} CPUs shared with other work (load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end), one uvicorn worker, loopback.",
    ]
    lines += batch_lines(results, args)
    return "\n".join(lines) + "\n"


def _optional_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-types", default="xgboost,random_forest")
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--batch-repeats", type=int, default=5)
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument(
        "--batch-only",
        action="store_true",
        help="only /predict/batch (cold and warm); print the section instead of writing --output",
    )
    parser.add_argument("--no-onnx", action="store_true")
    parser.add_argument("--mode", choices=("bio", "span"), default="bio", help="span: a span bundle (bench_span)")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--mode span: reuse the bundle and candles an earlier run left in --workdir",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "serving_results.md")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    if args.mode == "span":
        with tempfile.TemporaryDirectory(prefix="bench-serving-span-") as temp:
            print(bench_span(args.workdir or Path(temp), args))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as temp:
        base = args.workdir or Path(temp)
        results = []
        for model_type in args.model_types.split(","):
            workdir = base / model_type
            workdir.mkdir(parents=True, exist_ok=True)
            results.append(bench_model(model_type, workdir, args))
    if args.batch_only:
        print(batch_report(results, args, load_start, os.getloadavg()[0]))
        return 0
    text = report(results, args, load_start, os.getloadavg()[0])
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
