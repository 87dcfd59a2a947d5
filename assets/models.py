"""`trained_model`: one model per pair x timeframe from `labeled_windows`, tracked in MLflow and training_runs."""

from typing import Any

from dagster import AssetExecutionContext, AssetKey, AutomationCondition, MaterializeResult, MetadataValue, asset

from assets.execution import queue_tags
from assets.metadata import records_table
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
    op_tags=queue_tags("train"),
    kinds={"xgboost", "scikitlearn", "mlflow"},
    automation_condition=AutomationCondition.eager(),
    description="A RandomForest/XGBoost model per partition: model bundle in data.models_path, MLflow run "
    "(registered, alias moved when not worse), training_runs row. mlflow_run links the run in the MLflow UI "
    "(mlflow.ui_url: start it with `make mlflow`).\n\n"
    "Automation (all on by default; each can be switched off under Automation): the backfill_{PAIR} schedules "
    "(from 02:00 UTC, 10 minutes apart, job candle_pipeline); annotations_sensor (job relabel_and_retrain) when a "
    "partition's annotations change; raw_data_sensor when a raw file changes; and an eager condition (after "
    "labeled_windows changes) evaluated by automation_condition_sensor.",
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


# The metrics table stays three columns wide so it fits the metadata pane; its schema says what the rows mean.
METRICS_HELP = (
    "f1_macro: F1 averaged over the classes, each weighing the same (validation's moves the alias); "
    "f1_weighted: weighted by support; span_*: predicted spans matching a true span of the same label "
    "at IoU >= 0.5 (precision over predicted, recall over true spans)"
)


def model_metadata(result: TrainingResult) -> dict[str, Any]:
    """Metrics and confusion tables, links to the MLflow run, its confusion matrix image and the registered version."""
    meta = result.meta
    parts = {part: meta.metrics[part] for part in ("validation", "test")}
    names = [name for name in parts["validation"] if not isinstance(parts["validation"][name], dict)]
    scores = [{"metric": name, **{part: _round(parts[part].get(name)) for part in parts}} for name in names]
    per_class = [
        {"class": cls, **{key: _round(values.get(key)) for key in ("precision", "recall", "f1", "support")}}
        for cls, values in meta.metrics["per_class"].items()
    ]
    confusion = confusion_rows(result.confusion)
    class_rows = [
        {"class": cls, **{part: counts.get(cls, 0) for part, counts in result.class_counts.items()}}
        for cls in result.class_counts.get("all", {})
    ]
    metadata: dict[str, Any] = {
        "model_version": MetadataValue.text(meta.model_version),
        "model_type": MetadataValue.text(meta.model_type),
        "bundle": MetadataValue.path(str(result.bundle_path)),
        "validation_f1_macro": MetadataValue.float(float(meta.metrics["validation"]["f1_macro"])),
        "test_f1_macro": MetadataValue.float(float(meta.metrics["test"]["f1_macro"])),
        "metrics": records_table(
            scores,
            [("metric", "string", METRICS_HELP), ("validation", "float", None), ("test", "float", None)],
        ),
        "per_class_metrics_test": records_table(
            per_class,
            [("class", "string", None)]
            + [(key, "float", None) for key in ("precision", "recall", "f1")]
            + [("support", "int", "test rows of the class")],
        ),
        "confusion_test": records_table(
            confusion,
            [
                ("true class", "string", None),
                ("rows", "int", "test rows of the class"),
                ("predicted right", "int", "recall: per_class_metrics_test"),
                ("mostly mistaken for", "string", "the class most often predicted instead (full matrix: the image)"),
            ],
        ),
        "class_counts": records_table(
            class_rows, [("class", "string", None)] + [(part, "int", None) for part in result.class_counts]
        ),
        "dataset_version": MetadataValue.text(meta.dataset_version),
        "rows": MetadataValue.int(int(result.dataset["rows"])),
        "training_run_id": MetadataValue.text(result.run_id),
        "mlflow_run_id": MetadataValue.text(result.mlflow_run_id),
        "registered_version": MetadataValue.text(meta.registered_version or "not registered (mlflow.register: false)"),
    }
    if "span_f1" in meta.metrics["test"]:
        metadata["test_span_f1"] = MetadataValue.float(float(meta.metrics["test"]["span_f1"]))
    if result.mlflow_run_url:
        metadata["mlflow_run"] = MetadataValue.url(result.mlflow_run_url)
        # a short Markdown image renders inline (the UI hides Markdown over 1,000 characters behind a button)
        metadata["confusion_matrix_image"] = MetadataValue.md(
            f"![confusion matrix, test part]({result.confusion_matrix_url})"
        )
    else:  # no MLflow UI configured (mlflow.ui_url empty, a file or database store)
        metadata["mlflow_run"] = MetadataValue.text(f"runs:/{result.mlflow_run_id} in {result.tracking_uri}")
    if result.registration is not None:
        metadata["registered_model"] = (
            MetadataValue.url(result.registered_model_url)
            if result.registered_model_url
            else MetadataValue.text(result.registration.name)
        )
        metadata["alias_moved"] = MetadataValue.bool(result.registration.promoted)
    # champion.json moved to this version: the inference service serves it (else the champion keeps serving)
    metadata["champion"] = MetadataValue.bool(result.promoted)
    return metadata


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def confusion_rows(confusion: dict[str, dict[str, int]], *, top: int = 1) -> list[dict[str, Any]]:
    """Per true class: its rows, how many were predicted right, and the class(es) most often predicted instead.

    A narrow table that fits the metadata pane whatever the number of classes (the full matrix
    of 17 BIO classes does not).
    """
    rows = []
    for true, predicted in confusion.items():
        total = sum(predicted.values())
        right = predicted.get(true, 0)
        wrong = sorted(((n, cls) for cls, n in predicted.items() if cls != true and n), reverse=True)[:top]
        rows.append(
            {
                "true class": true,
                "rows": total,
                "predicted right": right,
                "mostly mistaken for": ", ".join(f"{cls} {n}" for n, cls in wrong) or "none",
            }
        )
    return rows
