"""The named jobs, the nightly retraining schedule, and the run requests other sensors can reuse.

Runs launched from a job's page (Jobs > candle_pipeline > Materialize) are listed under that
job; Dagster files runs launched from the global asset graph, by backfills or by automation
conditions under "Jobless asset materializations" whatever the jobs defined.
"""

from collections.abc import Iterable, Iterator

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from assets.candles import raw_candles
from assets.features import enriched_features
from assets.labels import labeled_windows
from assets.models import trained_model
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS

NIGHTLY_CRON = "0 2 * * *"  # 02:00 UTC

retrain_job = define_asset_job(
    "retrain_models",
    selection=AssetSelection.assets(trained_model),
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="Retrain trained_model for the requested partition(s). The nightly_retrain schedule runs it.",
)

pipeline_job = define_asset_job(
    "candle_pipeline",
    selection=AssetSelection.assets(raw_candles, enriched_features, labeled_windows, trained_model),
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="The whole pipeline of one partition: raw_candles, enriched_features, labeled_windows, "
    "trained_model (and their checks). Launch it from here so the run is listed under this job; materialize "
    "the unpartitioned annotations asset from its own page.",
)

relabel_job = define_asset_job(
    "relabel_and_retrain",
    selection=AssetSelection.assets(labeled_windows, trained_model),
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="labeled_windows then trained_model for the requested partition: what annotations_sensor "
    "launches when a partition's annotations change.",
)


def retrain_requests(partition_keys: Iterable[str], *, run_key_prefix: str, reason: str) -> Iterator[RunRequest]:
    """One `RunRequest` of `retrain_job` per partition key (``EURUSD|1h``), run keys ``{prefix}:{key}``."""
    for key in partition_keys:
        yield RunRequest(run_key=f"{run_key_prefix}:{key}", partition_key=str(key), tags={"retrain_reason": reason})


@schedule(
    job=retrain_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Retrain every pair x timeframe partition nightly (one run per partition).",
)
def nightly_retrain(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
    # build_schedule_from_partitioned_job does not take static x static partitions: one request per key instead.
    tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
    keys = [str(key) for key in PAIR_TIMEFRAME_PARTITIONS.get_partition_keys()]
    yield from retrain_requests(keys, run_key_prefix=f"nightly-{tick}", reason="nightly")
