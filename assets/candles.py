"""`raw_candles`: a partition's raw CSV/Parquet, normalised and validated, stored as Parquet."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.metadata import frame_metadata, price_plot
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.candles import find_raw_file, read_raw_candles, write_candles
from resources.pipeline import PipelineResource


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    group_name="candles",
    kinds={"pandas", "parquet"},
    description="Raw OHLCV from data.raw_path, normalised to epoch-second times and float prices, validated.",
)
def raw_candles(context: AssetExecutionContext, pipeline: PipelineResource) -> MaterializeResult:
    config = pipeline.load()
    partition = partition_of(context)
    source = find_raw_file(config.data.raw_dir, partition.stem)
    candles = read_raw_candles(source, ohlc_inconsistency=config.data.validation.ohlc_inconsistency)
    path = write_candles(candles, config.data.partition_file("candles", partition))
    context.log.info(f"{partition.key}: {len(candles)} candles from {source.name} -> {path}")
    metadata = frame_metadata(candles, path)
    metadata["source"] = MetadataValue.path(str(source))
    metadata["close"] = price_plot(candles, f"{partition.pair} {partition.timeframe} close")
    return MaterializeResult(metadata=metadata)
