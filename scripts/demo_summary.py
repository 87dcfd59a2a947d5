"""What `make demo` prints at the end: per partition, what each stage produced, and where to look next."""

from __future__ import annotations

import pandas as pd

from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition


def _rows(path) -> str:
    return f"{len(pd.read_parquet(path, columns=['time'])):,}" if path.exists() else "-"


def print_summary(config: PipelineConfig) -> None:
    header = f"{'partition':<14} {'candles':>9} {'features':>9}"
    print(header)
    print("-" * len(header))
    for key in config.partition_keys():
        partition = Partition.from_key(key)
        candles = config.data.resolve("raw_store") / f"{partition.stem}.parquet"
        enriched = config.data.resolve("enriched_path") / f"{partition.stem}.parquet"
        print(f"{key:<14} {_rows(candles):>9} {_rows(enriched):>9}")
    print(
        "\nNext: `make dagster` opens the Dagster UI (http://127.0.0.1:3000) with these runs;"
        "\n`dagster asset materialize -m assets.definitions --select raw_candles,enriched_features "
        "--partition 'EURUSD|1h'` re-runs one partition."
    )
