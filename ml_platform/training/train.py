"""Train one model for one pair x timeframe partition from its `labeled_windows` file.

`train_partition` is the entry point (the `trained_model` asset calls it). In order:

1. fail fast, before anything is recorded: an unknown model type, an unreachable MLflow
   store, a missing labeled file;
2. insert a ``running`` row in `training_runs` (an unreachable database fails here);
3. `prepare_dataset`: model inputs (`ml_platform.model_inputs`, the code serving uses),
   the chronological split with gaps (`split`), and the checks that need the data (one
   class only, too few rows, a class in validation/test that train never saw);
4. in one MLflow run: fit, evaluate, log params/metrics/artifacts/model, register and
   maybe promote the alias, write the model bundle;
5. complete the row; on any error mark it ``failed`` (and the MLflow run FAILED) and re-raise.

Dataset version: what DVC records for the partition's inputs (raw file and annotation
exports) when they are tracked and unchanged (`ml_platform.data_version`, ``dvc:…``), else
the SHA-256 of the labeled file's exact bytes (first 16 hex digits); the MLflow param
``dataset.version_source`` says which.
Labels: BIO mode trains on ``tag`` (the merged tag column; ``tag_2``, ``tag_human``,
``tag_programmatic`` are not inputs); window mode trains on ``label``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import yaml

from ml_platform.bundle import BundleMeta, load_meta, pattern_labels, pattern_of, save_bundle
from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import PipelineConfig
from ml_platform.data_version import resolve_dataset_version
from ml_platform.db import RunStore
from ml_platform.model_inputs import bio_model_inputs, window_feature_columns
from ml_platform.partitions import Partition
from ml_platform.training import evaluation
from ml_platform.training.models import PatternModel, get_model_type
from ml_platform.training.split import Split, purge_overlaps, split_rows
from ml_platform.training.tracking import Registration, Tracker, log_model, register_model, registered_model_name

logger = logging.getLogger(__name__)

TAG_COLUMN = "tag"
WINDOW_LABEL_COLUMN = "label"
LABEL_KNOWN_COLUMN = "label_known"  # False where a CDL label is unknown (its look-back): not trained on
_TAG_COLUMNS = re.compile(r"^tag(_human|_programmatic)?(_\d+)?$")
_WINDOW_COLUMN = re.compile(r"^(?P<feature>.+)_t(?P<offset>\d+)$")
_WINDOW_META_COLUMNS = ("label", "start_time", "end_time", "source")


class TrainingDataError(ValueError):
    """The labeled data cannot train a model as configured; the message says what to change."""


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True)
class Dataset:
    """A partition's model inputs, labels and split.

    X : float64 array of shape (n_rows, len(feature_columns))
    y : int array of shape (n_rows,)
        Index into `classes`.
    times : int array of shape (n_rows,)
        The candle time (BIO) or the window's start_time, epoch seconds.
    """

    mode: str
    X: np.ndarray
    y: np.ndarray
    times: np.ndarray
    classes: list[str]
    base_feature_columns: list[str]
    feature_columns: list[str]
    split: Split
    dataset_version: str
    dropped_rows: int

    def tags(self, part: str) -> list[str]:
        return [self.classes[i] for i in self.y[self.split.parts()[part]]]

    def class_counts(self) -> dict[str, dict[str, int]]:
        """Rows per class in each part (and overall)."""
        counts = {"all": np.bincount(self.y, minlength=len(self.classes))}
        counts.update(
            {part: np.bincount(self.y[rows], minlength=len(self.classes)) for part, rows in self.split.parts().items()}
        )
        return {
            part: {cls: int(n) for cls, n in zip(self.classes, values, strict=True)} for part, values in counts.items()
        }

    def summary(self) -> dict[str, Any]:
        """Rows, parts, time range and version, for MLflow params and metadata."""
        first, last = (int(self.times.min()), int(self.times.max())) if len(self.times) else (0, 0)
        return {
            "rows": int(len(self.y)),
            "train_rows": int(len(self.split.train)),
            "validation_rows": int(len(self.split.validation)),
            "test_rows": int(len(self.split.test)),
            "dropped_rows": int(self.dropped_rows),
            "first_time": _iso(first),
            "last_time": _iso(last),
            "version": self.dataset_version,
            "split_gap": int(self.split.gap),
            "split_shuffled": bool(self.split.shuffled),
        }


def dataset_version(data: bytes) -> str:
    """The dataset version: the first 16 hex digits of the SHA-256 of the input file's bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def read_labeled(path: Path) -> tuple[pd.DataFrame, str]:
    """The labeled partition and its dataset version (hash of the exact bytes read)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise TrainingDataError(
            f"{path}: labeled data not found: materialize labeled_windows for this partition first"
        ) from None
    return pd.read_parquet(io.BytesIO(data)), dataset_version(data)


def prepare_dataset(
    frame: pd.DataFrame,
    config: PipelineConfig,
    *,
    version: str,
    base_feature_columns: Sequence[str] | None = None,
) -> Dataset:
    """Model inputs, integer labels and the split of one labeled partition.

    Parameters
    ----------
    frame : DataFrame
        A labeled partition: BIO (one row per candle, ``tag``) or window (``{feature}_t{offset}``, ``label``).
    config : PipelineConfig
        ``labeling.mode``, ``features.context``, ``labeling.window.size``, ``training.split``.
    version : str
        The dataset version (`dataset_version`).
    base_feature_columns : sequence of str, optional
        Restrict the model to these base features (default: every feature column in the
        file, less those matching ``training.exclude_features``).

    Raises
    ------
    TrainingDataError, SplitError
        One class only; too few rows; a class in validation/test that train lacks; columns missing.
    """
    mode = config.labeling.mode
    if mode == "bio":
        X, labels, times, base, columns, dropped = _bio_rows(frame, config, base_feature_columns)
        required_gap = config.features.context.previous + config.features.context.next + 1
    else:
        frame = frame.sort_values("start_time", kind="stable") if "start_time" in frame else frame
        X, labels, times, base, columns, dropped = _window_rows(frame, config, base_feature_columns)
        required_gap = 0  # windows overlapping across a cut are purged by time below
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise TrainingDataError(
            f"the labeled data has a single class {classes!r} in {len(labels)} rows: a classifier needs at least two. "
            "Add pattern annotations for this partition, enable labeling.cdl, or lower labeling.min_confidence"
        )
    index = {cls: i for i, cls in enumerate(classes)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    gap = _gap(config, required_gap)
    split = split_rows(len(y), config.training.split, gap=gap, seed=config.training.seed)
    if mode == "window":
        split = purge_overlaps(split, frame["start_time"].to_numpy()[~dropped], frame["end_time"].to_numpy()[~dropped])
    _check_classes_in_train(y, split, classes)
    return Dataset(
        mode=mode,
        X=X,
        y=y,
        times=times,
        classes=classes,
        base_feature_columns=base,
        feature_columns=columns,
        split=split,
        dataset_version=version,
        dropped_rows=int(dropped.sum()),
    )


def _gap(config: PipelineConfig, required: int) -> int:
    configured = config.training.split.gap
    if configured is None:
        return required
    if configured < required and not config.training.split.shuffle:
        logger.warning(
            "training.split.gap=%d is below the context width %d: rows on either side of a cut share candles "
            "(the validation and test scores leak); use null for the safe default",
            configured,
            required,
        )
    return configured


def excluded_patterns(config: PipelineConfig) -> tuple[str, ...]:
    """``training.exclude_features``: fnmatch patterns such as ``sma_*``."""
    return tuple(config.training.exclude_features)


def select_base_columns(available: Sequence[str], *, exclude: Sequence[str] = ()) -> list[str]:
    """The available feature columns minus those matching an `exclude` pattern (fnmatch, case-sensitive)."""
    return [c for c in available if not any(fnmatch.fnmatchcase(c, pattern) for pattern in exclude)]


def _base_columns(available: Sequence[str], requested: Sequence[str] | None, config: PipelineConfig) -> list[str]:
    if requested is None:
        chosen = select_base_columns(available, exclude=excluded_patterns(config))
        if not chosen:
            raise TrainingDataError(f"training.exclude_features leaves no feature column of {list(available)}")
        return chosen
    missing = [column for column in requested if column not in available]
    if missing:
        raise TrainingDataError(f"the labeled data has no feature column(s) {missing}: available are {list(available)}")
    return list(requested)


def _drop_non_finite(X: np.ndarray, *, keep: np.ndarray) -> np.ndarray:
    """Rows to drop: outside `keep` or with a non-finite input (counted and logged, not silently kept)."""
    dropped = ~keep | ~np.isfinite(X).all(axis=1)
    bad = int((~np.isfinite(X[keep])).any(axis=1).sum())
    if bad:
        logger.warning("dropped %d rows with NaN/inf model inputs (of %d)", bad, int(keep.sum()))
    return dropped


def _bio_rows(
    frame: pd.DataFrame, config: PipelineConfig, requested: Sequence[str] | None
) -> tuple[np.ndarray, list[str], np.ndarray, list[str], list[str], np.ndarray]:
    if TAG_COLUMN not in frame.columns:
        raise TrainingDataError(
            f"labeling.mode is 'bio' but the labeled data has no {TAG_COLUMN!r} column "
            f"(columns: {list(frame.columns)[:8]}...): "
            "re-materialize labeled_windows with the current config"
        )
    available = [
        c
        for c in frame.columns
        if c not in CANONICAL_COLUMNS and c != LABEL_KNOWN_COLUMN and not _TAG_COLUMNS.match(str(c))
    ]
    base = _base_columns(available, requested, config)
    inputs, valid = bio_model_inputs(frame, base, config.features.context)
    X = inputs.to_numpy(dtype=np.float64)
    keep = np.zeros(len(frame), dtype=bool)
    keep[valid] = True
    if LABEL_KNOWN_COLUMN in frame.columns:
        unknown = ~frame[LABEL_KNOWN_COLUMN].to_numpy(dtype=bool)
        if (unknown & keep).any():
            logger.info("left out %d rows whose label is unknown (label_known false)", int((unknown & keep).sum()))
        keep &= ~unknown
    dropped = _drop_non_finite(X, keep=keep)
    tags = frame[TAG_COLUMN].astype(str).to_numpy()[~dropped]
    times = frame["time"].to_numpy(dtype=np.int64)[~dropped] if "time" in frame else np.arange(len(tags))
    return X[~dropped], tags.tolist(), times, base, list(inputs.columns), dropped


def _window_rows(
    frame: pd.DataFrame, config: PipelineConfig, requested: Sequence[str] | None
) -> tuple[np.ndarray, list[str], np.ndarray, list[str], list[str], np.ndarray]:
    missing = [c for c in ("label", "start_time", "end_time") if c not in frame.columns]
    if missing:
        raise TrainingDataError(
            f"labeling.mode is 'window' but the labeled data lacks {missing}: re-materialize labeled_windows"
        )
    features: dict[str, None] = {}
    offsets: set[int] = set()
    for column in frame.columns:
        match = _WINDOW_COLUMN.match(str(column))
        if match and column not in _WINDOW_META_COLUMNS:
            features.setdefault(match["feature"], None)
            offsets.add(int(match["offset"]))
    size = config.labeling.window.size
    if offsets != set(range(size)):
        raise TrainingDataError(
            f"the window columns cover offsets {min(offsets, default=None)}..{max(offsets, default=None)}, "
            f"labeling.window.size is {size}: re-materialize labeled_windows with the current config"
        )
    base = _base_columns(list(features), requested, config)
    columns = window_feature_columns(base, size)
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise TrainingDataError(f"the labeled windows lack columns {absent[:5]}: re-materialize labeled_windows")
    X = frame.loc[:, columns].to_numpy(dtype=np.float64)
    dropped = _drop_non_finite(X, keep=np.ones(len(frame), dtype=bool))
    labels = frame["label"].astype(str).to_numpy()[~dropped].tolist()
    return X[~dropped], labels, frame["start_time"].to_numpy(np.int64)[~dropped], base, columns, dropped


def _check_classes_in_train(y: np.ndarray, split: Split, classes: Sequence[str]) -> None:
    seen = set(np.unique(y[split.train]).tolist())
    for part in ("validation", "test"):
        unseen = sorted({classes[i] for i in np.unique(y[split.parts()[part]]).tolist()} - {classes[i] for i in seen})
        if unseen:
            raise TrainingDataError(
                f"class(es) {unseen} occur in the {part} part but never in train (train ends at row "
                f"{int(split.train.max()) if len(split.train) else 0} of {len(y)}): add earlier examples of them, drop "
                "their labels (labeling.labels / labeling.cdl.patterns), or change training.split"
            )


# --------------------------------------------------------------------------- class weights


def class_weight_map(y: np.ndarray, classes: Sequence[str], setting: str | dict[str, float]) -> dict[int, float] | None:
    """Weights per class index from ``training.class_weights``.

    ``"balanced"``: ``n_rows / (n_classes * rows_of_class)`` over the classes present in `y`
    (scikit-learn's formula); ``"none"``: None; a map: keys are class tags (``B-bull_flag``)
    or pattern labels (``bull_flag``, covering its ``B-``/``I-`` tags) or ``O``; classes
    not named get 1.0.
    """
    if setting == "none":
        return None
    if isinstance(setting, str):  # "balanced"
        counts = np.bincount(y, minlength=len(classes))
        present = np.flatnonzero(counts)
        return {int(i): float(len(y) / (len(present) * counts[i])) for i in present}
    weights: dict[int, float] = {}
    used: set[str] = set()
    for index, cls in enumerate(classes):
        key = cls if cls in setting else (pattern_of(cls) or cls)
        if key in setting:
            used.add(key)
        weights[index] = float(setting.get(key, 1.0))
    unknown = sorted(set(setting) - used)
    if unknown:
        logger.warning(
            "training.class_weights names %s, which are not classes of this partition (%s)", unknown, list(classes)
        )
    return weights


# --------------------------------------------------------------------------- fit and evaluate


@dataclass(frozen=True)
class FittedModel:
    estimator: Any
    model_type: type[PatternModel]
    hyperparameters: dict[str, Any]
    class_weight: dict[int, float] | None
    predictions: dict[str, tuple[list[str], list[str]]]  # part -> (true tags, predicted tags)
    metrics: dict[str, Any]  # the bundle's {"validation", "test", "per_class"}
    per_class: dict[str, dict[str, dict[str, float]]]  # part -> class -> precision/recall/f1/support


def fit_and_evaluate(dataset: Dataset, config: PipelineConfig) -> FittedModel:
    """Fit the configured model on the train part and score validation and test."""
    model_type = get_model_type(config.training.model_type)
    wrapper = model_type(config.training)
    train = dataset.split.train
    weights = class_weight_map(dataset.y[train], dataset.classes, config.training.class_weights)
    estimator = wrapper.fit(dataset.X[train], dataset.y[train], class_weight=weights)
    predictions: dict[str, tuple[list[str], list[str]]] = {}
    scores: dict[str, dict[str, Any]] = {}
    per_class: dict[str, dict[str, dict[str, float]]] = {}
    for part in ("validation", "test"):
        rows = dataset.split.parts()[part]
        predicted = [dataset.classes[i] for i in np.asarray(estimator.predict(dataset.X[rows]), dtype=np.int64)]
        truth = dataset.tags(part)
        predictions[part] = (truth, predicted)
        result = evaluation.classification_metrics(
            truth, predicted, dataset.classes, spans=dataset.mode == "bio" and not dataset.split.shuffled
        )
        per_class[part] = result.pop("per_class")
        scores[part] = result
    metrics = {"validation": scores["validation"], "test": scores["test"], "per_class": per_class["test"]}
    return FittedModel(
        estimator=estimator,
        model_type=model_type,
        hyperparameters=wrapper.hyperparameters(),
        class_weight=weights,
        predictions=predictions,
        metrics=metrics,
        per_class=per_class,
    )


def flat_metrics(fitted: FittedModel) -> dict[str, float]:
    """MLflow metric names: ``validation_f1_macro``, ``test_span_f1``, ``test_f1.B-bull_flag``..."""
    flat: dict[str, float] = {}
    for part in ("validation", "test"):
        flat.update({f"{part}_{name}": float(value) for name, value in fitted.metrics[part].items()})
        for cls, values in fitted.per_class[part].items():
            flat.update({f"{part}_{name}.{cls}": float(value) for name, value in values.items() if name != "support"})
    return flat


def metrics_summary(fitted: FittedModel) -> dict[str, Any]:
    """What the training_runs row keeps: the headline scores of both parts."""
    keys = ("accuracy", "f1_macro", "f1_weighted", "span_precision", "span_recall", "span_f1")
    return {
        part: {k: fitted.metrics[part][k] for k in keys if k in fitted.metrics[part]} for part in ("validation", "test")
    }


# --------------------------------------------------------------------------- the whole run


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
) -> TrainingResult:
    dataset = prepare_dataset(frame, config, version=version, base_feature_columns=base_feature_columns)
    counts = dataset.class_counts()
    tags = {
        "pair": partition.pair,
        "timeframe": partition.timeframe,
        "dagster_run_id": dagster_run_id or "",
        "training_run_id": run_id,
        "model_type": config.training.model_type,
        "labeling_mode": dataset.mode,
    }
    with tracker.run(run_name=f"{partition.stem}-{config.training.model_type}", tags=tags) as run:
        import mlflow

        mlflow_run_id = run.info.run_id
        run_store.set_mlflow_run(run_id, mlflow_run_id)
        mlflow.log_text(yaml.safe_dump(config.to_dict(), sort_keys=False), "pipeline_config.yaml")
        summary = dataset.summary()
        mlflow.log_params({f"dataset.{k}": v for k, v in summary.items()})
        mlflow.log_params(version_params)  # dataset.version_source, dataset.content_hash, dvc_*_md5
        mlflow.log_params({f"class_count.{cls}": n for cls, n in counts["all"].items()})
        mlflow.log_dict(counts, "class_counts.json")
        fitted = fit_and_evaluate(dataset, config)
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
        with tempfile.TemporaryDirectory() as temp:
            artifacts = evaluation.write_artifacts(
                Path(temp),
                predictions=fitted.predictions,
                classes=dataset.classes,
                importances=fitted.estimator.feature_importances_,
                feature_names=dataset.feature_columns,
                title=f"{partition.key} {fitted.model_type.name}",
            )
            for path in (artifacts.confusion_matrix, artifacts.feature_importance, artifacts.classification_report):
                mlflow.log_artifact(str(path))
            confusion_png = artifacts.confusion_matrix.read_bytes()
        model_uri = log_model(
            fitted.estimator,
            flavor=fitted.model_type.mlflow_flavor,
            trusted_types=list(fitted.model_type.trusted_types),
        )
        registration = None
        if tracker.register:
            registration = register_model(
                tracker.uri,
                model_uri,
                registered_model_name(config, partition.pair, partition.timeframe),
                run_id=mlflow_run_id,
                alias=tracker.alias,
                score=fitted.metrics["validation"]["f1_macro"],
            )
            mlflow.set_tags(
                {
                    "registered_model": registration.name,
                    "registered_version": registration.version,
                    f"alias.{tracker.alias}": str(registration.promoted).lower(),
                }
            )
        trained_at = datetime.now(UTC)
        meta = BundleMeta(
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
            registered_model_name=registration.name if registration else None,
            registered_version=registration.version if registration else None,
            dataset_version=dataset.dataset_version,
            trained_at=trained_at.isoformat().replace("+00:00", "Z"),
        )
        bundle_path = save_bundle(bundle_dir, meta, fitted.estimator)
        mlflow.set_tag("model_version", meta.model_version)
        experiment_id = run.info.experiment_id
    summary_row = metrics_summary(fitted)
    if registration is not None:
        summary_row["registered_version"] = registration.version
        summary_row["promoted"] = registration.promoted
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
    )


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")
