"""Train, write and promote a pooled model (``training.pool``; the model itself: `ml_platform.training.pooled`).

`train_pool` is the entry point (a Dagster asset partitioned by timeframe calls it): it
reads the members' `labeled_windows` files (`load_members`), fits and scores the pooled
model (`pooled.fit_pooled`) and writes it as an ordinary versioned bundle into the pool's
folder ``{data.models_path}/POOLED_{TF}/`` (`pool_dir`; ``versions/{v}/`` and
``champion.json``, `ml_platform.bundle_store`), promoted when its validation promotion
metric (`fit.promotion_metric`) is not worse than the pool's champion's. Optionally the fit
is tracked as an MLflow run (params, metrics, the bundle as artifacts; not registered) and
recorded as a `training_runs` row (pair ``POOLED``).

Which partitions a pooled model can serve: `serves` (the partition is among the bundle's
``pooled_from``). Whether it does is the serving side's choice; nothing here changes what
serves a partition.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml_platform import bundle_store
from ml_platform.bundle import BUNDLE_FILE, BundleMeta, load_meta, pattern_labels
from ml_platform.config import PipelineConfig
from ml_platform.db import RunStore
from ml_platform.partitions import Partition, validate_timeframe
from ml_platform.training.dataset import TrainingDataError, read_labeled
from ml_platform.training.fit import promotion_metric
from ml_platform.training.pooled import Member, PooledFit, dataset_version, fit_pooled, member_dataset
from ml_platform.training.tracking import BUNDLE_ARTIFACT_PATH, Tracker

logger = logging.getLogger(__name__)

POOLED_PAIR = "POOLED"
"""The ``pair`` of a pooled bundle (and the stem of its folder, ``POOLED_{TF}``)."""


@dataclass(frozen=True)
class PoolResult:
    """What one `train_pool` call produced."""

    bundle_path: Path
    meta: BundleMeta
    fit: PooledFit
    promoted: bool
    skipped: dict[str, str]  # PAIR|TF -> why a configured member was left out (no labeled file)
    mlflow_run_id: str | None = None
    training_run_id: str | None = None  # the training_runs row, when a run store was given


# --------------------------------------------------------------------------- config


def pool_timeframes(config: PipelineConfig) -> list[str]:
    """The timeframes that get a pooled model: none unless ``training.pool.enabled``; [] means every configured one."""
    pool = config.training.pool
    if not pool.enabled:
        return []
    return list(pool.timeframes or config.partitions.timeframes)


def pool_partitions(config: PipelineConfig, timeframe: str) -> list[Partition]:
    """The member partitions of `timeframe`'s pool: ``training.pool.pairs`` (default every configured pair)."""
    validate_timeframe(timeframe)
    return [Partition(pair, timeframe) for pair in (config.training.pool.pairs or config.partitions.pairs)]


def pool_partition(timeframe: str) -> Partition:
    """``POOLED|{timeframe}``: the name the pooled model is written (and tracked) under."""
    return Partition(POOLED_PAIR, timeframe)


def pool_dir(config: PipelineConfig, timeframe: str) -> Path:
    """``{data.models_path}/POOLED_{TF}/``: the pooled model's versions and champion pointer."""
    return config.data.bundle_dir(pool_partition(timeframe))


def serves(meta: BundleMeta, partition: Partition) -> bool:
    """Whether the bundle `meta` is a model for `partition`: its own, or a pooled one listing it as a member."""
    if meta.pooled_from:
        return partition.key in meta.pooled_from
    return (meta.pair, meta.timeframe) == (partition.pair, partition.timeframe)


# --------------------------------------------------------------------------- train


def load_members(
    config: PipelineConfig,
    partitions: Sequence[Partition],
    *,
    labeled_paths: Mapping[Partition, Path] | None = None,
    base_feature_columns: Sequence[str] | None = None,
) -> tuple[list[Member], dict[str, str]]:
    """Read each member's labeled file (default ``config.data.partition_file("labeled", p)``).

    All members get the first one's base feature columns (so their model inputs stack).
    Returns ``(members, skipped)``: a partition without a labeled file is skipped, with why.
    """
    members: list[Member] = []
    skipped: dict[str, str] = {}
    base = list(base_feature_columns) if base_feature_columns is not None else None
    for partition in partitions:
        path = (labeled_paths or {}).get(partition) or config.data.partition_file("labeled", partition)
        try:
            frame, version = read_labeled(path)
        except TrainingDataError as exc:
            skipped[partition.key] = str(exc)
            logger.warning("pooled model: %s left out: %s", partition.key, exc)
            continue
        dataset = member_dataset(frame, config, version=version, base_feature_columns=base)
        base = base or dataset.base_feature_columns
        members.append(Member(partition, dataset))
    if not members:
        raise TrainingDataError(
            f"no member of the pool {[p.key for p in partitions]} has a labeled file: materialize labeled_windows"
        )
    return members, skipped


def train_pool(
    config: PipelineConfig,
    timeframe: str,
    *,
    partitions: Sequence[Partition] | None = None,
    labeled_paths: Mapping[Partition, Path] | None = None,
    bundle_dir: Path | None = None,
    tracker: Tracker | None = None,
    run_store: RunStore | None = None,
    dagster_run_id: str | None = None,
) -> PoolResult:
    """Fit, score, write and (when not worse) promote `timeframe`'s pooled model (see the module docstring).

    Parameters
    ----------
    partitions : sequence of Partition, optional
        The members (default `pool_partitions`); all of `timeframe`.
    labeled_paths : mapping Partition -> Path, optional
        Where a member's labeled file is, when not in ``data.labeled_path``.
    bundle_dir : Path, optional
        Default `pool_dir`.
    tracker : Tracker, optional
        When given, the fit is an MLflow run (not registered).
    run_store : RunStore, optional
        When given, a `training_runs` row (pair `POOLED_PAIR`), ``running`` then ``completed`` or ``failed``.

    Raises
    ------
    TrainingDataError
        No member has a labeled file; the members' data cannot train a model (`pooled.fit_pooled`).
    """
    partitions = list(partitions if partitions is not None else pool_partitions(config, timeframe))
    if other := [p.key for p in partitions if p.timeframe != timeframe]:
        raise TrainingDataError(f"pooled model of {timeframe}: members {other} are of another timeframe")
    members, skipped = load_members(config, partitions, labeled_paths=labeled_paths)
    target = Path(bundle_dir) if bundle_dir is not None else pool_dir(config, timeframe)
    if run_store is None:
        return _train(config, timeframe, members, target, skipped, tracker=tracker, dagster_run_id=dagster_run_id)
    run_id = run_store.start(
        pair=POOLED_PAIR,
        timeframe=timeframe,
        model_type=config.training.model_type,
        experiment_name=tracker.experiment_name if tracker is not None else "",
        pipeline_config_hash=config.fingerprint(),
        dataset_version=dataset_version(members),
    )
    try:
        result = _train(config, timeframe, members, target, skipped, tracker=tracker, dagster_run_id=dagster_run_id)
    except BaseException as exc:
        try:
            run_store.fail(run_id, f"{type(exc).__name__}: {exc}")
        except Exception:  # the database went away mid-run: the original error is what matters
            logger.exception("could not mark training run %s failed", run_id)
        raise
    keys = ("accuracy", "f1_macro", "f1_weighted", "span_precision", "span_recall", "span_f1")
    summary: dict[str, Any] = {
        part: {k: result.meta.metrics[part][k] for k in keys if k in result.meta.metrics[part]}
        for part in ("validation", "test")
    }
    summary.update(promoted=result.promoted, pooled_from=list(result.meta.pooled_from))
    run_store.complete(
        run_id, metrics_summary=summary, mlflow_run_id=result.mlflow_run_id, model_version=result.meta.model_version
    )
    return replace(result, training_run_id=run_id)


def _train(
    config: PipelineConfig,
    timeframe: str,
    members: Sequence[Member],
    target: Path,
    skipped: dict[str, str],
    *,
    tracker: Tracker | None,
    dagster_run_id: str | None,
) -> PoolResult:
    """Fit, then write and promote, inside an MLflow run when `tracker` is given."""
    fit = fit_pooled(members, config)
    if tracker is None:
        return _write(config, timeframe, fit, target, token=uuid.uuid4().hex[:8], skipped=skipped)
    import mlflow

    tags = {
        "pair": POOLED_PAIR,
        "timeframe": timeframe,
        "partition": pool_partition(timeframe).key,
        "pooled_from": ",".join(fit.members),
        "dagster_run_id": dagster_run_id or "",
        "model_type": fit.model_type,
        "labeling_mode": fit.mode,
    }
    with tracker.run(run_name=f"{pool_partition(timeframe).stem}-{fit.model_type}", tags=tags) as run:
        run_id = run.info.run_id
        mlflow.log_params({"pool.members": ",".join(fit.members), "dataset.version": fit.dataset_version})
        mlflow.log_metrics(flat_pool_metrics(fit))
        result = _write(config, timeframe, fit, target, token=run_id[:8], skipped=skipped, mlflow_run_id=run_id)
        mlflow.log_artifacts(str(result.bundle_path.parent), artifact_path=BUNDLE_ARTIFACT_PATH)
        mlflow.set_tag("bundle_promoted", str(result.promoted).lower())
    return result


def _write(
    config: PipelineConfig,
    timeframe: str,
    fit: PooledFit,
    target: Path,
    *,
    token: str,
    skipped: dict[str, str],
    mlflow_run_id: str | None = None,
) -> PoolResult:
    meta = pooled_meta(config, timeframe, fit, token=token, mlflow_run_id=mlflow_run_id)
    folder = bundle_store.write_version(target, meta, fit.model)
    metric = promotion_metric(fit.mode)
    score = float(fit.metrics["validation"][metric])
    promoted = bundle_store.not_worse(target, score, metric)
    if promoted:
        reason = f"promoted: validation {metric} {score!r} not worse than the champion's (pool of {len(fit.members)})"
        bundle_store.promote(target, meta.model_version, reason=reason)
    bundle_store.prune(target, config.training.keep_bundles)
    logger.info(
        "pooled model %s of %s: validation %s %.3f, promoted %s",
        meta.model_version,
        fit.members,
        metric,
        score,
        promoted,
    )
    return PoolResult(
        bundle_path=folder / BUNDLE_FILE,
        meta=load_meta(folder),
        fit=fit,
        promoted=promoted,
        skipped=skipped,
        mlflow_run_id=mlflow_run_id,
    )


def pooled_meta(
    config: PipelineConfig, timeframe: str, fit: PooledFit, *, token: str, mlflow_run_id: str | None = None
) -> BundleMeta:
    """The pooled bundle's ``bundle.json``: ``pair`` `POOLED_PAIR`, ``pooled_from`` the members."""
    trained_at = datetime.now(UTC)
    return BundleMeta(
        model_version=f"{trained_at:%Y%m%dT%H%M%SZ}-{token}",
        model_type=fit.model_type,
        pair=POOLED_PAIR,
        timeframe=timeframe,
        mode=fit.mode,
        classes=fit.classes,
        labels=pattern_labels(fit.classes, config.labeling.labels),
        base_feature_columns=fit.base_feature_columns,
        feature_columns=fit.feature_columns,
        pipeline_config=config.to_dict(),
        metrics=fit.metrics,
        mlflow_run_id=mlflow_run_id,
        dataset_version=fit.dataset_version,
        trained_at=trained_at.isoformat().replace("+00:00", "Z"),
        pooled_from=list(fit.members),
    )


def flat_pool_metrics(fit: PooledFit) -> dict[str, float]:
    """MLflow metric names: ``test_span_f1`` (the pool), ``EURUSD_1h.test_span_f1`` (a member)..."""
    flat: dict[str, float] = {}

    def add(prefix: str, scores: dict[str, Any]) -> None:
        for part in ("validation", "test"):
            for name, value in scores[part].items():
                if isinstance(value, int | float):
                    flat[f"{prefix}{part}_{name}"] = float(value)

    add("", fit.metrics)
    for key, scores in fit.metrics["members"].items():
        add(f"{Partition.from_key(key).stem}.", scores)
    return flat
