"""Sanity check: can a per-candle XGBoost find the sample data's planted patterns?

Generates one partition in memory (no files), builds per-candle features (TA-Lib
indicators plus candle geometry, with the values of the 3 previous and 2 next candles),
trains chronologically on the first 70% with labels from the *annotations* (imperfect,
filtered at confidence 0.5, as the pipeline would) or from the ground truth, and scores
the last 30% against the ground truth: per-candle macro F1 and span F1 (consecutive
candles with the same predicted non-O label form a span; a match needs the same label and
IoU >= 0.5).

    python bench/check_sample_learnability.py --pair EURUSD --timeframe 1h --features both
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import talib
from sklearn.metrics import classification_report, f1_score
from sklearn.utils.class_weight import compute_sample_weight
from xgboost import XGBClassifier

from ml_platform.sample_data import PATTERN_LABELS, annotate, generate_partition

CLASSES = ("O", *PATTERN_LABELS)
OFFSETS = (-3, -2, -1, 1, 2)  # feature of candle t+offset on row t (negative: previous candles)


def normalised_features(c: pd.DataFrame) -> pd.DataFrame:
    """Scale-free features: RSI14, ROC10, BBANDS20 position, ATR14-normalised returns, geometry."""
    o, h, l, cl = (c[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    atr = talib.ATR(h, l, cl, 14)
    upper, _, lower = talib.BBANDS(cl, 20)
    rng = np.maximum(h - l, 1e-12)
    return pd.DataFrame(
        {
            "rsi": talib.RSI(cl, 14),
            "roc": talib.ROC(cl, 10),
            "bb_pos": (cl - lower) / (upper - lower),
            "ret_atr": np.diff(cl, prepend=np.nan) / atr,
            "body_atr": (cl - o) / atr,
            "range_atr": (h - l) / atr,
            "body_to_range": np.abs(cl - o) / rng,
            "upper_wick": (h - np.maximum(o, cl)) / rng,
            "lower_wick": (np.minimum(o, cl) - l) / rng,
        }
    )


def platform_like_features(c: pd.DataFrame) -> pd.DataFrame:
    """Roughly what config/pipeline.yaml's defaults give: raw TA-Lib values and absolute geometry."""
    o, h, l, cl = (c[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    macd, signal, hist = talib.MACD(cl, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(cl, 20)
    top, bottom = np.maximum(o, cl), np.minimum(o, cl)
    rng = h - l
    upper_wick, lower_wick = h - top, bottom - l
    return pd.DataFrame(
        {
            "rsi_14": talib.RSI(cl, 14),
            "sma_20": talib.SMA(cl, 20),
            "ema_50": talib.EMA(cl, 50),
            "macd": macd,
            "macdsignal": signal,
            "macdhist": hist,
            "bb_upper": upper,
            "bb_middle": middle,
            "bb_lower": lower,
            "atr_14": talib.ATR(h, l, cl, 14),
            "adx_14": talib.ADX(h, l, cl, 14),
            "cci_20": talib.CCI(h, l, cl, 20),
            "willr_14": talib.WILLR(h, l, cl, 14),
            "roc_10": talib.ROC(cl, 10),
            "body_size": np.abs(cl - o),
            "body_direction": np.sign(cl - o),
            "upper_wick": upper_wick,
            "lower_wick": lower_wick,
            "wick_ratio": upper_wick / np.where(lower_wick > 0, lower_wick, np.nan),
            "body_to_range": np.abs(cl - o) / np.where(rng > 0, rng, np.nan),
            "gap": o - np.concatenate([[o[0]], cl[:-1]]),
            "range": rng,
        }
    )


def with_context(features: pd.DataFrame) -> pd.DataFrame:
    """Append each feature's value at the offsets in OFFSETS (NaN past either end)."""
    shifted = [features.shift(-k).add_suffix(f"_t{k:+d}") for k in OFFSETS]
    return pd.concat([features, *shifted], axis=1)


def tags(n: int, spans: list[tuple[str, int, int]]) -> np.ndarray:
    """Per-candle class index (0 = O) from (label, start, end) spans, inclusive."""
    y = np.zeros(n, dtype=int)
    for label, start, end in spans:
        y[start : end + 1] = CLASSES.index(label)
    return y


def runs(y: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of one non-zero class: (class, start, end) inclusive."""
    out, start = [], 0
    for i in range(1, len(y) + 1):
        if i == len(y) or y[i] != y[start]:
            if y[start] != 0:
                out.append((int(y[start]), start, i - 1))
            start = i
    return out


def span_f1(true: np.ndarray, pred: np.ndarray, min_iou: float = 0.5) -> tuple[float, float, float]:
    """Precision, recall, F1 of predicted runs against true runs (same class, IoU >= min_iou)."""
    true_spans, pred_spans, used, hits = runs(true), runs(pred), set(), 0
    for cls, ps, pe in pred_spans:
        for k, (tc, ts, te) in enumerate(true_spans):
            if k in used or tc != cls:
                continue
            inter = min(pe, te) - max(ps, ts) + 1
            if inter > 0 and inter / (max(pe, te) - min(ps, ts) + 1) >= min_iou:
                used.add(k)
                hits += 1
                break
    precision = hits / max(1, len(pred_spans))
    recall = hits / max(1, len(true_spans))
    return precision, recall, 2 * precision * recall / max(1e-12, precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", default="EURUSD")
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--labels-from", choices=("annotations", "ground_truth"), default="annotations")
    parser.add_argument("--features", choices=("normalised", "platform", "both"), default="both")
    parser.add_argument(
        "--class-weights",
        choices=("balanced", "none"),
        default="balanced",
        help="as training.class_weights (the config default is balanced)",
    )
    parser.add_argument("--report", action="store_true", help="print the per-class report")
    args = parser.parse_args()
    kwargs = {} if args.seed is None else {"seed": args.seed}
    candles, planted = generate_partition(args.pair, args.timeframe, args.candles, **kwargs)
    n = len(candles)
    truth = tags(n, [(s.label, s.start_index, s.end_index) for s in planted])
    if args.labels_from == "ground_truth":
        train_y = truth
    else:
        index = {t: i for i, t in enumerate(candles["time"].tolist())}
        kept = [
            a for a in annotate(planted, candles["time"].to_numpy(), **kwargs) if a.label != "O" and a.confidence >= 0.5
        ]
        train_y = tags(n, [(a.label, index[a.start_time], index[a.end_time]) for a in kept])
    builders = {"normalised": [normalised_features], "platform": [platform_like_features]}
    builders["both"] = builders["normalised"] + builders["platform"]
    features = with_context(
        pd.concat([b(candles).add_prefix(f"{b.__name__[:4]}_") for b in builders[args.features]], axis=1)
    )
    cut = int(n * 0.7)
    warmup = 60
    model = XGBClassifier(
        n_estimators=200,
        max_depth=6,
        learning_rate=0.1,
        subsample=0.9,
        colsample_bytree=0.8,
        tree_method="hist",
        n_jobs=2,
        random_state=0,
    )
    started = time.perf_counter()
    fit_y = train_y[warmup : cut - 5]
    weights = compute_sample_weight("balanced", fit_y) if args.class_weights == "balanced" else None
    model.fit(features.iloc[warmup : cut - 5], fit_y, sample_weight=weights)
    pred = model.predict(features.iloc[cut:])
    true = truth[cut:]
    macro = f1_score(true, pred, average="macro")
    precision, recall, f1 = span_f1(true, pred)
    print(
        f"{args.pair}|{args.timeframe} features={args.features} labels={args.labels_from} weights={args.class_weights} "
        f"({features.shape[1]} columns, {time.perf_counter() - started:.1f}s): "
        f"candle macro F1 {macro:.3f}; span P {precision:.3f} R {recall:.3f} F1 {f1:.3f} "
        f"({len(runs(pred))} predicted, {len(runs(true))} true spans)"
    )
    if args.report:
        print(classification_report(true, pred, target_names=list(CLASSES), digits=3))


if __name__ == "__main__":
    main()
