"""Train one model for one pair x timeframe partition from its `labeled_windows` file.

`train_partition` is the entry point (the `trained_model` asset calls it). In order:

1. fail fast, before anything is recorded: an unknown model type, an unreachable MLflow
   store, a missing labeled file;
2. insert a ``running`` row in `training_runs` (an unreachable database fails here);
3. `prepare_dataset` (`dataset`): model inputs (`ml_platform.model_inputs`, the code
   serving uses), the chronological split with gaps (`split`), and the checks that need the
   data (one class only, too few rows, a class in validation/test that train never saw);
4. in one MLflow run: fit and evaluate (`fit`, class weights from `weights`), log
   params/metrics/artifacts, then, in the crash-consistent order (docs/DESIGN.md, "Model
   bundles"): write and fsync the bundle version folder ``versions/{model_version}/``
   (`ml_platform.bundle_store`); log the same files as the run's ``bundle/`` artifacts; log
   and register the model (`mlflow_logging`); promote: the alias when not worse, then
   ``champion.json``, last; prune old versions (``training.keep_bundles``). A worse model
   is recorded (run, registered version, bundle folder, row with ``promoted: false``) but
   the champion does not move, so it is not served;
5. complete the row; on any error mark it ``failed`` (and the MLflow run FAILED) and re-raise.
   A SIGKILL at any point leaves the previous champion served (``champion.json`` names only
   complete folders); the row and the MLflow run are closed by ``assets/run_failure.py``.
   ``champion.json`` is the commit: killed after the alias moved and before the pointer did, the
   alias is put back on the pointer's version by that sensor, or by the next training before it
   compares (`ml_platform.training.run_recovery.restore_uncommitted_alias`).

Dataset version: what DVC records for the partition's inputs (raw file and annotation
exports) when they are tracked and unchanged (`ml_platform.data_version`, ``dvc:…``), else
the SHA-256 of the labeled file's exact bytes (first 16 hex digits); the MLflow param
``dataset.version_source`` says which.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ml_platform import bundle_store
from ml_platform.bundle import BUNDLE_FILE, BundleMeta, load_meta, pattern_labels
from ml_platform.config import PipelineConfig
from ml_platform.data_version import resolve_dataset_version
from ml_platform.db import RunStore
from ml_platform.partitions import Partition
from ml_platform.training.dataset import (
    Dataset,
    TrainingDataError,
    dataset_version,
    excluded_patterns,
    prepare_dataset,
    read_labeled,
    select_base_columns,
)
from ml_platform.training.fit import (
    FittedModel,
    fit_and_evaluate,
    flat_metrics,
    metrics_summary,
    promotion_metric,
    promotion_score,
)
from ml_platform.training.mlflow_logging import (
    CONFUSION_PREVIEW_FILE,
    describe_run,
    log_and_register,
    log_artifacts,
    log_dataset,
    log_dataset_input,
    log_fit,
    run_description,
    run_tags,
)
from ml_platform.training.models import get_model_type
from ml_platform.training.run_recovery import restore_uncommitted_alias
from ml_platform.training.tracking import BUNDLE_ARTIFACT_PATH, Registration, Tracker, registered_model_name
from ml_platform.training.weights import class_weight_map

# The names callers imported from here before the split into modules (bench/, tests/).
__all__ = [
    "Dataset",
    "FittedModel",
    "TrainingDataError",
    "TrainingResult",
    "class_weight_map",
    "dataset_version",
    "excluded_patterns",
    "fit_and_evaluate",
    "flat_metrics",
    "metrics_summary",
    "prepare_dataset",
    "read_labeled",
    "select_base_columns",
    "train_partition",
]

logger = logging.getLogger(__name__)

KILL_AT_ENV = "ML_PLATFORM_TEST_KILL_AT"
"""Test hook (tests/reliability/): ``fit``, ``model_write``, ``before_promote`` or ``before_pointer`` makes the
training process SIGKILL itself at that point: before the fit (the MLflow run open, the row ``running``); with
the bundle in its temp folder before the rename into ``versions/``; after the model version is registered and
before the alias and ``champion.json`` move; after the alias moved and before ``champion.json`` does. Unset (the
default) it does nothing."""


def kill_point(name: str) -> None:
    """SIGKILL this process when ``ML_PLATFORM_TEST_KILL_AT`` equals `name` (see `KILL_AT_ENV`)."""
    if os.environ.get(KILL_AT_ENV, "").strip() == name:
        logger.warning("%s=%s: killing the training process (test hook)", KILL_AT_ENV, name)
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class TrainingResult:
    """What one `train_partition` call produced."""

    bundle_path: Path
    meta: BundleMeta
    run_id: str
    mlflow_run_id: str
    experiment_id: str
    registration: Registration | None
    dataset: dict[str, Any]
    class_counts: dict[str, dict[str, int]]
    confusion_matrix_png: bytes = field(repr=False)
    tracking_uri: str = ""
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # test part: true -> predicted -> count
    mlflow_run_url: str = ""  # the run in the MLflow UI (mlflow.ui_url); "" when no UI is configured
    confusion_matrix_url: str = ""  # a small copy of the confusion matrix PNG, as the MLflow UI serves it
    registered_model_url: str = ""
    promoted: bool = False  # champion.json moved to this version (it is served)


def train_partition(
    config: PipelineConfig,
    partition: Partition,
    *,
    labeled_path: Path,
    bundle_dir: Path,
    run_store: RunStore,
    tracker: Tracker,
    dagster_run_id: str | None = None,
    base_feature_columns: Sequence[str] | None = None,
) -> TrainingResult:
    """Train, evaluate, track, register and write the bundle of one partition (see the module docstring).

    Raises
    ------
    UnknownModelTypeError, TrackingUnavailableError, DatabaseUnavailableError,
    TrainingDataError, SplitError
        Each before anything is registered; the training_runs row (if one was inserted) is
        marked failed and the MLflow run (if one was opened) ends FAILED.
    """
    model_type = get_model_type(config.training.model_type)
    tracker.check()
    frame, content_hash = read_labeled(labeled_path)
    version = resolve_dataset_version(config, partition, content_hash=content_hash)
    run_id = run_store.start(
        pair=partition.pair,
        timeframe=partition.timeframe,
        model_type=model_type.name,
        experiment_name=tracker.experiment_name,
        pipeline_config_hash=config.fingerprint(),
        dataset_version=version.value,
    )
    try:
        result = _train_recorded(
            config,
            partition,
            frame,
            version.value,
            run_id,
            bundle_dir=bundle_dir,
            run_store=run_store,
            tracker=tracker,
            dagster_run_id=dagster_run_id,
            base_feature_columns=base_feature_columns,
            version_params=version.params,
            labeled_path=labeled_path,
        )
    except BaseException as exc:
        try:
            run_store.fail(run_id, f"{type(exc).__name__}: {exc}")
        except Exception:  # the database went away mid-run: the original error is what matters
            logger.exception("could not mark training run %s failed", run_id)
        raise
    return result


def _train_recorded(
    config: PipelineConfig,
    partition: Partition,
    frame: pd.DataFrame,
    version: str,
    run_id: str,
    *,
    bundle_dir: Path,
    run_store: RunStore,
    tracker: Tracker,
    dagster_run_id: str | None,
    base_feature_columns: Sequence[str] | None,
    version_params: dict[str, str],
    labeled_path: Path,
) -> TrainingResult:
    """Steps 3-5 of the module docstring, after the ``running`` row `run_id` was inserted."""
    dataset = prepare_dataset(frame, config, version=version, base_feature_columns=base_feature_columns)
    counts = dataset.class_counts()
    tags = run_tags(
        config,
        partition,
        tracker=tracker,
        dagster_run_id=dagster_run_id,
        training_run_id=run_id,
        labeling_mode=dataset.mode,
    )
    partition_dir = bundle_dir
    with tracker.run(run_name=f"{partition.stem}-{config.training.model_type}", tags=tags) as run:
        import mlflow

        mlflow_run_id = run.info.run_id
        run_store.set_mlflow_run(run_id, mlflow_run_id)
        summary = log_dataset(config, dataset, class_counts=counts, version_params=version_params)
        log_dataset_input(frame, partition=partition, labeled_path=labeled_path, version=version)
        kill_point("fit")
        fitted = fit_and_evaluate(dataset, config)
        log_fit(config, dataset, fitted)
        confusion_png = log_artifacts(dataset, fitted, title=f"{partition.key} {fitted.model_type.name}")
        meta = _bundle_meta(config, partition, dataset, fitted, mlflow_run_id=mlflow_run_id, registered_model_name=None)
        # 1. the complete bundle on disk (fsynced), 2. the same files as the run's artifacts
        version_folder = bundle_store.write_version(
            partition_dir, meta, fitted.estimator, before_publish=lambda: kill_point("model_write")
        )
        mlflow.log_artifacts(str(version_folder), artifact_path=BUNDLE_ARTIFACT_PATH)
        mlflow.set_tag("model_version", meta.model_version)
        # 3. register, 4. promote: the alias (inside log_and_register), then champion.json, last. A
        # promotion killed between those two left the alias ahead of champion.json: put it back first.
        if tracker.register:
            restore_uncommitted_alias(
                tracker.uri,
                registered_model_name(config, partition.pair, partition.timeframe),
                tracker.alias,
                getattr(bundle_store.read_champion(partition_dir), "registered_version", None),
            )
        registration = log_and_register(
            config,
            partition,
            fitted,
            tracker=tracker,
            mlflow_run_id=mlflow_run_id,
            before_promote=lambda: kill_point("before_promote"),
        )
        score = promotion_score(fitted)  # validation span_f1 in span mode, else f1_macro
        if registration is None:
            kill_point("before_promote")
            promoted = bundle_store.not_worse(partition_dir, score, promotion_metric(fitted.mode))
        else:
            promoted = registration.promoted
            bundle_store.update_meta(
                version_folder,
                registered_model_name=registration.name,
                registered_version=registration.version,
            )
        if promoted:
            kill_point("before_pointer")
            bundle_store.promote(
                partition_dir,
                meta.model_version,
                reason=f"promoted: validation {promotion_metric(fitted.mode)} {score!r} not worse than the champion's",
                registered_version=registration.version if registration else None,
            )
        mlflow.set_tag("bundle_promoted", str(promoted).lower())
        bundle_store.prune(partition_dir, config.training.keep_bundles)
        bundle_path = version_folder / BUNDLE_FILE
        describe_run(
            run_description(
                partition,
                fitted.model_type.name,
                tracker,
                dagster_run_id,
                metrics=fitted.metrics,
                registration=registration,
            )
        )
        experiment_id = run.info.experiment_id
    summary_row = metrics_summary(fitted)
    summary_row["promoted"] = promoted
    if registration is not None:
        summary_row["registered_version"] = registration.version
    run_store.complete(
        run_id, metrics_summary=summary_row, mlflow_run_id=mlflow_run_id, model_version=meta.model_version
    )
    return TrainingResult(
        bundle_path=bundle_path,
        meta=load_meta(bundle_path.parent),
        run_id=run_id,
        mlflow_run_id=mlflow_run_id,
        experiment_id=experiment_id,
        registration=registration,
        dataset=summary,
        class_counts=counts,
        confusion_matrix_png=confusion_png,
        tracking_uri=tracker.uri,
        confusion=confusion_counts(fitted, dataset.classes),
        mlflow_run_url=tracker.run_url(experiment_id, mlflow_run_id) if tracker.ui_url else "",
        confusion_matrix_url=tracker.artifact_url(mlflow_run_id, CONFUSION_PREVIEW_FILE) if tracker.ui_url else "",
        promoted=promoted,
        registered_model_url=(
            tracker.model_url(registration.name, registration.version) if tracker.ui_url and registration else ""
        ),
    )


def confusion_counts(fitted: FittedModel, classes: Sequence[str]) -> dict[str, dict[str, int]]:
    """The test part's confusion matrix: ``{true class: {predicted class: count}}``, every class present."""
    true, predicted = fitted.predictions["test"]
    table = {cls: dict.fromkeys(classes, 0) for cls in classes}
    for t, p in zip(true, predicted, strict=True):
        if t in table and p in table[t]:
            table[t][p] += 1
    return table


def _bundle_meta(
    config: PipelineConfig,
    partition: Partition,
    dataset: Dataset,
    fitted: FittedModel,
    *,
    mlflow_run_id: str,
    registered_model_name: str | None,
) -> BundleMeta:
    """The bundle's description of the model just fitted; ``model_version`` is ``{UTC now}-{run id[:8]}``."""
    trained_at = datetime.now(UTC)
    return BundleMeta(
        model_version=f"{trained_at:%Y%m%dT%H%M%SZ}-{mlflow_run_id[:8]}",
        model_type=fitted.model_type.name,
        pair=partition.pair,
        timeframe=partition.timeframe,
        mode=dataset.mode,
        classes=dataset.classes,
        labels=pattern_labels(dataset.classes, config.labeling.labels),
        base_feature_columns=dataset.base_feature_columns,
        feature_columns=dataset.feature_columns,
        pipeline_config=config.to_dict(),
        metrics=fitted.metrics,
        mlflow_run_id=mlflow_run_id,
        registered_model_name=registered_model_name,
        registered_version=None,  # set in the local copy once registered (the run's artifact copy keeps None)
        dataset_version=dataset.dataset_version,
        trained_at=trained_at.isoformat().replace("+00:00", "Z"),
    )
