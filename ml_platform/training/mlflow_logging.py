"""What one training run logs to MLflow, called inside the open run (`Tracker.run`).

`run_tags` are the tags the run opens with: the partition, the Dagster run (id and URL),
and a source name the runs table shows (``dagster trained_model EURUSD|4h``) instead of the
process's ``__main__.py``. Then, in the order `train_partition` calls them: `log_dataset`
(the config, the dataset's summary and version, class counts, and the labeled file as an
MLflow dataset input named after the partition with its version as digest, so the runs
table's Dataset column shows it) before the fit, so a failed fit's run still says what it
was given; `log_fit` (hyperparameters and every metric); `log_artifacts` (confusion matrix,
feature importance, classification report); `log_and_register` (the model, its registered
version and the alias promotion, with descriptions on the registered model and the
version); `describe_run` (the run's description, ``mlflow.note.content``: the partition, a
link to the Dagster run and the key metrics, since the runs table shows no metric column
until one is picked).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import yaml

from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition
from ml_platform.training import evaluation
from ml_platform.training.dataset import Dataset
from ml_platform.training.fit import FittedModel, feature_importances, flat_metrics, promotion_score
from ml_platform.training.tracking import Registration, Tracker, log_model, register_model, registered_model_name

DESCRIPTION_TAG = "mlflow.note.content"
CONFUSION_PREVIEW_FILE = "confusion_matrix_preview.png"  # a small copy the Dagster metadata shows inline
PREVIEW_WIDTH = 560
KEY_METRICS = ("f1_macro", "accuracy", "span_f1")


def source_name(partition: Partition, dagster_run_id: str | None) -> str:
    """What the runs table's Source column shows (no ``/``: the UI would keep only the last part)."""
    return f"dagster trained_model {partition.key}" if dagster_run_id else f"ml_platform.training {partition.key}"


def run_tags(
    config: PipelineConfig,
    partition: Partition,
    *,
    tracker: Tracker,
    dagster_run_id: str | None,
    training_run_id: str,
    labeling_mode: str,
) -> dict[str, str]:
    """The tags a training run opens with, its first description among them."""
    tags = {
        "pair": partition.pair,
        "timeframe": partition.timeframe,
        "partition": partition.key,
        "dagster_run_id": dagster_run_id or "",
        "training_run_id": training_run_id,
        "model_type": config.training.model_type,
        "labeling_mode": labeling_mode,
        "mlflow.source.name": source_name(partition, dagster_run_id),
        "mlflow.source.type": "JOB",  # shown in full; LOCAL would keep the text after the last "/"
        DESCRIPTION_TAG: run_description(partition, config.training.model_type, tracker, dagster_run_id),
    }
    if dagster_run_id and tracker.dagster_ui_url:
        tags["dagster_run_url"] = tracker.dagster_run_url(dagster_run_id)
    return tags


def run_description(
    partition: Partition,
    model_type: str,
    tracker: Tracker,
    dagster_run_id: str | None,
    *,
    metrics: dict[str, Any] | None = None,
    registration: Registration | None = None,
) -> str:
    """Markdown: what was trained, by which Dagster run (a link), the key metrics and the registry outcome."""
    if dagster_run_id and tracker.dagster_ui_url:
        by = f"Dagster run [{dagster_run_id[:8]}]({tracker.dagster_run_url(dagster_run_id)})"
    elif dagster_run_id:
        by = f"Dagster run {dagster_run_id}"
    else:
        by = "ml_platform.training outside Dagster"
    lines = [f"**{partition.key}** {model_type} model, trained by {by} (asset `trained_model`)."]
    if metrics:
        cells = []
        for part in ("validation", "test"):
            shown = [f"{name} {metrics[part][name]:.4f}" for name in KEY_METRICS if name in metrics[part]]
            cells.append(f"{part}: " + ", ".join(shown))
        lines.append("Key metrics: " + "; ".join(cells) + ".")
    if registration is not None:
        outcome = (
            f"`{tracker.alias}` moved to it"
            if registration.promoted
            else f"`{tracker.alias}` stays on v{registration.previous_champion} (better validation f1_macro)"
        )
        lines.append(f"Registered as {registration.name} v{registration.version}: {outcome}.")
    return "\n\n".join(lines)


def describe_run(text: str) -> None:
    """Set the active run's description (the Overview tab and the runs table's Description column)."""
    import mlflow

    mlflow.set_tag(DESCRIPTION_TAG, text)


def log_dataset_input(frame: pd.DataFrame, *, partition: Partition, labeled_path: Path, version: str) -> None:
    """The labeled file as the run's training dataset: named ``{PAIR}_{TF} labeled``, digest its version.

    The digest is the DVC version without its ``dvc:`` prefix (MLflow keeps 36 characters) or
    the content hash; the input's tags carry the full version.
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    with warnings.catch_warnings():  # two equivalent local source types; the int columns' schema hint
        warnings.filterwarnings("ignore", message=r"(The specified dataset source|Hint: Inferred schema)")
        dataset = from_pandas(
            frame, source=str(labeled_path), name=f"{partition.stem} labeled", digest=version.removeprefix("dvc:")[:36]
        )
        mlflow.log_input(dataset, context="training", tags={"dataset_version": version, "partition": partition.key})


def log_dataset(
    config: PipelineConfig,
    dataset: Dataset,
    *,
    class_counts: dict[str, dict[str, int]],
    version_params: dict[str, str],
) -> dict[str, Any]:
    """Log the config (``pipeline_config.yaml``), ``dataset.*`` and ``class_count.*`` params, ``class_counts.json``.

    class_counts : `Dataset.class_counts`
    version_params : dict
        ``dataset.version_source``, ``dataset.content_hash`` and any ``dvc_*_md5`` params.

    Returns the dataset summary (`Dataset.summary`) that was logged.
    """
    import mlflow

    mlflow.log_text(yaml.safe_dump(config.to_dict(), sort_keys=False), "pipeline_config.yaml")
    summary = dataset.summary()
    mlflow.log_params({f"dataset.{k}": v for k, v in summary.items()})
    mlflow.log_params(version_params)
    mlflow.log_params({f"class_count.{cls}": n for cls, n in class_counts["all"].items()})
    mlflow.log_dict(class_counts, "class_counts.json")
    return summary


def log_fit(config: PipelineConfig, dataset: Dataset, fitted: FittedModel) -> None:
    """Log the model's hyperparameters (``model.*``), the settings that shaped it, and `flat_metrics`."""
    import mlflow

    mlflow.log_params(
        {
            **{f"model.{k}": v for k, v in fitted.hyperparameters.items()},
            "model_type": fitted.model_type.name,
            "class_weights": msgspec.json.encode(config.training.class_weights).decode(),
            "context.previous": config.features.context.previous,
            "context.next": config.features.context.next,
            "split.train": config.training.split.train,
            "split.validation": config.training.split.validation,
            "split.test": config.training.split.test,
            "n_features": len(dataset.feature_columns),
            "pipeline_config_hash": config.fingerprint(),
        }
    )
    mlflow.log_metrics(flat_metrics(fitted))


def log_artifacts(dataset: Dataset, fitted: FittedModel, *, title: str) -> bytes:
    """Log the confusion matrix, feature importance and classification report; return the confusion matrix PNG.

    title : str
        The plots' title, e.g. ``EURUSD|1h xgboost``.
    """
    import mlflow

    importances, names = feature_importances(fitted, dataset.feature_columns)
    with tempfile.TemporaryDirectory() as temp:
        artifacts = evaluation.write_artifacts(
            Path(temp),
            predictions=fitted.predictions,
            classes=dataset.classes,
            importances=np.asarray(importances),
            feature_names=names,
            title=title,
        )
        preview = thumbnail(artifacts.confusion_matrix, Path(temp) / CONFUSION_PREVIEW_FILE)
        for path in (
            artifacts.confusion_matrix,
            artifacts.feature_importance,
            artifacts.classification_report,
            preview,
        ):
            mlflow.log_artifact(str(path))
        return artifacts.confusion_matrix.read_bytes()


def thumbnail(source: Path, target: Path, *, width: int = PREVIEW_WIDTH) -> Path:
    """`source` scaled down to `width` pixels (never up): the image the Dagster metadata shows inline."""
    from PIL import Image

    with Image.open(source) as original:
        image = original.copy()
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    image.save(target, format="PNG", optimize=True)
    return target


def log_and_register(
    config: PipelineConfig,
    partition: Partition,
    fitted: FittedModel,
    *,
    tracker: Tracker,
    mlflow_run_id: str,
    before_promote: Callable[[], None] | None = None,
) -> Registration | None:
    """Log the model; when ``tracker.register``, register it and maybe move the alias (by validation F1 macro).

    `before_promote`: a test hook run between registering and moving the alias (`register_model`).

    Returns the registration (None when registering is off); its outcome is also set as
    the run's tags ``registered_model``, ``registered_version`` and ``alias.{alias}``.
    """
    import mlflow

    if fitted.mode == "span":  # a pyfunc wrapping SpanModel.load, so the registry has a version
        from ml_platform.training.span_pyfunc import log_span_model

        model_uri = log_span_model(fitted.estimator)
    else:
        model_uri = log_model(
            fitted.estimator,
            flavor=fitted.model_type.mlflow_flavor,
            trusted_types=list(fitted.model_type.trusted_types),
        )
    if not tracker.register:
        return None
    registration = register_model(
        tracker.uri,
        model_uri,
        registered_model_name(config, partition.pair, partition.timeframe),
        run_id=mlflow_run_id,
        alias=tracker.alias,
        score=promotion_score(fitted),
        before_promote=before_promote,
    )
    mlflow.set_tags(
        {
            "registered_model": registration.name,
            "registered_version": registration.version,
            f"alias.{tracker.alias}": str(registration.promoted).lower(),
        }
    )
    describe_registration(config, partition, fitted, tracker=tracker, registration=registration, run_id=mlflow_run_id)
    return registration


def describe_registration(
    config: PipelineConfig,
    partition: Partition,
    fitted: FittedModel,
    *,
    tracker: Tracker,
    registration: Registration,
    run_id: str,
) -> None:
    """Descriptions on the registered model (what it is, what the alias means) and on the new version."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracker.uri, registry_uri=tracker.uri)
    client.update_registered_model(
        registration.name,
        description=(
            f"Candle-pattern model of **{partition.key}**: one version per training of the Dagster asset "
            f"`trained_model` (partition {partition.key}). The alias `{tracker.alias}` points at the version "
            "with the best validation f1_macro so far (a tie moves it to the newer one); the inference service "
            f"loads `models:/{registration.name}@{tracker.alias}` when serving.model_source is mlflow."
        ),
    )
    validation = fitted.metrics["validation"]["f1_macro"]
    test = fitted.metrics["test"]["f1_macro"]
    outcome = "holds" if registration.promoted else f"did not take (v{registration.previous_champion} is better)"
    client.update_model_version(
        registration.name,
        registration.version,
        description=(
            f"{fitted.model_type.name} on {partition.key}: validation f1_macro {validation:.4f}, test f1_macro "
            f"{test:.4f}; `{tracker.alias}` {outcome}. Trained by MLflow run {run_id} "
            f"(model type {config.training.model_type})."
        ),
    )
