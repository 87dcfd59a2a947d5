"""The `pair x timeframe` partitions every asset shares (keys read ``EURUSD|1h``)."""

from __future__ import annotations

from dagster import AssetExecutionContext, MultiPartitionsDefinition, StaticPartitionsDefinition

from ml_platform.config import PipelineConfig, load_config
from ml_platform.partitions import Partition


def build_partitions(config: PipelineConfig) -> MultiPartitionsDefinition:
    """One partition per configured pair and timeframe."""
    return MultiPartitionsDefinition(
        {
            "pair": StaticPartitionsDefinition(list(config.partitions.pairs)),
            "timeframe": StaticPartitionsDefinition(list(config.partitions.timeframes)),
        }
    )


PAIR_TIMEFRAME_PARTITIONS = build_partitions(load_config())


def partition_of(context: AssetExecutionContext) -> Partition:
    """The validated `Partition` of the run's partition key."""
    return Partition.from_key(str(context.partition_key))
