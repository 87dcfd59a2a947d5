"""`trained_model`: one model per pair x timeframe from `labeled_windows`, tracked in MLflow and training_runs."""

import base64
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AutomationCondition, MaterializeResult, MetadataValue, asset

from assets.metadata import markdown_table
from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, partition_of
from ml_platform.training.train import TrainingResult, train_partition
from resources.mlflow import MlflowResource
from resources.pipeline import PipelineResource
from resources.run_store import RunStoreResource

LABELED_WINDOWS = AssetKey("labeled_windows")


@asset(
    partitions_def=PAIR_TIMEFRAME_PARTITIONS,
    deps=[LABELED_WINDOWS],
    group_name="models",
    kinds={"xgboost", "scikitlearn", "mlflow"},
    automation_condition=AutomationCondition.eager(),
    description="A RandomForest/XGBoost model per partition: model bundle in data.models_path, MLflow run "
    "(registered, alias moved when not worse), training_runs row.",
)
def trained_model(
    context: AssetExecutionContext, pipeline: PipelineResource, mlflow: MlflowResource, run_store: RunStoreResource
) -> MaterializeResult:
    config = pipeline.load()
    partition = partition_of(context)
    store = run_store.store(config)
    try:
        result = train_partition(
            config,
            partition,
            labeled_path=config.data.partition_file("labeled", partition),
            bundle_dir=config.data.bundle_dir(partition),
            run_store=store,
            tracker=mlflow.tracker(config),
            dagster_run_id=context.run_id,
        )
    finally:
        store.dispose()
    test = result.meta.metrics["test"]
    context.log.info(
        f"{partition.key}: {result.meta.model_type} test f1_macro {test['f1_macro']:.3f} -> {result.bundle_path}"
    )
    return MaterializeResult(metadata=model_metadata(result))


def model_metadata(result: TrainingResult) -> dict[str, Any]:
    """Metrics tables, the confusion matrix image, the MLflow run and the registered version."""
    import pandas as pd

    meta = result.meta
    parts = {part: meta.metrics[part] for part in ("validation", "test")}
    scores = pd.DataFrame(parts).T.rename_axis("part").reset_index()
    per_class = pd.DataFrame(meta.metrics["per_class"]).T.rename_axis("class (test)").reset_index()
    image = base64.b64encode(result.confusion_matrix_png).decode("ascii")
    metadata: dict[str, Any] = {
        "model_version": MetadataValue.text(meta.model_version),
        "model_type": MetadataValue.text(meta.model_type),
        "bundle": MetadataValue.path(str(result.bundle_path)),
        "validation_f1_macro": MetadataValue.float(float(meta.metrics["validation"]["f1_macro"])),
        "test_f1_macro": MetadataValue.float(float(meta.metrics["test"]["f1_macro"])),
        "metrics": MetadataValue.md(markdown_table(scores, max_columns=20)),
        "per_class_metrics": MetadataValue.md(markdown_table(per_class)),
        "confusion_matrix": MetadataValue.md(f"![confusion matrix](data:image/png;base64,{image})"),
        "class_counts": MetadataValue.json(result.class_counts),
        "dataset_version": MetadataValue.text(meta.dataset_version),
        "rows": MetadataValue.int(int(result.dataset["rows"])),
        "training_run_id": MetadataValue.text(result.run_id),
        "mlflow_run_id": MetadataValue.text(result.mlflow_run_id),
        "registered_version": MetadataValue.text(meta.registered_version or "not registered (mlflow.register: false)"),
    }
    if "span_f1" in meta.metrics["test"]:
        metadata["test_span_f1"] = MetadataValue.float(float(meta.metrics["test"]["span_f1"]))
    if result.tracking_uri.startswith(("http://", "https://")):
        metadata["mlflow_run"] = MetadataValue.url(
            f"{result.tracking_uri.rstrip('/')}/#/experiments/{result.experiment_id}/runs/{result.mlflow_run_id}"
        )
    else:
        metadata["mlflow_run"] = MetadataValue.md(
            f"`runs:/{result.mlflow_run_id}` in `{result.tracking_uri}`: open it with "
            f"`mlflow ui --backend-store-uri {result.tracking_uri}` then "
            f"`#/experiments/{result.experiment_id}/runs/{result.mlflow_run_id}`"
        )
    if result.registration is not None:
        metadata["registered_model"] = MetadataValue.text(result.registration.name)
        metadata["alias_moved"] = MetadataValue.bool(result.registration.promoted)
    return metadata
