"""Learning quality and training time of the platform's model types (a benchmark, not a test).

(a) Sample data: for each model type, the pipeline's own path (sample data generator ->
    `build_features` -> `label_partition` on the imperfect sample annotations ->
    `prepare_dataset` (chronological split with gaps) -> fit), scored on the test split
    against the *planted ground truth*: span precision/recall/F1, a predicted span matching
    a true one of the same label when IoU >= 0.5. Target: span F1 >= 0.8.
(b) TA-Lib CDL labels only (ENGULFING, HAMMER, DOJI, SHOOTINGSTAR, HARAMI): trained on some
    pairs, evaluated per candle on a pair the model never saw, macro F1 against TA-Lib's own
    labels on that pair. Target: >= 0.95. Scale-free inputs only (candle geometry plus the
    rolling-average context TA-Lib's rules use: body and range against the mean of the
    previous 10 candles, body placement against the previous candle; `candle_averages`
    below, wired in as a `features.custom` entry),
    with 3 previous and 2 next candles of context. The ablation without the averages is
    printed too.
(c) Training time of each model type on 200,000 rows with the default hyperparameters.

    python bench/bench_learning.py                 # all three, writes bench/learning_results.md
    python bench/bench_learning.py --parts a,b --candles 10000
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# OpenMP threads spin while waiting by default: on a shared 2-core machine XGBoost with 2
# threads then ran 2.5x slower than with 1 (measured); passive waiting removes that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ml_platform.candles import read_raw_candles  # noqa: E402
from ml_platform.candles import find_raw_file  # noqa: E402
from ml_platform.config import PipelineConfig, config_from_dict  # noqa: E402
from ml_platform.features import build_features  # noqa: E402
from ml_platform.labeling import label_partition, load_annotations  # noqa: E402
from ml_platform.model_inputs import bio_model_inputs  # noqa: E402
from ml_platform.partitions import Partition  # noqa: E402
from ml_platform.sample_data import generate_partition, write_sample_data  # noqa: E402
from ml_platform.training.evaluation import classification_metrics, span_scores  # noqa: E402
from ml_platform.training.models import MODEL_TYPES, get_model_type  # noqa: E402
from ml_platform.training.train import class_weight_map, fit_and_evaluate, prepare_dataset  # noqa: E402

CDL_PATTERNS = ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI"]
THREADS = 2
THIS_FILE = "bench/bench_learning.py"


def candle_averages(candles: pd.DataFrame, period: int = 10, near_period: int = 5) -> pd.DataFrame:
    """A candle against TA-Lib's yardsticks: the mean body/range/shadow of the previous candles, and the previous candle.

    TA-Lib's candle rules call a body "long", "short" or "doji" and a shadow "long" or "very
    short" by comparing it with the average of the previous 10 candles (range, body,
    shadows), and place bodies "near", "above" or "gapping" the previous candle's in units
    of the previous 5 candles' average range. Raw geometry of the neighbours does not carry
    those averages. NaN for the first `period` candles.
    """
    o, h, l, c = (candles[k].to_numpy(np.float64) for k in ("open", "high", "low", "close"))
    body, rng = np.abs(c - o), h - l
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    upper, lower = h - top, bottom - l

    def previous_mean(values: np.ndarray, window: int) -> np.ndarray:
        return pd.Series(values).rolling(window).mean().shift(1).to_numpy()

    def previous(values: np.ndarray) -> np.ndarray:
        return np.concatenate(([np.nan], values[:-1]))

    avg_body, avg_range = previous_mean(body, period), previous_mean(rng, period)
    avg_shadow = previous_mean((upper + lower) / 2, period)
    near = previous_mean(rng, near_period)
    prev_top, prev_bottom = previous(top), previous(bottom)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "body_avg": body / avg_body,
            "body_avgrange": body / avg_range,
            "range_avg": rng / avg_range,
            "upper_avgrange": upper / avg_range,
            "lower_avgrange": lower / avg_range,
            "upper_avgshadow": upper / avg_shadow,
            "lower_avgshadow": lower / avg_shadow,
            "upper_body": upper / np.maximum(body, 1e-12 * c),
            "lower_body": lower / np.maximum(body, 1e-12 * c),
            "top_prevtop": (top - prev_top) / near,
            "bottom_prevbottom": (bottom - prev_bottom) / near,
            "bottom_prevtop": (bottom - prev_top) / near,
            "top_prevbottom": (top - prev_bottom) / near,
            "bottom_prevlow": (bottom - previous(l)) / near,
            "top_prevhigh": (top - previous(h)) / near,
        }
    return pd.DataFrame({k: np.clip(np.where(np.isinf(v), np.sign(v) * 1e6, v), -1e6, 1e6) for k, v in out.items()})


def _config(tmp: Path, **sections: Any) -> PipelineConfig:
    raw: dict[str, Any] = {"data": {"raw_path": str(tmp / "raw"), "annotations_path": str(tmp / "annotations"),
                                    "ground_truth_path": str(tmp / "ground_truth.json")}}
    raw.update(sections)
    return config_from_dict(raw)


def _set_threads(config: PipelineConfig) -> PipelineConfig:
    raw = config.to_dict()
    raw["training"]["random_forest"]["n_jobs"] = THREADS
    raw["training"]["xgboost"]["n_jobs"] = THREADS
    return config_from_dict(raw)


# --------------------------------------------------------------------------- (a) planted patterns


def bench_sample_data(n_candles: int, pairs: list[str], timeframe: str) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as temp:
        tmp = Path(temp)
        base = _config(tmp, partitions={"pairs": pairs, "timeframes": [timeframe]},
                       labeling={"cdl": {"enabled": False}})
        write_sample_data(base, n_candles=n_candles)
        annotations = load_annotations(base.data.resolve("annotations_path"))
        truth = pd.read_json(base.data.resolve("ground_truth_path"), typ="series")["spans"]
        for pair in pairs:
            partition = Partition(pair, timeframe)
            candles = read_raw_candles(find_raw_file(base.data.resolve("raw_path"), partition.stem))
            enriched = build_features(candles, base)
            frame = label_partition(enriched.frame, candles, annotations, partition, base).frame
            planted = [s for s in truth if s["pair"] == pair and s["timeframe"] == timeframe]
            true_tags = _tags_from_spans(enriched.frame["time"].to_numpy(), planted)
            feature_sets = {"default": None, "scale-free": scale_free_columns(enriched.feature_columns)}
            for (features, columns), model_type in itertools.product(feature_sets.items(), MODEL_TYPES):
                raw = base.to_dict()
                raw["training"]["model_type"] = model_type
                config = _set_threads(config_from_dict(raw))
                dataset = prepare_dataset(frame, config, version="bench", base_feature_columns=columns)
                started = time.perf_counter()
                fitted = fit_and_evaluate(dataset, config)
                seconds = time.perf_counter() - started
                test_rows = dataset.split.test
                predicted = fitted.predictions["test"][1]
                time_index = {t: i for i, t in enumerate(enriched.frame["time"].to_numpy().tolist())}
                reference = [true_tags[time_index[int(t)]] for t in dataset.times[test_rows]]
                scores = span_scores(reference, predicted)
                runs = span_scores(reference, predicted, split_on_begin=False)
                results.append({"features": features, "runs_span_f1": runs["span_f1"], "runs_span_precision": runs["span_precision"],"pair": partition.key, "model_type": model_type, "rows": len(dataset.y),
                                "test_rows": len(test_rows), "fit_seconds": seconds,
                                "vs_annotations_span_f1": fitted.metrics["test"]["span_f1"], **scores})
                print(f"(a) {partition.key} {model_type} {features}: span P {scores['span_precision']:.3f} "
                      f"R {scores['span_recall']:.3f} F1 {scores['span_f1']:.3f} vs ground truth "
                      f"({int(scores['true_spans'])} true spans; label runs F1 {runs['span_f1']:.3f}), "
                      f"fit {seconds:.1f}s", flush=True)
    return results


PRICE_UNIT_INDICATORS = ("sma", "ema", "wma", "dema", "tema", "bbands", "macd", "atr", "trange", "sar", "midprice",
                         "midpoint", "kama", "t3", "trima", "mom", "apo", "obv", "ad")


def scale_free_columns(columns: list[str]) -> list[str]:
    """The feature columns whose values do not depend on the price level (no raw SMA/EMA/BBANDS/MACD/ATR...)."""
    return [c for c in columns if c.split("_")[0] not in PRICE_UNIT_INDICATORS]


def _tags_from_spans(times: np.ndarray, spans: list[dict[str, Any]]) -> list[str]:
    tags = ["O"] * len(times)
    index = {int(t): i for i, t in enumerate(times.tolist())}
    for span in spans:
        start, end = index.get(int(span["start_time"])), index.get(int(span["end_time"]))
        if start is None or end is None:
            continue
        tags[start] = f"B-{span['label']}"
        for i in range(start + 1, end + 1):
            tags[i] = f"I-{span['label']}"
    return tags


# --------------------------------------------------------------------------- (b) CDL on an unseen pair


def _cdl_config(with_averages: bool) -> PipelineConfig:
    custom = [{"name": "avg", "function": f"{THIS_FILE}:candle_averages", "params": {"period": 10}}] if with_averages else []
    return _set_threads(config_from_dict({
        "features": {"indicators": [], "candle_geometry": True, "custom": custom,
                     "context": {"previous": 3, "next": 2}},
        "labeling": {"mode": "bio", "cdl": {"enabled": True, "patterns": CDL_PATTERNS}},
    }))


def _cdl_rows(pair: str, timeframe: str, n_candles: int, config: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    candles, _ = generate_partition(pair, timeframe, n_candles)
    enriched = build_features(candles, config)
    frame = label_partition(enriched.frame, candles, [], Partition(pair, timeframe), config).frame
    base = [c for c in enriched.feature_columns]
    inputs, valid = bio_model_inputs(frame, base, config.features.context)
    X = inputs.to_numpy(np.float64)
    keep = np.zeros(len(frame), dtype=bool)
    keep[valid] = True
    keep &= frame["label_known"].to_numpy(bool) & np.isfinite(X).all(axis=1)
    return X[keep], frame["tag"].astype(str).to_numpy()[keep]


def bench_cdl(n_candles: int, train_pairs: list[str], test_pair: str, timeframe: str, *,
              model_types: list[str], ablation: bool = True, args_verbose: bool = False) -> list[dict[str, Any]]:
    results = []
    for with_averages in ((False, True) if ablation else (True,)):
        config = _cdl_config(with_averages)
        parts = [_cdl_rows(pair, timeframe, n_candles, config) for pair in train_pairs]
        X_train = np.vstack([p[0] for p in parts])
        tags_train = np.concatenate([p[1] for p in parts])
        X_test, tags_test = _cdl_rows(test_pair, timeframe, n_candles, config)
        classes = sorted(set(tags_train))
        index = {c: i for i, c in enumerate(classes)}
        y_train = np.array([index[t] for t in tags_train])
        for model_type in model_types:
            model = get_model_type(model_type)(config.training)
            weights = class_weight_map(y_train, classes, config.training.class_weights)
            started = time.perf_counter()
            estimator = model.fit(X_train, y_train, class_weight=weights)
            seconds = time.perf_counter() - started
            predicted = [classes[i] for i in estimator.predict(X_test)]
            metrics = classification_metrics(tags_test.tolist(), predicted, sorted(set(classes) | set(tags_test)))
            unseen = sorted(set(tags_test) - set(classes))
            results.append({"model_type": model_type, "rolling_averages": with_averages, "train_rows": len(y_train),
                            "test_rows": len(tags_test), "classes": len(classes), "fit_seconds": seconds,
                            "f1_macro": metrics["f1_macro"], "accuracy": metrics["accuracy"], "unseen": unseen})
            if args_verbose:
                worst = sorted(metrics["per_class"].items(), key=lambda kv: kv[1]["f1"])[:4]
                print("    weakest:", ", ".join(f"{k} {v['f1']:.2f} (n={v['support']})" for k, v in worst))
            print(f"(b) {model_type} averages={with_averages}: macro F1 {metrics['f1_macro']:.3f} "
                  f"(accuracy {metrics['accuracy']:.4f}) on {test_pair}|{timeframe}, {len(classes)} classes, "
                  f"fit {seconds:.1f}s{'; unseen in train: ' + ', '.join(unseen) if unseen else ''}", flush=True)
    return results


# --------------------------------------------------------------------------- (c) training time


def bench_timing(rows: int, model_types: list[str]) -> list[dict[str, Any]]:
    """Default features and hyperparameters (200 trees), BIO context 3/2, CDL labels, on `rows` rows."""
    config = _set_threads(config_from_dict({"labeling": {"cdl": {"enabled": True, "patterns": CDL_PATTERNS}}}))
    pairs = ["EURUSD", "GBPUSD", "BTC-USDT", "USDJPY", "AUDUSD", "ETH-USDT"]
    X_parts, tag_parts, total = [], [], 0
    for k in range(100):
        pair, timeframe = pairs[k % len(pairs)], ("1h", "4h", "15m", "1d")[k // len(pairs) % 4]
        candles, _ = generate_partition(pair, timeframe, 20_000)
        enriched = build_features(candles, config)
        frame = label_partition(enriched.frame, candles, [], Partition(pair, timeframe), config).frame
        inputs, valid = bio_model_inputs(frame, enriched.feature_columns, config.features.context)
        X_parts.append(inputs.to_numpy(np.float64)[valid])
        tag_parts.append(frame["tag"].astype(str).to_numpy()[valid])
        total += len(X_parts[-1])
        if total >= rows:
            break
    X = np.vstack(X_parts)[:rows]
    tags = np.concatenate(tag_parts)[:rows]
    classes = sorted(set(tags))
    y = np.array([classes.index(t) for t in tags])
    results = []
    for model_type in model_types:
        model = get_model_type(model_type)(config.training)
        weights = class_weight_map(y, classes, config.training.class_weights)
        started = time.perf_counter()
        model.fit(X, y, class_weight=weights)
        seconds = time.perf_counter() - started
        results.append({"model_type": model_type, "rows": len(y), "columns": X.shape[1], "classes": len(classes),
                        "hyperparameters": model.hyperparameters(), "fit_seconds": seconds})
        print(f"(c) {model_type}: {len(y)} rows x {X.shape[1]} columns, {len(classes)} classes: fit {seconds:.1f}s",
              flush=True)
    return results


# --------------------------------------------------------------------------- report


def _pooled(rows: list[dict]) -> list[dict]:
    """Per model type, span scores over every partition's test spans together (matched / predicted / true summed)."""
    pooled = []
    for model_type, features in dict.fromkeys((r["model_type"], r["features"]) for r in rows):
        mine = [r for r in rows if r["model_type"] == model_type and r["features"] == features]
        if len(mine) < 2:
            continue
        true, matched, predicted = (sum(r[k] for r in mine) for k in ("true_spans", "matched_spans", "predicted_spans"))
        runs_p = [r["runs_span_precision"] for r in mine]
        p, rc = matched / max(predicted, 1), matched / max(true, 1)
        pooled.append({"pair": "**all**", "model_type": model_type, "features": features, "test_rows": sum(r["test_rows"] for r in mine),
                       "true_spans": true, "span_precision": p, "span_recall": rc,
                       "span_f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
                       "runs_span_precision": float(np.mean(runs_p)),
                       "runs_span_f1": float(np.mean([r["runs_span_f1"] for r in mine])),
                       "vs_annotations_span_f1": float(np.mean([r["vs_annotations_span_f1"] for r in mine])),
                       "fit_seconds": sum(r["fit_seconds"] for r in mine)})
    return pooled


def write_report(path: Path, a: list[dict], b: list[dict], c: list[dict], args: argparse.Namespace) -> None:
    lines = ["## Learning quality and training time: `bench/bench_learning.py`", ""]
    lines.append(f"Python {platform.python_version()}, 2 cores shared with other work, {THREADS} threads per model; "
                 f"`python bench/bench_learning.py --candles {args.candles}`.")
    if a:
        lines += ["", f"(a) Sample data ({args.candles:,} candles per partition): trained on the imperfect sample "
                  "annotations through `label_partition` and `prepare_dataset` (chronological 70/15/15 split, gap = "
                  "context width), default features and hyperparameters, context 3 previous / 2 next; span "
                  "precision/recall/F1 on the test split against the **planted ground truth** (match: same label, "
                  "IoU >= 0.5). Target: span F1 >= 0.8. *default* features are every column `build_features` "
                  "makes with config/pipeline.yaml; *scale-free* leaves out the indicators in price units "
                  "(`sma_20`, `ema_50`, `bbands_*`, `macd_*`, `atr_14`), whose values in the test period lie "
                  "outside the training range when the price drifts. Predicted spans are read as strict BIO (a `B-` always "
                  "starts a new span, the platform's metric); the *label runs* column reads maximal runs of one "
                  "label instead (a stray `B-` inside a pattern does not split it). *F1 vs annotations* is the "
                  "metric the pipeline logs (against the imperfect annotations). The *all* rows pool the spans "
                  "of every partition (label runs and vs-annotations columns: means).", "",
                  "| partition | model | features | test rows | true spans | span P | span R | span F1 | label runs P / F1 | F1 vs annotations | fit s |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in a + _pooled(a):
            lines.append(f"| {r['pair']} | {r['model_type']} | {r['features']} | {r['test_rows']} | {int(r['true_spans'])} | "
                         f"{r['span_precision']:.3f} | {r['span_recall']:.3f} | **{r['span_f1']:.3f}** | "
                         f"{r['runs_span_precision']:.3f} / {r['runs_span_f1']:.3f} | "
                         f"{r['vs_annotations_span_f1']:.3f} | {r['fit_seconds']:.1f} |")
    if b:
        lines += ["", f"(b) TA-Lib CDL labels only ({', '.join(p.removeprefix('CDL') for p in CDL_PATTERNS)}), "
                  f"trained on {', '.join(args.train_pairs)} ({args.timeframe}), evaluated per candle on "
                  f"{args.test_pair} ({args.timeframe}), which the model never saw: macro F1 over the BIO tags "
                  "against TA-Lib itself. Inputs are scale-free: candle geometry, with and without the rolling "
                  "averages (`candle_averages`: body, range and shadows against the mean of the previous 10 "
                  "candles; body placement against the previous candle's body, high and low in units of the "
                  "previous 5 candles' mean range: TA-Lib's own yardsticks), each with 3 previous and 2 next "
                  "candles. Target: macro F1 >= 0.95.", "",
                  "| model | rolling averages | train rows | classes | macro F1 | accuracy | fit s |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in b:
            lines.append(f"| {r['model_type']} | {'yes' if r['rolling_averages'] else 'no'} | {r['train_rows']} | "
                         f"{r['classes']} | **{r['f1_macro']:.3f}** | {r['accuracy']:.4f} | {r['fit_seconds']:.1f} |")
    if c:
        lines += ["", "(c) Training time on 200,000 rows (BIO, default features: 22 base columns x (1 + 3 + 2) "
                  "context = 132 columns; CDL tags as classes), default hyperparameters, 2 threads:", "",
                  "| model | rows | columns | classes | hyperparameters | fit s |", "| --- | ---: | ---: | ---: | --- | ---: |"]
        for r in c:
            hp = ", ".join(f"{k}={v}" for k, v in r["hyperparameters"].items() if k not in ("n_jobs", "random_state"))
            lines.append(f"| {r['model_type']} | {r['rows']} | {r['columns']} | {r['classes']} | {hp} | "
                         f"**{r['fit_seconds']:.1f}** |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="a,b,c")
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--pairs", default="EURUSD,GBPUSD,BTC-USDT", help="(a) partitions")
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--train-pairs", default="EURUSD,GBPUSD", help="(b)")
    parser.add_argument("--test-pair", default="BTC-USDT", help="(b)")
    parser.add_argument("--models", default="random_forest,xgboost", help="(b)")
    parser.add_argument("--no-ablation", action="store_true", help="(b) skip the run without rolling averages")
    parser.add_argument("--verbose", action="store_true", help="(b) print the weakest classes")
    parser.add_argument("--timing-rows", type=int, default=200_000)
    parser.add_argument("--timing-models", default="xgboost,random_forest")
    parser.add_argument("--output", default=str(ROOT / "bench" / "learning_results.md"))
    args = parser.parse_args()
    args.train_pairs = args.train_pairs.split(",")
    logging.basicConfig(level=logging.WARNING)
    parts = set(args.parts.split(","))
    a = bench_sample_data(args.candles, args.pairs.split(","), args.timeframe) if "a" in parts else []
    b = (bench_cdl(args.candles, args.train_pairs, args.test_pair, args.timeframe, model_types=args.models.split(","),
                   ablation=not args.no_ablation, args_verbose=args.verbose) if "b" in parts else [])
    c = bench_timing(args.timing_rows, args.timing_models.split(",")) if "c" in parts else []
    write_report(Path(args.output), a, b, c, args)


if __name__ == "__main__":
    main()
