"""Asset checks: each calls one pure validator from `ml_platform.quality` and sets the severity."""

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from assets.candles import raw_candles
from assets.features import enriched_features
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS
from ml_platform import quality
from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import Store
from ml_platform.partitions import Partition
from resources.pipeline import PipelineResource


def _load(
    context: AssetCheckExecutionContext, pipeline: PipelineResource, store: Store
) -> tuple[pd.DataFrame, Partition, float]:
    config = pipeline.load()
    partition = Partition.from_key(str(context.partition_key))
    frame = pd.read_parquet(config.data.partition_file(store, partition))
    return frame, partition, config.data.validation.max_gap_multiple


def _result(outcome: quality.CheckOutcome, severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    return AssetCheckResult(
        passed=outcome.passed, severity=severity, description=outcome.description, metadata=outcome.metadata
    )


@asset_check(
    asset=raw_candles,
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    blocking=True,
    description="Times are strictly increasing.",
)
def time_strictly_increasing(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    frame, _, _ = _load(context, pipeline, "candles")
    return _result(quality.check_strictly_increasing(frame["time"].to_numpy()))


@asset_check(
    asset=raw_candles, partitions_def=PAIR_TIMEFRAME_PARTITIONS, blocking=True, description="No timestamp occurs twice."
)
def no_duplicate_times(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    frame, _, _ = _load(context, pipeline, "candles")
    return _result(quality.check_no_duplicates(frame["time"].to_numpy()))


@asset_check(
    asset=raw_candles,
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="high and low enclose open and close on every candle.",
)
def ohlc_consistent(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    frame, _, _ = _load(context, pipeline, "candles")
    return _result(quality.check_ohlc_consistency(frame))


@asset_check(
    asset=raw_candles,
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="No gap between candles longer than data.validation.max_gap_multiple timeframes.",
)
def no_large_gaps(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    frame, partition, max_multiple = _load(context, pipeline, "candles")
    outcome = quality.check_gaps(frame["time"].to_numpy(), partition.seconds, max_multiple)
    return _result(outcome, AssetCheckSeverity.WARN)


@asset_check(
    asset=enriched_features,
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    blocking=True,
    description="No NaN or inf in any feature column.",
)
def features_finite(context: AssetCheckExecutionContext, pipeline: PipelineResource) -> AssetCheckResult:
    frame, _, _ = _load(context, pipeline, "features")
    feature_columns = [column for column in frame.columns if column not in CANONICAL_COLUMNS]
    return _result(quality.check_all_finite(frame, feature_columns))


RAW_CANDLE_CHECKS = [time_strictly_increasing, no_duplicate_times, ohlc_consistent, no_large_gaps]
FEATURE_CHECKS = [features_finite]
