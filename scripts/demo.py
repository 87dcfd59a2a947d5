"""`make demo`: sample data, every asset for every partition, then a short summary.

Runs against the embedded defaults: SQLite Dagster storage under DAGSTER_HOME (so the
runs show up in `dagster dev`), files under data/. Each stage is materialized through
Dagster, exactly as the UI's Materialize button would, one partition at a time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from dagster import AssetKey, DagsterInstance, materialize
from tqdm import tqdm

from assets.definitions import defs
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, add_pairs
from ml_platform.config import PipelineConfig, load_config
from ml_platform.sample_data import write_sample_data
from ml_platform.sample_data.manifest import SampleDataOverwriteError
from ml_platform.training.pooled_train import pool_timeframes

# The runs' events still go to the instance (the UI shows them); the terminal gets warnings only.
_QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _assets_and_checks() -> list:
    return [*defs.assets, *(defs.asset_checks or [])]


def _partitioned_keys() -> tuple[list[AssetKey], list[AssetKey]]:
    """(the assets partitioned by pair x timeframe, the unpartitioned ones); `pooled_model` (by timeframe) is apart."""
    graph = defs.resolve_asset_graph()
    materializable = [key for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    partitioned = [key for key in materializable if graph.get(key).partitions_def == PAIR_TIMEFRAME_PARTITIONS]
    return partitioned, [key for key in materializable if not graph.get(key).is_partitioned]


def _materialize(instance: DagsterInstance, selection: Sequence[AssetKey], partition_key: str | None) -> None:
    result = materialize(
        _assets_and_checks(),
        selection=list(selection),
        partition_key=partition_key,
        instance=instance,
        resources=defs.resources,
        raise_on_error=False,
        run_config=_QUIET,
    )
    if not result.success:
        failures = [event.step_failure_data.error.to_string() for event in result.get_step_failure_events()]
        sys.exit(f"demo: materializing {partition_key or 'unpartitioned assets'} failed:\n" + "\n".join(failures))


def materialize_everything(instance: DagsterInstance, config: PipelineConfig, *, progress: bool = True) -> None:
    """Every unpartitioned asset once, then every partitioned asset for each partition, in order."""
    partitioned, unpartitioned = _partitioned_keys()
    add_pairs(instance, config.partitions.pairs)  # the pair dimension is dynamic: its keys live in the instance
    if unpartitioned:
        _materialize(instance, unpartitioned, None)
    for key in tqdm(config.partition_keys(), unit="partition", disable=not progress):
        _materialize(instance, partitioned, key)
    for timeframe in pool_timeframes(config):  # training.pool: one pooled model per timeframe, after its members
        _materialize(instance, [AssetKey("pooled_model")], timeframe)


def main() -> None:
    config = load_config()
    started = time.perf_counter()
    print("1/4 writing deterministic sample data …", flush=True)
    try:  # never replaces a raw file it did not write, unless `make demo FORCE=1` (--force)
        write_sample_data(config, force="--force" in sys.argv[1:])
    except SampleDataOverwriteError as exc:
        sys.exit(f"demo: {exc}")
    print(
        f"2/4 materializing every asset for {len(config.partition_keys())} partitions "
        "(candles, features, labels, a model each) …",
        flush=True,
    )
    with DagsterInstance.get() as instance:
        materialize_everything(instance, config)
    print("3/4 asking the inference service for a prediction …", flush=True)
    from scripts.demo_summary import print_prediction, print_summary

    print_prediction(config)
    print("4/4 summary", flush=True)
    print_summary(config)
    print(f"\ndone in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
