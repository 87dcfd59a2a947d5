"""`pooled_model`: one model per timeframe fitted on several pairs' `labeled_windows` (``training.pool``).

Partitioned by timeframe alone; partition ``1h`` reads every member ``{PAIR}|1h`` of
`labeled_windows` (a `MultiToSingleDimensionPartitionMapping` on the ``timeframe`` dimension).
It writes ``{data.models_path}/POOLED_{TF}/`` (`ml_platform.training.pooled_train`); the bundle
model source serves the pool's champion for a member partition without a champion of its own
(``training.pool.serve: fallback``) or for every member (``prefer``), and ``/model/info`` shows
which (``name`` ``POOLED_{TF}``, ``pooled_from``).
"""

import warnings
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    BetaWarning,
    Failure,
    MaterializeResult,
    MetadataValue,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionsDefinition,
    asset,
)

from assets.execution import queue_tags
from assets.metadata import records_table
from ml_platform.config import PipelineConfig
from ml_platform.partitions import TIMEFRAMES
from ml_platform.training.dataset import TrainingDataError
from ml_platform.training.pooled_train import PoolResult, pool_dir, pool_partitions, pool_timeframes, train_pool
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

TIMEFRAME_PARTITIONS = StaticPartitionsDefinition(list(TIMEFRAMES))
with warnings.catch_warnings():  # beta in 1.13, and the one mapping from PAIR|TF partitions to TF partitions
    warnings.simplefilter("ignore", BetaWarning)
    BY_TIMEFRAME = MultiToSingleDimensionPartitionMapping("timeframe")
LABELED_WINDOWS = AssetKey("labeled_windows")

MEMBER_COLUMNS = (
    ("member", "text", "PAIR|TF of a member partition"),
    ("train_spans", "int", "annotated spans of the member in the training part"),
    ("validation_span_f1", "float", "span F1 (IoU >= 0.5) on the member's own validation part"),
    ("test_span_f1", "float", "span F1 on the member's own test part"),
    ("test_f1_macro", "float", "per-candle F1 macro on the member's own test part"),
)


def build_pooled_model(config: PipelineConfig):  # noqa: ANN201 (Dagster's decorated asset type)
    """The `pooled_model` asset, eager (follows `labeled_windows`).

    `assets.definitions.build_definitions` adds it only when ``training.pool.enabled``.
    """

    @asset(
        name="pooled_model",
        partitions_def=TIMEFRAME_PARTITIONS,
        deps=[AssetDep(LABELED_WINDOWS, partition_mapping=BY_TIMEFRAME)],
        group_name="models",
        op_tags=queue_tags("train"),
        kinds={"xgboost", "scikitlearn", "mlflow"},
        automation_condition=AutomationCondition.eager(),
        description="One model per timeframe fitted on the labeled_windows of several pairs (training.pool: off by "
        "default; training.pool.pairs the members). Written to data.models_path/POOLED_{TF}/ and promoted when not "
        "worse; served for a member without a champion of its own (training.pool.serve: fallback) or for every "
        "member (prefer). /model/info names the pool and its members. Tracked as an MLflow run and a training_runs "
        "row with pair POOLED.",
    )
    def pooled_model(
        context: AssetExecutionContext,
        pipeline: PipelineResource,
        mlflow: MlflowResource,
        run_store: RunStoreResource,
    ) -> MaterializeResult:
        config = pipeline.load()
        timeframe = str(context.partition_key)
        if timeframe not in pool_timeframes(config):
            raise Failure(
                f"no pooled model for {timeframe}: training.pool.enabled is {config.training.pool.enabled} and "
                f"training.pool.timeframes is {config.training.pool.timeframes or 'every configured timeframe'} "
                f"(configured: {config.partitions.timeframes}). Set them in the pipeline config to pool {timeframe}."
            )
        members = [p.key for p in pool_partitions(config, timeframe)]
        context.log.info(f"pooled model of {timeframe}: members {members}")
        store = run_store.store(config)
        try:
            result = train_pool(
                config,
                timeframe,
                tracker=mlflow.tracker(config),
                run_store=store,
                dagster_run_id=context.run_id,
            )
        except TrainingDataError as exc:
            raise Failure(f"pooled model of {timeframe} ({', '.join(members)}): {exc}") from exc
        finally:
            store.dispose()
        context.log.info(
            f"pooled model {result.meta.model_version} of {result.meta.pooled_from}: promoted {result.promoted}"
            + (f"; left out {sorted(result.skipped)}" if result.skipped else "")
        )
        return MaterializeResult(metadata=pooled_metadata(config, timeframe, result))

    return pooled_model


def pooled_metadata(config: PipelineConfig, timeframe: str, result: PoolResult) -> dict[str, Any]:
    """Version, promotion, the pool's scores and one row per member (its own validation and test parts)."""
    meta = result.meta
    members = meta.metrics.get("members", {})
    rows = [
        {
            "member": key,
            "train_spans": members[key].get("train_spans"),
            "validation_span_f1": _score(members[key], "validation", "span_f1"),
            "test_span_f1": _score(members[key], "test", "span_f1"),
            "test_f1_macro": _score(members[key], "test", "f1_macro"),
        }
        for key in meta.pooled_from
        if key in members
    ]
    metadata: dict[str, Any] = {
        "model_version": MetadataValue.text(meta.model_version),
        "promoted": MetadataValue.bool(result.promoted),
        "pooled_from": MetadataValue.text(", ".join(meta.pooled_from)),
        "members": records_table(rows, MEMBER_COLUMNS),
        "bundle": MetadataValue.path(str(pool_dir(config, timeframe))),
        "serve": MetadataValue.text(
            f"training.pool.serve: {config.training.pool.serve} (fallback: members without a champion of their own)"
        ),
        "mlflow_run_id": MetadataValue.text(result.mlflow_run_id or "not tracked"),
    }
    for part in ("validation", "test"):
        value = _score(meta.metrics, part, "span_f1")
        if value is not None:
            metadata[f"{part}_span_f1"] = MetadataValue.float(value)
    if result.skipped:
        metadata["left_out"] = MetadataValue.json(result.skipped)
    return metadata


def _score(scores: dict[str, Any], part: str, name: str) -> float | None:
    value = scores.get(part, {}).get(name)
    return None if value is None else round(float(value), 4)
