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

The parts live next to this entry point: `serving_common.py` (the bench partition and bundle, servers,
timing loops), `serving_bio.py` (the BIO-mode measurements), `serving_report.py` (their Markdown) and
`serving_span.py` (``--mode span``).

    python bench/bench_serving.py [--model-types xgboost,random_forest] [--requests 200] [--batch-only]
    python bench/bench_serving.py --mode span [--candles 20000] [--batch-repeats 5]   # a span bundle: /predict
        in-process vs HTTP, cold /predict/batch with the span code before and after it was vectorised
        (add --workdir DIR --reuse to measure again on the bundle and candles an earlier run left in DIR)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving_bio import bench_model  # noqa: E402
from serving_report import batch_report, report  # noqa: E402
from serving_span import bench_span  # noqa: E402


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
