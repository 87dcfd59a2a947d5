"""``bench_serving.py --mode span``: a span bundle's ``/predict`` in-process against HTTP, and cold
whole-series ``/predict/batch`` with the current span code against the code before it was vectorised
(`tests/shapes/reference.py`, swapped in-process and run by a second server), side by side."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeVar

import msgspec
import numpy as np
import pandas as pd
import yaml
from serving_common import (
    PAIR,
    REQUEST_CANDLES,
    TIMEFRAME,
    free_port,
    interleaved,
    percentiles,
    prepare,
    request_body,
    sequential,
    server,
    timed_calls,
)

from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle
from ml_platform.config import load_config
from ml_platform.features import build_features
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from serving import service
from serving.registry import ModelRegistry
from serving.schemas import PredictRequest
from serving.settings import load_settings
from serving.sources import source_for

T = TypeVar("T")


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
