"""A small, complete platform in one folder, for the browser tests: data, features, labels, a model.

    python -m scripts.e2e_fixture --out DIR [--pair EURUSD --timeframe 1h --candles 4000]

Writes a pipeline config whose every path lies in DIR (one partition, a small fast
model), sample data, then materializes every asset for that partition through Dagster
(an ephemeral instance) and prints the config's path: pass it as ML_PLATFORM_CONFIG to
`python -m serving`. Re-running on an existing DIR reuses it when the config matches.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml


def fixture_config(out: Path, pair: str, timeframe: str, model_type: str) -> dict:
    """Every data, MLflow and database path in `out`; one partition; a model that trains in seconds."""
    data = {
        name: str(out / folder)
        for name, folder in [
            ("raw_path", "raw"),
            ("raw_store", "candles"),
            ("enriched_path", "enriched"),
            ("labeled_path", "labeled"),
            ("models_path", "models"),
            ("annotations_path", "annotations"),
            ("ground_truth_path", "ground_truth.json"),
        ]
    }
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
        "serving": {"reload_interval_seconds": 1.0},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--pair", default="EURUSD")
    parser.add_argument("--timeframe", default="1h")
    parser.add_argument("--candles", type=int, default=4000)
    parser.add_argument("--model-type", default="xgboost")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "pipeline.yaml"
    wanted = yaml.safe_dump(fixture_config(out, args.pair, args.timeframe, args.model_type), sort_keys=False)
    bundle = out / "models" / f"{args.pair}_{args.timeframe}" / "bundle.json"
    if config_path.exists() and config_path.read_text() == wanted and bundle.exists():
        print(config_path)
        return 0
    config_path.write_text(wanted)
    # The partitions definition is read from ML_PLATFORM_CONFIG when `assets` is imported.
    os.environ["ML_PLATFORM_CONFIG"] = str(config_path)
    from dagster import DagsterInstance

    from ml_platform.config import load_config
    from ml_platform.sample_data import write_sample_data
    from scripts.demo import materialize_everything

    config = load_config(config_path)
    write_sample_data(config, n_candles=args.candles)
    with DagsterInstance.ephemeral() as instance:
        materialize_everything(instance, config, progress=False)
    print(config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
