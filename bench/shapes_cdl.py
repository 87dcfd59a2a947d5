"""The chart-shape benchmark's CDL part: TA-Lib candlestick labels on real candles, trained on
some instruments and scored (macro F1 per candle) on one never seen, with variants that probe
the weak engulfing class.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from real_data import RealSeries
from shapes_data import THREADS

from ml_platform.config import PipelineConfig, config_from_dict
from ml_platform.features import build_features
from ml_platform.labeling import label_partition
from ml_platform.labeling.bio import training_tags
from ml_platform.model_inputs import bio_model_inputs
from ml_platform.partitions import Partition
from ml_platform.training.evaluation import classification_metrics
from ml_platform.training.models import get_model_type
from ml_platform.training.weights import class_weight_map

CDL_PATTERNS = ["CDLENGULFING", "CDLHAMMER", "CDLDOJI", "CDLSHOOTINGSTAR", "CDLHARAMI"]


# --------------------------------------------------------------------------- CDL on real candles


def cdl_config(
    instruments: Sequence[str],
    *,
    context: tuple[int, int] = (3, 2),
    class_weights: str = "balanced",
    custom: bool = False,
) -> PipelineConfig:
    features: dict[str, Any] = {
        "indicators": [],
        "candle_geometry": True,
        "candle_averages": True,
        "context": {"previous": context[0], "next": context[1]},
    }
    if custom:
        features["custom"] = [{"name": "body_ends", "function": "shapes_cdl:body_ends"}]
    return config_from_dict(
        {
            "partitions": {"pairs": list(instruments), "timeframes": ["1h", "1d"]},
            "features": features,
            "labeling": {"mode": "bio", "cdl": {"enabled": True, "patterns": CDL_PATTERNS}},
            "training": {
                "class_weights": class_weights,
                "random_forest": {"n_jobs": THREADS},
                "xgboost": {"n_jobs": THREADS},
            },
        }
    )


def body_ends(candles: pd.DataFrame) -> pd.DataFrame:
    """Where this candle's body ends sit against the previous body's, in units of the previous body.

    TA-Lib's engulfing asks ``close >= prior open and open <= prior close`` (bullish), and
    scores +80 instead of +100 when one of them is an equality: on real daily index data the
    open very often *equals* the prior close, a razor-thin boundary that ratios to the range
    blur. These columns put both comparisons on one scale, signed, so 0 is the boundary.
    """
    o, c = candles["open"].to_numpy(float), candles["close"].to_numpy(float)
    po, pc = np.roll(o, 1), np.roll(c, 1)
    body = np.maximum(np.abs(pc - po), 1e-12 * np.abs(pc))
    top, bottom, ptop, pbottom = np.maximum(o, c), np.minimum(o, c), np.maximum(po, pc), np.minimum(po, pc)
    frame = pd.DataFrame(
        {
            "top_vs_prior_top": (top - ptop) / body,
            "bottom_vs_prior_bottom": (bottom - pbottom) / body,
            "top_equals_prior_top": (top == ptop).astype(float),
            "bottom_equals_prior_bottom": (bottom == pbottom).astype(float),
        }
    )
    frame.iloc[0] = np.nan
    return frame


def merged_tags(frame: pd.DataFrame) -> np.ndarray:
    """The platform's training tags: ``tag`` with its ``O`` candles filled from ``tag_2``, ... (`training_tags`)."""
    tracks = [c for c in frame.columns if c == "tag" or (c.startswith("tag_") and c[4:].isdigit())]
    return training_tags([frame[c].to_numpy() for c in tracks])


def _cdl_rows(
    series: RealSeries, config: PipelineConfig, *, merge: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    enriched = build_features(series.candles, config)
    partition = Partition(series.instrument, series.timeframe)
    frame = label_partition(enriched.frame, series.candles, [], partition, config).frame
    inputs, valid = bio_model_inputs(frame, enriched.feature_columns, config.features.context)
    X = inputs.to_numpy(np.float64)
    keep = np.zeros(len(frame), dtype=bool)
    keep[valid] = True
    keep &= frame["label_known"].to_numpy(bool) & np.isfinite(X).all(axis=1)
    values = _engulfing_values(series.candles, enriched.frame["time"].to_numpy())
    tags = merged_tags(frame) if merge else frame["tag"].astype(str).to_numpy()
    return X[keep], tags[keep], values[keep]


def _engulfing_values(candles: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """TA-Lib's CDLENGULFING value (+-100, +-80, 0) on each enriched row."""
    import talib

    values = talib.CDLENGULFING(*(candles[c].to_numpy(float) for c in ("open", "high", "low", "close")))
    position = {int(t): i for i, t in enumerate(candles["time"].to_numpy().tolist())}
    return np.array([values[position[int(t)]] for t in times])


def _share_80(values: np.ndarray) -> float:
    marked = np.abs(values[values != 0])
    return float(np.mean(marked == 80)) if len(marked) else 0.0


def bench_cdl(series: Sequence[RealSeries], train: Sequence[str], test: str, model_type: str) -> list[dict[str, Any]]:
    instruments = [s.instrument for s in series]
    variants: dict[str, dict[str, Any]] = {
        "track 1 only (the platform before this change)": {},
        "track 1 only, class weights none": {"class_weights": "none"},
        "track 1 only, context 1/1": {"context": (1, 1)},
        "track 1 only, + body_ends features": {"custom": True},
        "tag tracks merged (the platform's default now)": {"merge": True},
        "tag tracks merged + body_ends": {"merge": True, "custom": True},
    }
    rows = []
    for name, options in variants.items():
        merge = bool(options.pop("merge", False))
        config = cdl_config(instruments, **options)
        parts = [_cdl_rows(s, config, merge=merge) for s in series if s.instrument in train]
        X = np.vstack([p[0] for p in parts])
        tags = np.concatenate([p[1] for p in parts])
        X_test, tags_test, engulf_test = next(_cdl_rows(s, config, merge=merge) for s in series if s.instrument == test)
        classes = sorted(set(tags.tolist()))
        y = np.searchsorted(classes, tags)
        model = get_model_type(model_type)(config.training)
        started = time.perf_counter()
        estimator = model.fit(X, y, class_weight=class_weight_map(y, classes, config.training.class_weights))
        seconds = time.perf_counter() - started
        predicted = np.array([classes[i] for i in estimator.predict(X_test)])
        metrics = classification_metrics(tags_test.tolist(), predicted.tolist(), sorted(set(classes) | set(tags_test)))
        engulfing = np.char.find(tags_test.astype(str), "engulfing") >= 0
        by_value = {}
        for value in (80, 100):
            rows_v = engulfing & (np.abs(engulf_test) == value)
            by_value[value] = (
                int(rows_v.sum()),
                float((predicted[rows_v] == tags_test[rows_v]).mean()) if rows_v.any() else 0.0,
            )
        rows.append(
            {
                "test": test,
                "variant": name,
                "model_type": model_type,
                "train_rows": len(y),
                "test_rows": len(tags_test),
                "f1_macro": metrics["f1_macro"],
                "per_class": {k: v["f1"] for k, v in metrics["per_class"].items()},
                "engulfing_by_value": by_value,
                "share_80_train": _share_80(np.concatenate([p[2] for p in parts])),
                "fit_seconds": seconds,
            }
        )
        worst = sorted(metrics["per_class"].items(), key=lambda kv: kv[1]["f1"])[:3]
        print(
            f"[cdl {name}] macro F1 {metrics['f1_macro']:.3f} on {test}; weakest "
            + ", ".join(f"{k} {v['f1']:.2f}" for k, v in worst)
            + f"; engulfing rows right: +-80 {by_value[80]}, +-100 {by_value[100]}; fit {seconds:.0f}s",
            flush=True,
        )
    return rows
