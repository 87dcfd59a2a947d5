"""`enriched_features`: TA-Lib indicators, candle geometry, rolling candle averages and custom features per candle."""

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from assets.candles import raw_candles
from assets.execution import queue_tags
from assets.metadata import frame_metadata
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.features import build_features
from ml_platform.features.descriptions import feature_descriptions
from ml_platform.storage import write_parquet_atomic
from resources.pipeline import PipelineResource


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    deps=[raw_candles],
    group_name="features",
    op_tags=queue_tags("default"),
    kinds={"pandas", "parquet"},
    automation_condition=AutomationCondition.eager(),
    description="Raw candles plus the configured features; the indicators' warm-up rows are dropped. "
    "Every column's meaning is in the column schema (Overview > Columns).\n\n"
    "Automation: eager (rebuilt after raw_candles changes), evaluated by automation_condition_sensor, "
    "which is off until turned on under Automation; the Automation tab stays empty until then.",
)
def enriched_features(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load()
    partition = partition_of(context)
    candles = pd.read_parquet(config.data.partition_file("candles", partition))
    result = build_features(candles, config)
    path = write_parquet_atomic(result.frame, config.data.partition_file("features", partition))
    context.log.info(
        f"{partition.key}: {len(result.frame)} rows x {len(result.feature_columns)} features, "
        f"{result.warmup_rows} warm-up rows dropped -> {path}"
    )
    metadata = frame_metadata(result.frame, path, descriptions=feature_descriptions(config))
    metadata["warmup_rows_dropped"] = MetadataValue.int(result.warmup_rows)
    metadata["feature_columns"] = MetadataValue.json(result.feature_columns)
    return MaterializeResult(metadata=metadata)
