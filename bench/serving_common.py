"""The serving benchmark's shared parts: the bench partition and its trained BIO bundle, the request
bodies, servers started and stopped as subprocesses, the timing loops (sequential, interleaved with
the in-process path, concurrent) and their percentiles."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import numpy as np
import pandas as pd
import yaml

from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle
from ml_platform.candles import write_candles
from ml_platform.config import load_config
from ml_platform.features import build_features
from ml_platform.model_inputs import bio_model_inputs
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from ml_platform.training.models import get_model_type

ROOT = Path(__file__).resolve().parents[1]
PAIR, TIMEFRAME = "EURUSD", "1h"
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
