"""The sensors: relabel and retrain on changed annotations; evaluate the assets' automation conditions.

`build_annotations_sensor` compares each partition's annotation hash with its cursor and
requests its job (``relabel_and_retrain``) for the partitions that changed. Its cursor
starts from the current state: on the first tick after it is switched on, a partition counts
as changed only when its annotations differ from those its latest ``labeled_windows`` was
built from (the ``annotations_hash`` that asset records); a partition never labelled, or
labelled before that hash was recorded, starts from the annotations as they are. Switching
the sensor on therefore requests nothing unless something changed.

`automation_sensor` evaluates the eager automation conditions of ``enriched_features`` and
``trained_model`` (each asset's Automation tab shows its evaluations). It starts stopped, like
Dagster's default automation sensor it replaces, so nothing rebuilds behind a user's back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.label_metadata import ANNOTATIONS_HASH_KEY, NO_ANNOTATIONS
from ml_platform.labeling import LabelingError, changed_partitions, load_annotations
from resources.pipeline import PipelineResource

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

LABELED_WINDOWS = AssetKey("labeled_windows")


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
    """The automation condition sensor of `selection`, named and described (stopped until switched on)."""
    return AutomationConditionSensorDefinition(
        "automation_condition_sensor",
        target=selection,
        description="Evaluates the eager automation conditions: enriched_features after raw_candles changes, "
        "trained_model after labeled_windows changes. Off by default; each asset's Automation tab shows "
        "its evaluations once it runs.",
    )
