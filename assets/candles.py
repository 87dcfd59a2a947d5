"""`raw_candles`: a partition's raw CSV/Parquet, normalised and validated, stored as Parquet."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.execution import queue_tags
from assets.metadata import frame_metadata, price_chart
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.candles import find_raw_file, read_raw_candles, write_candles
from ml_platform.features.descriptions import CANDLE_COLUMN_DESCRIPTIONS
from resources.pipeline import PipelineResource


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    group_name="candles",
    op_tags=queue_tags("default"),
    kinds={"pandas", "parquet"},
    description="Raw OHLCV from data.raw_path, normalised to epoch-second times and float prices, validated.\n\n"
    "Automation: raw_data_sensor (on by default) materializes it for each partition whose raw file is new "
    "or changed; enriched_features, labeled_windows and trained_model then follow (automation_condition_sensor).",
)
def raw_candles(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load()
    partition = partition_of(context)
    source = find_raw_file(config.data.raw_dir, partition.stem)
    candles = read_raw_candles(source, ohlc_inconsistency=config.data.validation.ohlc_inconsistency)
    path = write_candles(candles, config.data.partition_file("candles", partition))
    context.log.info(f"{partition.key}: {len(candles)} candles from {source.name} -> {path}")
    metadata = frame_metadata(candles, path, descriptions=CANDLE_COLUMN_DESCRIPTIONS)
    metadata["source"] = MetadataValue.path(str(source))
    metadata["close_price_chart"] = price_chart(candles, f"{partition.key} close")
    return MaterializeResult(metadata=metadata)
