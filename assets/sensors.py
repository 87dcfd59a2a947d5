"""The sensors: relabel and retrain on changed annotations; evaluate the assets' automation conditions.

`build_annotations_sensor` compares each partition's annotation hash with its cursor and
requests its job (``relabel_and_retrain``) for the partitions that changed. Its cursor
starts from the current state: on the first tick after it is switched on, a partition counts
as changed only when its annotations differ from those its latest ``labeled_windows`` was
built from (the ``annotations_hash`` that asset records); a partition never labelled, or
labelled before that hash was recorded, starts from the annotations as they are. Switching
the sensor on therefore requests nothing unless something changed. Its partitions are the
configured timeframes of every pair the instance knows (`known_pairs`: the configured ones and
those added by `raw_data_sensor`), so a pair added without a redeploy is relabelled too.

`build_raw_data_sensor` watches ``data.raw_path`` (``{PAIR}_{TF}.csv|.parquet``; modification
time and size per file in its cursor) and materializes ``raw_candles`` for each partition whose
file is new or changed since its latest ``raw_candles``; the rest of the chain follows through
the eager automation conditions. A file of a pair the instance does not know yet, with a
configured timeframe, adds the pair (an ``AddDynamicPartitionsRequest`` of the ``pair``
dimension, applied before the tick's runs are launched): dropping ``XRPUSD_1h.csv`` into the
folder is how a pair is added without a redeploy. A file name that is not a valid partition, or
a timeframe that is not configured, is named in the skip reason and never becomes a partition.

Both sensors also add the configured pairs the instance lacks (the config seeds the set).

`automation_sensor` evaluates the eager automation conditions of ``enriched_features``,
``labeled_windows`` and ``trained_model`` (each asset's Automation tab shows its evaluations).

Every sensor starts RUNNING (the loop closes with nobody touching Dagster); each can be switched
off under Automation in the UI, and stays off across restarts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.label_metadata import ANNOTATIONS_HASH_KEY, NO_ANNOTATIONS
from assets.partitions import PAIR_DIMENSION, instance_pairs, known_pairs, missing_pairs
from ml_platform.candles import RAW_SUFFIXES
from ml_platform.labeling import LabelingError, changed_partitions, load_annotations
from ml_platform.partitions import Partition
from resources.pipeline import PipelineResource

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

LABELED_WINDOWS = AssetKey("labeled_windows")
RAW_CANDLES = AssetKey("raw_candles")


def partition_keys(pairs: Iterable[str], timeframes: Iterable[str]) -> list[str]:
    """Every ``PAIR|TF`` key of `pairs` x `timeframes`, pair by pair."""
    timeframes = list(timeframes)
    return [f"{pair}|{timeframe}" for pair in pairs for timeframe in timeframes]


def pair_requests(pairs: list[str]) -> list[AddDynamicPartitionsRequest]:
    """The request adding `pairs` to the ``pair`` dimension (none for no pairs)."""
    return [AddDynamicPartitionsRequest(partitions_def_name=PAIR_DIMENSION, partition_keys=pairs)] if pairs else []


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
        seed = pair_requests(missing_pairs(context.instance, config.partitions.pairs))
        known = partition_keys(known_pairs(context.instance, config), config.partitions.timeframes)
        try:
            previous = context.cursor
            if previous is None:
                previous = initial_cursor(context.instance, config.data.annotations_dir, known)
            keys, cursor = changed_partitions(previous, config.data.annotations_dir, known)
        except LabelingError as exc:  # a malformed or missing export: say so, keep the cursor
            return SensorResult(skip_reason=f"annotations not readable: {exc}", dynamic_partitions_requests=seed)
        if not keys:
            return SensorResult(
                skip_reason="no partition's annotations changed", cursor=cursor, dynamic_partitions_requests=seed
            )
        requests = [RunRequest(partition_key=key, tags={"retrain_reason": "annotations changed"}) for key in keys]
        return SensorResult(run_requests=requests, cursor=cursor, dynamic_partitions_requests=seed)

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

    Cursor: JSON ``{file name: [mtime_ns, size]}`` (files of a timeframe not configured left out, so
    they count as new once it is). With no cursor (first tick, or after a reset) a file counts as
    changed when it is newer than its partition's latest raw_candles (or never loaded), so switching
    the sensor on or restarting the daemon neither loses nor repeats a file. The pairs of the files
    and of the config that the instance lacks are added in the same tick, before its runs launch.
    """

    @sensor(
        name=name,
        asset_selection=[RAW_CANDLES],
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=DefaultSensorStatus.RUNNING,
        description="Materializes raw_candles for each partition whose file in data.raw_path "
        "({PAIR}_{TF}.csv or .parquet) is new or changed (modification time and size); enriched_features, "
        "labeled_windows and trained_model follow through their eager automation conditions. The file of a "
        "new pair (with a configured timeframe) adds the pair to the pair partitions: no redeploy. File names "
        "that are not {PAIR}_{TF}, or whose timeframe is not configured, are named in the skip reason.",
    )
    def _raw_data_sensor(context: SensorEvaluationContext, pipeline: PipelineResource):
        config = pipeline.load()
        timeframes = set(config.partitions.timeframes)
        held = set(instance_pairs(context.instance))
        new_pairs = [pair for pair in config.partitions.pairs if pair not in held]  # the config seeds the set
        state, bad = raw_file_state(config.data.raw_dir)
        previous = _parse_state(context.cursor)
        requests: dict[str, RunRequest] = {}
        unconfigured: list[str] = []
        for file_name, (mtime_ns, size) in state.items():
            partition = raw_partition(file_name)
            assert partition is not None  # raw_file_state kept valid names only
            if partition.timeframe not in timeframes:  # left out of the cursor: new once the timeframe is configured
                unconfigured.append(file_name)
                continue
            if partition.pair not in held and partition.pair not in new_pairs:
                new_pairs.append(partition.pair)  # a pair added by its file: no redeploy
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
        added = f"pairs added: {', '.join(new_pairs)}" if new_pairs else None
        ignored = []
        if bad:
            ignored.append(f"not a {{PAIR}}_{{TF}}.csv|.parquet partition file, ignored: {', '.join(bad)}")
        if unconfigured:
            ignored.append(
                f"timeframe not configured (partitions.timeframes: {', '.join(config.partitions.timeframes)}), "
                f"ignored: {', '.join(unconfigured)}"
            )
        cursor = json.dumps({name: value for name, value in state.items() if name not in unconfigured}, sort_keys=True)
        pairs = pair_requests(new_pairs)
        if requests:
            if added:
                context.log.info(added)
            for note in ignored:
                context.log.warning(note)
            return SensorResult(run_requests=list(requests.values()), cursor=cursor, dynamic_partitions_requests=pairs)
        notes = ["no raw file changed", *([added] if added else []), *ignored]
        return SensorResult(skip_reason="; ".join(notes), cursor=cursor, dynamic_partitions_requests=pairs)

    return _raw_data_sensor


def _parse_state(cursor: str | None) -> dict[str, list[int]]:
    """The raw-data sensor's cursor (empty when absent or unreadable)."""
    try:
        value = json.loads(cursor) if cursor else {}
    except json.JSONDecodeError:
        return {}
    return {str(k): [int(x) for x in v] for k, v in value.items()} if isinstance(value, dict) else {}
