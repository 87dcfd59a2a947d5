"""What `make demo` prints at the end: a live prediction next to the planted patterns, per-partition metrics."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

from ml_platform.config import PipelineConfig, config_path_from_env
from ml_platform.partitions import Partition
from ml_platform.timestamps import iso_utc

SLICE = 500


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(base: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the service did not become healthy within {timeout:.0f} s")


def print_prediction(config: PipelineConfig) -> None:
    """Start the service, POST /predict with the last candles of the first partition, print spans vs planted."""
    partition = Partition.from_key(config.partition_keys()[0])
    candles = pd.read_parquet(config.data.partition_file("candles", partition)).tail(SLICE)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ML_PLATFORM_CONFIG": str(config_path_from_env())}
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(port), "--log-level", "warning"], env=env
    )
    try:
        _wait_healthy(base, process)
        body = {"pair": partition.pair, "timeframe": partition.timeframe, "candles": candles.to_dict("records")}
        answer = httpx.post(f"{base}/predict", json=body, timeout=60).raise_for_status().json()
    finally:
        process.terminate()
        process.wait(timeout=30)
    first = int(candles["time"].iloc[min(answer["unlabeled_leading"], len(candles) - 1)])
    last = int(candles["time"].iloc[-1])
    planted = [
        s
        for s in _ground_truth(config)
        if s["pair"] == partition.pair
        and s["timeframe"] == partition.timeframe
        and s["end_time"] >= first
        and s["start_time"] <= last
    ]
    human = {"bull_flag", "double_top", "head_and_shoulders"}
    print(f"\nPOST /predict, {partition.key}, the last {SLICE} candles, model {answer['model_info']['version']}:")
    print(
        f"  {answer['unlabeled_leading']} leading / {answer['unlabeled_trailing']} trailing candles unlabeled "
        f"({answer.get('reason') or 'warm-up and context'})"
    )
    print(f"  {'found by the model':<52} {'planted (' + iso_utc(first) + ' .. ' + iso_utc(last) + ')'}")
    found = [s for s in answer["spans"] if s["label"] in human]
    for row in range(max(len(found), len(planted))):
        left = (
            (
                f"{found[row]['label']:<19} {iso_utc(found[row]['start_time'])} "
                f"+{found[row]['end_index'] - found[row]['start_index'] + 1:<3}"
                f" {found[row]['avg_confidence']:.2f}"
            )
            if row < len(found)
            else ""
        )
        right = (
            (
                f"{planted[row]['label']:<19} {iso_utc(planted[row]['start_time'])} "
                f"+{planted[row]['end_index'] - planted[row]['start_index'] + 1}"
            )
            if row < len(planted)
            else ""
        )
        print(f"  {left:<52} {right}")
    programmatic = len(answer["spans"]) - len(found)
    print(f"  (+ {programmatic} programmatic TA-Lib candle-pattern spans)")


def _ground_truth(config: PipelineConfig) -> list[dict]:
    path = config.data.ground_truth_file
    return json.loads(path.read_text())["spans"] if path.exists() else []


def _metrics(partition_dir: Path) -> tuple[str, str, str, str]:
    """(model type, labeling mode, test f1_macro, test span F1) of the partition's served (champion) bundle."""
    from ml_platform.bundle import BundleError, load_meta

    try:
        meta = load_meta(partition_dir)  # follows champion.json to the served version
    except BundleError:
        return "-", "-", "-", "-"
    test = meta.metrics.get("test", {})
    f1, span = test.get("f1_macro"), test.get("span_f1")
    return (
        meta.model_type,
        meta.mode,
        "-" if f1 is None else f"{f1:.3f}",
        "-" if span is None else f"{span:.3f}",
    )


def print_summary(config: PipelineConfig) -> None:
    header = (
        f"{'partition':<14} {'candles':>8} {'labeled':>8} {'model':>9} {'mode':>5} {'test f1_macro':>14} "
        f"{'test span F1':>13}"
    )
    print("\n" + header)
    print("-" * len(header))
    for key in config.partition_keys():
        partition = Partition.from_key(key)
        candles = config.data.partition_file("candles", partition)
        labeled = config.data.partition_file("labeled", partition)
        model_type, mode, f1, span_f1 = _metrics(config.data.bundle_dir(partition))
        rows = [f"{len(pd.read_parquet(p, columns=['time'])):,}" if p.exists() else "-" for p in (candles, labeled)]
        print(f"{key:<14} {rows[0]:>8} {rows[1]:>8} {model_type:>9} {mode:>5} {f1:>14} {span_f1:>13}")
    print(
        "\n(span F1: a predicted span matches an annotated one of the same label at IoU >= 0.5 on the test"
        "\n part. Mode span: the span detector's chart patterns (the annotated labels); f1_macro is per candle,"
        "\n TA-Lib candle patterns included. Against the planted ground truth: docs/BENCHMARKS.md.)"
        "\n\nWhere to look next:"
        "\n  make dagster   the Dagster UI (http://127.0.0.1:3000): these runs, their metadata and checks"
        "\n  make mlflow    the MLflow UI (http://127.0.0.1:5000): one run per partition with its artifacts"
        "\n  make serve     the inference service (http://127.0.0.1:8000, OpenAPI at /schema/openapi.json)"
        "\n  make web       the annotation chart (http://127.0.0.1:3001), with `make serve` running"
        "\n  make up        all of it at once on PostgreSQL, with the Dagster daemon (make down stops it;"
        "\n                 DEPLOYMENT.md has the walkthrough)"
    )
