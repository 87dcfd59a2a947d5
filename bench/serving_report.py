"""The serving benchmark's Markdown (BIO mode): the ``/predict`` tables against the in-process path and
MLflow with their targets, the ``/predict/batch`` tables (also alone, for ``--batch-only``) and the ONNX
verdict. The span mode writes its own section (`serving_span.py`)."""

from __future__ import annotations

import argparse
import os
import platform

import msgspec
from serving_common import REQUEST_CANDLES

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
