"""The sensors: relabel and retrain on changed annotations; evaluate the assets' automation conditions.

`build_annotations_sensor` compares each partition's annotation hash with its cursor and
requests its job (``relabel_and_retrain``) for the partitions that changed. Its cursor
starts from the current state: on the first tick after it is switched on, a partition counts
as changed only when its annotations differ from those its latest ``labeled_windows`` was
built from (the ``annotations_hash`` that asset records); a partition never labelled, or
labelled before that hash was recorded, starts from the annotations as they are. Switching
the sensor on therefore requests nothing unless something changed.

`build_raw_data_sensor` watches ``data.raw_path`` (``{PAIR}_{TF}.csv|.parquet``; modification
time and size per file in its cursor) and materializes ``raw_candles`` for each partition whose
file is new or changed since its latest ``raw_candles``; the rest of the chain follows through
the eager automation conditions. A file name that is not a valid partition, or a pair or
timeframe that is not configured, is named in the skip reason and never becomes a partition.

`automation_sensor` evaluates the eager automation conditions of ``enriched_features``,
``labeled_windows`` and ``trained_model`` (each asset's Automation tab shows its evaluations).

Every sensor starts RUNNING (the loop closes with nobody touching Dagster); each can be switched
off under Automation in the UI, and stays off across restarts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.label_metadata import ANNOTATIONS_HASH_KEY, NO_ANNOTATIONS
from ml_platform.candles import RAW_SUFFIXES
from ml_platform.labeling import LabelingError, changed_partitions, load_annotations
from ml_platform.partitions import Partition
from resources.pipeline import PipelineResource

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

LABELED_WINDOWS = AssetKey("labeled_windows")
RAW_CANDLES = AssetKey("raw_candles")


def labelled_hashes(instance: DagsterInstance, partition_keys: list[str]) -> dict[str, str]:
    """``{partition: annotations hash}`` as recorded by each partition's latest labeled_windows.

    Partitions never labelled, or labelled before the hash was recorded, are left out.
    """
    recorded: dict[str, str] = {}
    for key in partition_keys:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=LABELED_WINDOWS, asset_partitions=[key]), limit=1
        ).records
        materialization = records[0].asset_materialization if records else None
        value = materialization.metadata.get(ANNOTATIONS_HASH_KEY) if materialization else None
        if value is not None:
            recorded[key] = str(value.value)
    return recorded


def initial_cursor(instance: DagsterInstance, annotations_path: object, partition_keys: list[str]) -> str:
    """The cursor a sensor starts from: what was labelled where recorded, else the annotations now."""
    current = load_annotations(annotations_path).partition_hashes()  # type: ignore[arg-type]
    baseline = {key: current[key] for key in partition_keys if key in current}
    for key, digest in labelled_hashes(instance, partition_keys).items():
        if digest == NO_ANNOTATIONS:
            baseline.pop(key, None)
        else:
            baseline[key] = digest
    return json.dumps(baseline, sort_keys=True)


def build_annotations_sensor(
    job: UnresolvedAssetJobDefinition, *, name: str = "annotations_sensor", minimum_interval_seconds: int = 30
) -> SensorDefinition:
    """A sensor requesting `job` for each partition whose annotations changed (cursor: per-partition hashes)."""

    @sensor(
        name=name,
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Relabels and retrains (job relabel_and_retrain) the partitions whose annotations changed in "
        "data.annotations_path. Starts from the current state: switching it on requests nothing unless "
        "annotations changed since the partitions were last labelled.",
    )
    def _annotations_sensor(context: SensorEvaluationContext, pipeline: PipelineResource):
        config = pipeline.load()
        keys_configured = list(config.partition_keys())
        try:
            previous = context.cursor
            if previous is None:
                previous = initial_cursor(context.instance, config.data.annotations_dir, keys_configured)
            keys, cursor = changed_partitions(previous, config.data.annotations_dir, keys_configured)
        except LabelingError as exc:  # a malformed or missing export: say so, keep the cursor
            return SkipReason(f"annotations not readable: {exc}")
        context.update_cursor(cursor)
        if not keys:
            return SkipReason("no partition's annotations changed")
        return [RunRequest(partition_key=key, tags={"retrain_reason": "annotations changed"}) for key in keys]

    return _annotations_sensor


def build_automation_sensor(selection: AssetSelection) -> AutomationConditionSensorDefinition:
    """The automation condition sensor of `selection`, named and described (RUNNING by default)."""
    return AutomationConditionSensorDefinition(
        "automation_condition_sensor",
        target=selection,
        default_status=DefaultSensorStatus.RUNNING,
        description="Evaluates the eager automation conditions: enriched_features and labeled_windows after "
        "raw_candles changes, trained_model after labeled_windows changes. On by default (switch it off "
        "here); each asset's Automation tab shows its evaluations.",
    )


def raw_file_state(raw_dir: Path) -> tuple[dict[str, list[int]], list[str]]:
    """``({file name: [mtime_ns, size]}, [bad file names])`` for the raw files in `raw_dir`.

    A file counts when its suffix is ``.csv`` or ``.parquet``; one whose stem is not ``{PAIR}_{TF}``
    with a valid pair and timeframe is listed as bad. Hidden files are ignored; a missing folder is empty.
    """
    state: dict[str, list[int]] = {}
    bad: list[str] = []
    if not raw_dir.is_dir():
        return state, bad
    for path in sorted(raw_dir.iterdir()):
        if path.name.startswith(".") or path.suffix not in RAW_SUFFIXES or not path.is_file():
            continue
        if raw_partition(path.name) is None:
            bad.append(path.name)
            continue
        stat = path.stat()
        state[path.name] = [stat.st_mtime_ns, stat.st_size]
    return state, bad


def raw_partition(name: str) -> Partition | None:
    """``EURUSD_1h.csv`` -> Partition("EURUSD", "1h"); None for a name that is not a valid partition file."""
    return Partition.from_stem(Path(name).stem)


def _materialized_at(instance: DagsterInstance, key: str) -> float | None:
    """Timestamp (epoch seconds) of the partition's latest raw_candles materialization, if any."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=RAW_CANDLES, asset_partitions=[key]), limit=1
    ).records
    return records[0].timestamp if records else None


def build_raw_data_sensor(*, name: str = "raw_data_sensor", minimum_interval_seconds: int = 30) -> SensorDefinition:
    """A sensor materializing ``raw_candles`` for each partition whose raw file is new or changed.

    Cursor: JSON ``{file name: [mtime_ns, size]}``. With no cursor (first tick, or after a reset) a
    file counts as changed when it is newer than its partition's latest raw_candles (or never
    loaded), so switching the sensor on or restarting the daemon neither loses nor repeats a file.
    """

    @sensor(
        name=name,
        asset_selection=[RAW_CANDLES],
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Materializes raw_candles for each partition whose file in data.raw_path "
        "({PAIR}_{TF}.csv or .parquet) is new or changed (modification time and size); enriched_features, "
        "labeled_windows and trained_model follow through their eager automation conditions. File names "
        "that are not a configured pair and timeframe are named in the skip reason.",
    )
    def _raw_data_sensor(context: SensorEvaluationContext, pipeline: PipelineResource):
        config = pipeline.load()
        configured = set(config.partition_keys())
        state, bad = raw_file_state(config.data.raw_dir)
        previous = _parse_state(context.cursor)
        requests: dict[str, RunRequest] = {}
        unconfigured: list[str] = []
        for file_name, (mtime_ns, size) in state.items():
            partition = raw_partition(file_name)
            assert partition is not None  # raw_file_state kept valid names only
            if partition.key not in configured:
                unconfigured.append(file_name)
                continue
            if context.cursor is None:
                loaded = _materialized_at(context.instance, partition.key)
                changed = loaded is None or mtime_ns / 1e9 > loaded
            else:
                changed = previous.get(file_name) != [mtime_ns, size]
            if changed:
                requests[partition.key] = RunRequest(
                    run_key=f"raw:{file_name}:{mtime_ns}:{size}",
                    partition_key=partition.key,
                    tags={"retrain_reason": f"raw file changed: {file_name}"},
                )
        context.update_cursor(json.dumps(state, sort_keys=True))
        notes = []
        if bad:
            notes.append(f"not a {{PAIR}}_{{TF}}.csv|.parquet partition file, ignored: {', '.join(bad)}")
        if unconfigured:
            notes.append(f"pair or timeframe not configured (partitions in config), ignored: {', '.join(unconfigured)}")
        if requests:
            for note in notes:
                context.log.warning(note)
            return list(requests.values())
        return SkipReason("; ".join(["no raw file changed", *notes]))

    return _raw_data_sensor


def _parse_state(cursor: str | None) -> dict[str, list[int]]:
    """The raw-data sensor's cursor (empty when absent or unreadable)."""
    try:
        value = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    return {str(k): [int(x) for x in v] for k, v in value.items()} if isinstance(value, dict) else {}
