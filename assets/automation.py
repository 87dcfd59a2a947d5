"""The named jobs, the backfill schedules, and the run requests other sensors can reuse.

`build_pair_schedules` makes one schedule per configured pair (``backfill_{PAIR}``), staggered
``PAIR_STAGGER_MINUTES`` apart from 02:00 UTC, each running ``candle_pipeline`` (raw_candles ->
enriched_features -> labeled_windows -> trained_model) for every configured timeframe of that pair,
and one more, ``backfill_added_pairs``, in the next slot, for the pairs added to the Dagster
instance without being in the config (a new ``data/raw/{PAIR}_{TF}`` file, see `raw_data_sensor`):
it reads the instance's pairs on each tick, so a pair added without a redeploy is backfilled every
night like the others, one run per pair and configured timeframe. The per-pair schedules are built
from the config when the definitions load: a pair added to the config gets its own schedule (and
leaves ``backfill_added_pairs``) on the next code-location reload (Deployment > Reload, or a restart
of the code server). All start RUNNING.

Runs launched from a job's page (Jobs > candle_pipeline > Materialize) are listed under that
job; Dagster files runs launched from the global asset graph, by backfills or by automation
conditions under "Jobless asset materializations" whatever the jobs defined.
"""

from collections.abc import Iterable, Iterator

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from assets.candles import raw_candles
from assets.features import enriched_features
from assets.labels import labeled_windows
from assets.models import trained_model
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, instance_pairs
from ml_platform.config import PipelineConfig

PAIR_STAGGER_MINUTES = 10  # backfill_{PAIR} schedules start 02:00, 02:10, 02:20, ... UTC
ADDED_PAIRS_SCHEDULE = "backfill_added_pairs"  # the slot after the configured pairs' ones

retrain_job = define_asset_job(
    "retrain_models",
    selection=AssetSelection.assets(trained_model),
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    description="Retrain trained_model for the requested partition(s), from the data already labelled.",
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


def pair_cron(index: int) -> str:
    """The cron of the `index`-th pair's schedule: 02:00 UTC plus ``index * PAIR_STAGGER_MINUTES`` (mod 24 h)."""
    minutes = (2 * 60 + index * PAIR_STAGGER_MINUTES) % (24 * 60)
    return f"{minutes % 60} {minutes // 60} * * *"


def build_pair_schedule(pair: str, timeframes: Iterable[str], index: int) -> ScheduleDefinition:
    """``backfill_{PAIR}``: `pipeline_job` for each of the pair's timeframes (one run each), RUNNING by default."""
    keys = [f"{pair}|{timeframe}" for timeframe in timeframes]
    name = f"backfill_{pair.replace('-', '_')}"

    @schedule(
        name=name,
        job=pipeline_job,
        cron_schedule=pair_cron(index),
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Backfill {pair} through the whole chain (raw_candles, enriched_features, labeled_windows, "
        f"trained_model) for {', '.join(keys)}: one run per timeframe. Switch it off here.",
    )
    def _pair_schedule(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
        tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
        for key in keys:
            yield RunRequest(run_key=f"{name}-{tick}:{key}", partition_key=key, tags={"retrain_reason": "scheduled"})

    return _pair_schedule


def build_added_pairs_schedule(config: PipelineConfig, index: int) -> ScheduleDefinition:
    """``backfill_added_pairs``: `pipeline_job` for each pair the instance holds beyond the config's, per timeframe.

    The pairs are read from the instance on each tick (in the order they were added); the timeframes
    are the config's. Skips when no pair was added.
    """
    configured = set(config.partitions.pairs)
    timeframes = list(config.partitions.timeframes)

    @schedule(
        name=ADDED_PAIRS_SCHEDULE,
        job=pipeline_job,
        cron_schedule=pair_cron(index),
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Backfill, through the whole chain, every pair added to the instance without being in the config "
        f"(a new data/raw/{{PAIR}}_{{TF}} file): one run per pair and timeframe ({', '.join(timeframes)}). The "
        "configured pairs have a backfill_{PAIR} schedule each. Switch it off here.",
    )
    def _added_pairs_schedule(context: ScheduleEvaluationContext) -> list[RunRequest] | SkipReason:
        added = [pair for pair in instance_pairs(context.instance) if pair not in configured]
        if not added:
            return SkipReason("no pair added beyond partitions.pairs")
        tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
        keys = [f"{pair}|{timeframe}" for pair in added for timeframe in timeframes]
        return [
            RunRequest(
                run_key=f"{ADDED_PAIRS_SCHEDULE}-{tick}:{key}", partition_key=key, tags={"retrain_reason": "scheduled"}
            )
            for key in keys
        ]

    return _added_pairs_schedule


def build_pair_schedules(config: PipelineConfig) -> list[ScheduleDefinition]:
    """One staggered `build_pair_schedule` per configured pair, in config order, then `build_added_pairs_schedule`."""
    pairs = config.partitions.pairs
    return [
        *(build_pair_schedule(pair, config.partitions.timeframes, index) for index, pair in enumerate(pairs)),
        build_added_pairs_schedule(config, len(pairs)),
    ]
