"""Small synthetic fixtures for the training tests: candles with planted patterns, labeled frames, configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ml_platform.config import DataConfig, PipelineConfig, config_from_dict
from ml_platform.features import build_features

PATTERNS = {"spike": 1.0, "dip": -1.0}  # label -> direction of its three big candles


def synthetic_candles(
    n: int = 600, *, seed: int = 0, every: int = 25
) -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """A random walk with a 3-candle pattern planted every `every` candles (alternating spike and dip).

    Returns the canonical candle frame and the planted spans (label, start, end), inclusive row positions.
    """
    rng = np.random.default_rng(seed)
    returns = rng.normal(0, 0.002, n)
    spans: list[tuple[str, int, int]] = []
    labels = list(PATTERNS)
    for k, start in enumerate(range(40, n - 5, every)):
        label = labels[k % len(labels)]
        returns[start : start + 3] = PATTERNS[label] * 0.02
        spans.append((label, start, start + 2))
    close = 100 * np.exp(np.cumsum(returns))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0, 0.001, n)) * close
    candles = pd.DataFrame(
        {
            "time": 1_700_000_000 + 3600 * np.arange(n, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) + wick,
            "low": np.minimum(open_, close) - wick,
            "close": close,
            "volume": rng.uniform(100, 200, n),
        }
    )
    return candles, spans


def small_config(tmp_path: Path | None = None, **overrides: Any) -> PipelineConfig:
    """BIO mode, two indicators plus geometry, context 1/1, ten small trees, one thread; paths under tmp_path."""
    raw: dict[str, Any] = {
        "partitions": {"pairs": ["EURUSD", "GBPUSD"], "timeframes": ["1h"]},
        "features": {
            "indicators": [{"name": "RSI", "params": {"timeperiod": 5}}],
            "candle_geometry": True,
            "candle_averages": False,
            "context": {"previous": 1, "next": 1},
        },
        # a spike lasts a few candles: the per-candle (BIO) path, not the chart-shape span detector
        "labeling": {"mode": "bio", "labels": [{"name": "spike", "color": "#26a69a"}]},
        "training": {
            "model_type": "xgboost",
            "random_forest": {"n_estimators": 10, "n_jobs": 1},
            "xgboost": {"n_estimators": 10, "max_depth": 3, "n_jobs": 1},
        },
    }
    if tmp_path is not None:
        raw["data"] = DataConfig.paths_under(tmp_path)
        raw["mlflow"] = {
            "tracking_uri": f"sqlite:///{tmp_path}/mlflow/mlflow.db",
            "artifact_location": str(tmp_path / "mlflow" / "artifacts"),
        }
        raw["database"] = {"url": f"sqlite:///{tmp_path}/training_runs.db"}
    _merge(raw, overrides)
    return config_from_dict(raw)


def _merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def labeled_bio_frame(config: PipelineConfig, n: int = 600, *, seed: int = 0) -> pd.DataFrame:
    """What labeled_windows writes in BIO mode: the enriched frame plus ``tag`` from the planted spans."""
    candles, spans = synthetic_candles(n, seed=seed)
    features = build_features(candles, config)
    tags = np.array(["O"] * len(candles), dtype=object)
    for label, start, end in spans:
        tags[start] = f"B-{label}"
        tags[start + 1 : end + 1] = f"I-{label}"
    frame = features.frame.copy()
    frame["tag"] = tags[features.warmup_rows :]
    return frame


def write_config(config: PipelineConfig, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    return path


def labeled_window_frame(config: PipelineConfig, n: int = 900, *, seed: int = 0) -> pd.DataFrame:
    """What labeled_windows writes in window mode: one row per window of ``labeling.window.size`` candles.

    Positive windows are centred on the planted spans (label = the pattern), negatives on
    stretches between them (label ``O``); columns ``{feature}_t{offset}``, ``label``,
    ``start_time``, ``end_time`` (the window's first and last candle), ``source``.
    """
    from ml_platform.model_inputs import window_model_inputs

    candles, spans = synthetic_candles(n, seed=seed)
    features = build_features(candles, config)
    size = config.labeling.window.size
    inputs, _ = window_model_inputs(features.frame, features.feature_columns, size)
    times = features.frame["time"].to_numpy()
    rows = []
    for label, start, end in spans:
        centre = (start + end) // 2 - features.warmup_rows
        rows.append((centre, label))
        rows.append((centre + 12, "O"))
    frame_rows = []
    for centre, label in rows:
        first = centre - size // 2
        if first < 0 or first + size > len(times):
            continue
        record = inputs.iloc[centre].to_dict()
        record.update(
            label=label,
            start_time=int(times[first]),
            end_time=int(times[first + size - 1]),
            source="human" if label != "O" else "negative",
        )
        frame_rows.append(record)
    return pd.DataFrame(frame_rows)
