"""The run-failure sensor: a failed Dagster run leaves no MLflow run RUNNING and no training_runs row ``running``.

When a run dies (an error, or its process killed: the code server or run monitoring marks it
failed, see ``run_monitoring`` in dagster.yaml), `close_failed_training` ends FAILED every MLflow
run tagged with its ``dagster_run_id`` that is still RUNNING, and marks ``failed`` (with the
reason) the ``training_runs`` rows still ``running`` that belong to it: the rows those MLflow
runs name (tag ``training_run_id``), and the rows of the run's partition created while it ran
that never got an MLflow run (a kill before the MLflow run opened; a row of another run of the
partition running at the same time gets its MLflow run id within a second, so it is left
alone). The champion pointer is not touched: it only moves at the end of a successful training
(ml_platform/bundle_store.py), so the previous one keeps serving. The registry alias, which moves
just before the pointer, is put back on the pointer's version when the dead run moved it and died
before writing ``champion.json`` (`restore_champion_alias`): ``champion.json`` is the commit.

The sensor starts RUNNING (switch it off in the UI: Automation, ``close_failed_training_runs``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from ml_platform import bundle_store
from ml_platform.config import PipelineConfig, load_config
from ml_platform.db import RunStore, database_url
from ml_platform.partitions import Partition, PartitionError
from ml_platform.training.run_recovery import fail_runs_of_dagster_run, restore_uncommitted_alias
from ml_platform.training.tracking import Tracker, registered_model_name

PAIR_TAG = "dagster/partition/pair"
TIMEFRAME_TAG = "dagster/partition/timeframe"


def _partition(tags: dict[str, str]) -> Partition | None:
    pair, timeframe = tags.get(PAIR_TAG), tags.get(TIMEFRAME_TAG)
    if not (pair and timeframe):
        pair, _, timeframe = (tags.get("dagster/partition") or "").partition("|")
    try:
        return Partition(pair, timeframe) if pair and timeframe else None
    except PartitionError:
        return None


def close_failed_training(
    config: PipelineConfig,
    *,
    dagster_run_id: str,
    tags: dict[str, str],
    started_at: datetime | None,
    reason: str,
    ended_at: datetime | None = None,
    tracker: Tracker | None = None,
    store: RunStore | None = None,
) -> dict[str, list[str]]:
    """Close what the failed Dagster run `dagster_run_id` left open (see the module docstring).

    tags : the run's tags (its partition: ``dagster/partition/pair`` and ``…/timeframe``).
    started_at, ended_at : when the run started and failed (UTC; `ended_at` None: now); `started_at`
        None: only rows named by its MLflow runs are closed.
    tracker, store : default from `config` (``MLFLOW_TRACKING_URI``, ``DATABASE_URL`` apply).

    Returns ``{"mlflow_runs": [...], "training_runs": [...]}``: the ids closed.
    """
    tracker = tracker or Tracker.from_config(config)
    own_store = store is None
    store = store or RunStore(database_url(config))
    try:
        closed = fail_runs_of_dagster_run(tracker.uri, tracker.experiment_name, dagster_run_id, reason)
        row_ids = [c["training_run_id"] for c in closed if c["training_run_id"]]
        partition = _partition(tags)
        if partition is not None and started_at is not None:
            for row in store.list_runs(pair=partition.pair, timeframe=partition.timeframe, status="running"):
                created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
                if row.mlflow_run_id is None and started_at <= created <= (ended_at or datetime.now(UTC)):
                    row_ids.append(row.run_id)
        failed_rows = []
        for row_id in dict.fromkeys(row_ids):
            record = store.get(row_id)
            if record is not None and record.status == "running":
                store.fail(row_id, reason)
                failed_rows.append(row_id)
        return {"mlflow_runs": [c["mlflow_run_id"] for c in closed], "training_runs": failed_rows}
    finally:
        if own_store:
            store.dispose()


def _reason(context: RunFailureSensorContext) -> str:
    message = context.failure_event.message if context.failure_event is not None else None
    return f"Dagster run {context.dagster_run.run_id} failed: {message or 'its process died'}"


def restore_champion_alias(config: PipelineConfig, tags: dict[str, str]) -> tuple[str, str] | None:
    """The alias of the run's partition back on ``champion.json``'s version if a dead promotion left it ahead.

    See `ml_platform.training.run_recovery.restore_uncommitted_alias`; None when nothing moved (no
    partition in `tags`, registering off, or the alias already agrees or belongs to a finished run).
    """
    partition = _partition(tags)
    tracker = Tracker.from_config(config)
    if partition is None or not tracker.register:
        return None
    pointer = bundle_store.read_champion(config.data.bundle_dir(partition))
    return restore_uncommitted_alias(
        tracker.uri,
        registered_model_name(config, partition.pair, partition.timeframe),
        tracker.alias,
        pointer.registered_version if pointer is not None else None,
    )


def _close_failed_training_runs(context: RunFailureSensorContext) -> None:
    run = context.dagster_run
    record: Any = context.instance.get_run_record_by_id(run.run_id)
    started = record.start_time if record is not None else None
    ended = record.end_time if record is not None else None
    config = load_config()
    closed = close_failed_training(
        config,
        dagster_run_id=run.run_id,
        tags=dict(run.tags),
        started_at=datetime.fromtimestamp(started, UTC) if started else None,
        ended_at=datetime.fromtimestamp(ended, UTC) if ended else None,
        reason=_reason(context),
    )
    context.log.info(f"run {run.run_id}: closed {closed}")
    moved = restore_champion_alias(config, dict(run.tags))
    if moved is not None:
        context.log.warning(f"run {run.run_id}: alias moved back from v{moved[0]} to {moved[1] or 'nothing'}")


def build_close_failed_training_runs(minimum_interval_seconds: int = 30) -> Any:
    """The ``close_failed_training_runs`` sensor, evaluated at most every `minimum_interval_seconds`."""
    return run_failure_sensor(
        name="close_failed_training_runs",
        description="Ends FAILED the MLflow runs and marks failed the training_runs rows a failed Dagster run left "
        "open; puts the registry alias back on champion.json's version if the run died between the two.",
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=minimum_interval_seconds,
    )(_close_failed_training_runs)


close_failed_training_runs = build_close_failed_training_runs()
