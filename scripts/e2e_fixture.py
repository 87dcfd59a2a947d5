"""A small, complete platform in one folder, for the browser tests: data, features, labels, a model.

    python -m scripts.e2e_fixture --out DIR [--mode pipeline|perf] [--pair EURUSD --timeframe 1h]
                                  [--candles N] [--train N] [--model-type xgboost]

Writes a pipeline config whose every path lies in DIR (one partition) and prints the config's
path as its last line: pass it as ML_PLATFORM_CONFIG to `python -m serving`. Two modes:

- ``pipeline`` (default; 4,000 candles): sample data, then every asset for that partition
  materialized through Dagster (an ephemeral instance): candles, features, labels, and a small
  fast model, the way the pipeline makes them.
- ``perf`` (50,000 candles): what the frame-time test needs, fast. The sample data's candles
  (``candles/``) and their features (``enriched/``), and a small XGBoost bundle (``models/``)
  trained on the first ``--train`` candles (default 8,000) against the planted patterns' BIO
  tags; no Dagster, no labeling run, so ``labeled/`` and ``annotations/`` stay empty.

Re-running on an existing DIR reuses it when it was made with the same options and holds a bundle.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

MODES = ("pipeline", "perf")
DEFAULT_CANDLES = {"pipeline": 4_000, "perf": 50_000}
PERF_MODEL_VERSION = "e2e-v1"


def fixture_config(out: Path, pair: str, timeframe: str, model_type: str, mode: str = "pipeline") -> dict[str, Any]:
    """Every data, MLflow and database path in `out`; one partition; a model that trains in seconds."""
    from ml_platform.config import DataConfig

    data = DataConfig.paths_under(out)
    serving: dict[str, Any] = {"reload_interval_seconds": 1.0}
    if mode == "perf":  # "Predict all" over 50,000 candles: larger requests, fewer model calls
        serving |= {"max_candles": 20_000, "batch_size": 5_000}
    return {
        "data": data,
        "partitions": {"pairs": [pair], "timeframes": [timeframe]},
        "training": {
            "model_type": model_type,
            "xgboost": {"n_estimators": 60, "max_depth": 5, "n_jobs": 2},
            "random_forest": {"n_estimators": 60, "n_jobs": 2},
        },
        "mlflow": {"tracking_uri": f"sqlite:///{out / 'mlflow.db'}", "artifact_location": str(out / "mlartifacts")},
        "database": {"url": f"sqlite:///{out / 'training_runs.db'}"},
        "serving": serving,
    }


def build_with_pipeline(config_path: Path, n_candles: int) -> None:
    """Sample data, then every asset of the config's partition through Dagster."""
    # `assets.definitions` (imported by scripts.demo) reads ML_PLATFORM_CONFIG when it is imported.
    os.environ["ML_PLATFORM_CONFIG"] = str(config_path)
    from dagster import DagsterInstance

    from ml_platform.config import load_config
    from ml_platform.sample_data import write_sample_data
    from scripts.demo import materialize_everything

    config = load_config(config_path)
    write_sample_data(config, n_candles=n_candles)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(instance, config, progress=False)


def build_for_perf(config_path: Path, pair: str, timeframe: str, n_candles: int, n_train: int) -> None:
    """Candles, features and a quickly trained bundle for one partition of `n_candles` candles."""
    import numpy as np
    from xgboost import XGBClassifier

    from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle
    from ml_platform.candles import write_candles
    from ml_platform.config import load_config
    from ml_platform.features import build_features
    from ml_platform.labeling.bio import OUTSIDE_TAG, encode_bio
    from ml_platform.labeling.spans import Spans
    from ml_platform.model_inputs import bio_model_inputs
    from ml_platform.partitions import Partition
    from ml_platform.sample_data import generate_partition
    from ml_platform.storage import write_parquet_atomic

    started = time.perf_counter()
    config = load_config(config_path)
    partition = Partition(pair, timeframe)
    for folder in ("candles", "enriched", "models", "annotations", "labeled", "raw"):
        (config_path.parent / folder).mkdir(parents=True, exist_ok=True)

    candles, planted = generate_partition(pair, timeframe, n_candles=n_candles, seed=11)
    write_candles(candles, config.data.partition_file("candles", partition))
    features = build_features(candles, config)
    write_parquet_atomic(features.frame, config.data.partition_file("features", partition))

    spans = Spans.build(
        start=[s.start_index for s in planted],
        end=[s.end_index for s in planted],
        label=[s.label for s in planted],
        source=["programmatic"] * len(planted),
        id=[f"planted@{s.start_time}" for s in planted],
    )
    tags = encode_bio(spans, len(candles)).tags(0)
    base = list(features.feature_columns)
    frame = features.frame.iloc[:n_train]
    row_tags = tags[features.warmup_rows : features.warmup_rows + len(frame)]
    inputs, valid = bio_model_inputs(frame, base, config.features.context)
    y_tags = row_tags[valid]
    classes = sorted(set(y_tags), key=lambda t: (t == OUTSIDE_TAG, t))
    index = {tag: i for i, tag in enumerate(classes)}
    y = np.array([index[t] for t in y_tags])
    model = XGBClassifier(n_estimators=40, max_depth=4, learning_rate=0.3, n_jobs=1, random_state=0, tree_method="hist")
    model.fit(inputs.to_numpy()[valid], y)
    per_class = {  # made-up but plausible: the panel shows a per-label F1
        tag: {
            "precision": 0.7,
            "recall": 0.6,
            "f1": round(0.5 + 0.4 * i / max(1, len(classes)), 3),
            "support": int((y_tags == tag).sum()),
        }
        for i, tag in enumerate(classes)
    }
    meta = BundleMeta(
        model_version=PERF_MODEL_VERSION,
        model_type="xgboost",
        pair=pair,
        timeframe=timeframe,
        mode="bio",
        classes=classes,
        labels=pattern_labels(classes, config.labeling.labels),
        base_feature_columns=base,
        feature_columns=list(inputs.columns),
        pipeline_config=config.to_dict(),
        metrics={"validation": {"f1_macro": 0.6}, "test": {"f1_macro": 0.55}, "per_class": per_class},
        dataset_version="web-e2e",
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    save_bundle(config.data.bundle_dir(partition), meta, model)
    print(
        f"# fixture: {len(candles)} candles, {len(planted)} planted spans, model on {len(y)} rows, "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--mode", choices=MODES, default="pipeline", help="pipeline (default) or perf: see the module doc"
    )
    parser.add_argument("--pair", default="EURUSD")
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--candles", type=int, help="default: 4000 (pipeline), 50000 (perf)")
    parser.add_argument("--train", type=int, default=8_000, help="perf: candles the model trains on")
    parser.add_argument("--model-type", default="xgboost", help="pipeline: the model the pipeline trains")
    args = parser.parse_args(argv)
    n_candles = args.candles or DEFAULT_CANDLES[args.mode]
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "pipeline.yaml"
    wanted = yaml.safe_dump(fixture_config(out, args.pair, args.timeframe, args.model_type, args.mode), sort_keys=False)
    stamp, made_by = out / "e2e_fixture.txt", f"--mode {args.mode} --candles {n_candles} --train {args.train}\n"
    bundle = out / "models" / f"{args.pair}_{args.timeframe}" / "bundle.json"
    found = [path.read_text() if path.exists() else None for path in (config_path, stamp)]
    if found == [wanted, made_by] and bundle.exists():
        print(config_path)
        return 0
    stamp.unlink(missing_ok=True)
    config_path.write_text(wanted)
    if args.mode == "perf":
        build_for_perf(config_path, args.pair, args.timeframe, n_candles, args.train)
    else:
        build_with_pipeline(config_path, n_candles)
    stamp.write_text(made_by)
    print(config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
