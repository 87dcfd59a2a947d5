"""The browser tests' data: sample candles, their features and a small trained model, in one folder.

Used by web/e2e/run.mjs only while the repository's own ``scripts/e2e_fixture.py`` does not
exist (that one is preferred). Same contract: run from the repository root as
``.venv/bin/python web/e2e/fixture.py --out DIR``; it writes into DIR

- ``pipeline.yaml``: every data path inside DIR (as tests/conftest.py ``write_config``);
- ``candles/EURUSD_1h.parquet`` (the raw_candles asset) and ``enriched/EURUSD_1h.parquet``;
- ``models/EURUSD_1h/`` (a model bundle: a small XGBoost trained on the planted patterns);
- ``annotations/`` (empty), ``labeled/`` (written by the labeled_windows asset later);

and prints the config's path as its last line. 50,000 hourly candles, so the browser test
can measure drawing predictions for 50k candles; the model trains on the first 8,000.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

PAIR, TIMEFRAME = "EURUSD", "1h"


def write_config(directory: Path) -> Path:
    data = {
        name: str(directory / folder)
        for name, folder in (
            ("raw_path", "raw"),
            ("raw_store", "candles"),
            ("enriched_path", "enriched"),
            ("labeled_path", "labeled"),
            ("models_path", "models"),
            ("annotations_path", "annotations"),
        )
    }
    data["ground_truth_path"] = str(directory / "ground_truth.json")
    raw = {
        "data": data,
        "partitions": {"pairs": [PAIR], "timeframes": [TIMEFRAME]},
        "mlflow": {
            "tracking_uri": f"sqlite:///{directory / 'mlflow.db'}",
            "artifact_location": str(directory / "mlartifacts"),
        },
        "database": {"url": f"sqlite:///{directory / 'training_runs.db'}"},
        "serving": {"reload_interval_seconds": 2, "max_candles": 20000, "batch_size": 5000},
    }
    path = directory / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--candles", type=int, default=50_000)
    parser.add_argument("--train", type=int, default=8_000, help="candles the model trains on")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from xgboost import XGBClassifier

    from ml_platform.bundle import BundleMeta, pattern_labels, save_bundle
    from ml_platform.candles import write_candles
    from ml_platform.config import load_config
    from ml_platform.features import build_features
    from ml_platform.model_inputs import bio_model_inputs
    from ml_platform.partitions import Partition
    from ml_platform.sample_data import generate_partition
    from ml_platform.storage import write_parquet_atomic

    out = args.out.resolve()
    for folder in ("candles", "enriched", "models", "annotations", "labeled", "raw"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    config_path = write_config(out)
    config = load_config(config_path)
    partition = Partition(PAIR, TIMEFRAME)

    candles, spans = generate_partition(PAIR, TIMEFRAME, n_candles=args.candles, seed=11)
    write_candles(candles, config.data.partition_file("candles", partition))
    features = build_features(candles, config)
    write_parquet_atomic(features.frame, config.data.partition_file("features", partition))

    tags = np.array(["O"] * len(candles), dtype=object)
    for span in spans:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    base = list(features.feature_columns)
    frame = features.frame.iloc[: args.train]
    row_tags = tags[features.warmup_rows : features.warmup_rows + len(frame)]
    inputs, valid = bio_model_inputs(frame, base, config.features.context)
    y_tags = row_tags[valid]
    classes = sorted(set(y_tags), key=lambda t: (t == "O", t))
    index = {tag: i for i, tag in enumerate(classes)}
    y = np.array([index[t] for t in y_tags])
    model = XGBClassifier(n_estimators=40, max_depth=4, learning_rate=0.3, n_jobs=1, random_state=0, tree_method="hist")
    model.fit(inputs.to_numpy()[valid], y)
    per_class = {
        tag: {
            "precision": 0.7,
            "recall": 0.6,
            "f1": round(0.5 + 0.4 * i / max(1, len(classes)), 3),
            "support": int((y_tags == tag).sum()),
        }
        for i, tag in enumerate(classes)
    }
    meta = BundleMeta(
        model_version="e2e-v1",
        model_type="xgboost",
        pair=PAIR,
        timeframe=TIMEFRAME,
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
        f"# fixture: {len(candles)} candles, {len(spans)} planted spans, model on {len(y)} rows, "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    print(config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
