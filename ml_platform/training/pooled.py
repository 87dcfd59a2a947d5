"""Pooled models: one model fitted on several partitions of one timeframe (``training.pool``).

A pair with few annotations gets a usable model from the annotations of its neighbours.
Each member partition is read as `train.train_partition` reads it (its `labeled_windows`
file: model inputs, tags, the chronological split with gaps of `split`) and keeps its own
split; the pooled model is then fitted on the union of the members' train parts:

- span mode (``labeling.mode: span``): the `SpanDetector` is fitted on one series per
  member (its train candle segment and the chart spans wholly inside it): candidates,
  pivots and shape features are built per series, so no candidate ever spans two
  partitions; the CDL part (when CDL tags remain) on the members' train rows stacked;
- BIO mode: the estimator on the members' train rows stacked (each row's context columns
  come from its own partition's candles).

A member needs no class of its own in train (nor two classes): only the pool does. Scores:
every member on its own validation and test parts (`span_fit.evaluate_part` in span mode,
as a per-partition model is scored), and the pool overall (span counts summed over the
members, per-candle metrics over the members' rows together). The bundle is an ordinary one
(`ml_platform.bundle`, loaded by `Predictor` unchanged) with ``pair`` `POOLED_PAIR`,
``pooled_from`` the members' ``PAIR|TF`` keys and ``metrics["members"][key]`` each member's
scores. Writing it, promotion and the config helpers: `ml_platform.training.pooled_train`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition
from ml_platform.training import evaluation
from ml_platform.training.dataset import Dataset, TrainingDataError, _bio_rows, _gap, _tag_tracks
from ml_platform.training.models import get_model_type
from ml_platform.training.span_data import span_source
from ml_platform.training.span_fit import OUTSIDE, evaluate_part
from ml_platform.training.span_model import SpanModel
from ml_platform.training.split import split_rows
from ml_platform.training.weights import class_weight_map

POOLED_MODES = ("span", "bio")
PARTS = ("validation", "test")
SPAN_COUNTS = ("matched_spans", "true_spans", "predicted_spans")


@dataclass(frozen=True)
class Member:
    """One member partition's dataset (its own split; ``y`` indexes the pool's classes once pooled)."""

    partition: Partition
    dataset: Dataset


@dataclass(frozen=True)
class PooledFit:
    """A pooled model and its scores.

    model : SpanModel (span mode) or a fitted estimator (BIO mode, integer classes)
    metrics : dict
        The bundle's ``{"validation", "test", "per_class"[, "span_per_label"]}`` of the pool
        overall, plus ``"members": {PAIR|TF: {"validation", "test"[, "span_per_label"],
        "train_spans", "dataset_version"}}``.
    """

    model: Any
    mode: str
    model_type: str
    classes: list[str]
    base_feature_columns: list[str]
    feature_columns: list[str]
    members: list[str]
    metrics: dict[str, Any]
    dataset_version: str


def member_dataset(
    frame: Any, config: PipelineConfig, *, version: str, base_feature_columns: Sequence[str] | None = None
) -> Dataset:
    """A labeled BIO partition as `prepare_dataset` builds it, without its one-partition class checks.

    The pool checks classes over all its members (`fit_pooled`), so a member with a single
    class or with a label only in its test part can still join.
    """
    mode = config.labeling.mode
    if mode not in POOLED_MODES:
        raise TrainingDataError(f"pooled models support labeling.mode {' or '.join(POOLED_MODES)}, not {mode!r}")
    X, labels, times, base, columns, dropped = _bio_rows(frame, config, base_feature_columns)
    source = None
    if mode == "span":
        source = span_source(frame, np.flatnonzero(~dropped), config, tag_columns=_tag_tracks(frame))
    classes = sorted(set(labels))
    index = {cls: i for i, cls in enumerate(classes)}
    y = np.fromiter((index[label] for label in labels), dtype=np.int64, count=len(labels))
    gap = _gap(config, config.features.context.previous + config.features.context.next + 1)
    split = split_rows(len(y), config.training.split, gap=gap, seed=config.training.seed)
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
        span=source,
    )


def pool_members(members: Sequence[Member]) -> list[Member]:
    """The members with ``y`` re-indexed into the pool's classes (the sorted union of theirs)."""
    if len(members) < 1:
        raise TrainingDataError("a pooled model needs at least one member partition")
    timeframes = {m.partition.timeframe for m in members}
    if len(timeframes) != 1:
        raise TrainingDataError(f"a pooled model's members share one timeframe, got {sorted(timeframes)}")
    if len({m.partition for m in members}) != len(members):
        raise TrainingDataError("a partition is listed twice among the pool's members")
    columns = {tuple(m.dataset.feature_columns) for m in members}
    if len(columns) != 1:
        raise TrainingDataError(
            "the members' model inputs differ: build them with the same base_feature_columns (load_members does)"
        )
    classes = sorted({c for m in members for c in m.dataset.classes})
    index = {c: i for i, c in enumerate(classes)}
    pooled = []
    for m in members:
        remap = np.asarray([index[c] for c in m.dataset.classes], dtype=np.int64)
        y = remap[m.dataset.y] if len(m.dataset.y) else m.dataset.y
        pooled.append(Member(m.partition, replace(m.dataset, classes=classes, y=y)))
    return pooled


def dataset_version(members: Sequence[Member]) -> str:
    """The pool's dataset version: 16 hex digits of the SHA-256 of the sorted ``PAIR|TF=version`` lines."""
    lines = sorted(f"{m.partition.key}={m.dataset.dataset_version}" for m in members)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def fit_pooled(members: Sequence[Member], config: PipelineConfig) -> PooledFit:
    """Fit one model on the members' train parts and score every member and the pool (module docstring).

    Raises
    ------
    TrainingDataError
        Fewer than two classes in the pool; span mode: no chart span in any member's train
        part; BIO mode: a class in some validation/test part that no train part holds.
    """
    pooled = pool_members(members)
    first = pooled[0].dataset
    if len(first.classes) < 2:
        raise TrainingDataError(
            f"the pool's labeled data has a single class {first.classes!r}: annotate patterns in a member partition"
        )
    if first.mode == "span":
        model, per_member, train_spans = _fit_span(pooled, config)
    else:
        model, per_member, train_spans = _fit_bio(pooled, config)
    keys = [m.partition.key for m in pooled]
    metrics = _overall(per_member, first.classes, span=first.mode == "span")
    metrics["members"] = {
        key: {
            **{part: per_member[key][part]["metrics"] for part in PARTS},
            **({"span_per_label": {p: per_member[key][p]["per_label"] for p in PARTS}} if first.mode == "span" else {}),
            "train_spans": train_spans[key],
            "dataset_version": m.dataset.dataset_version,
        }
        for key, m in zip(keys, pooled, strict=True)
    }
    return PooledFit(
        model=model,
        mode=first.mode,
        model_type=config.training.model_type,
        classes=list(first.classes),
        base_feature_columns=list(first.base_feature_columns),
        feature_columns=list(first.feature_columns),
        members=keys,
        metrics=metrics,
        dataset_version=dataset_version(pooled),
    )


# --------------------------------------------------------------------------- span mode


def _fit_span(pooled: Sequence[Member], config: PipelineConfig) -> tuple[SpanModel, dict[str, Any], dict[str, int]]:
    from ml_platform.shapes.detector import SpanDetector

    series, train_spans = [], {}
    for m in pooled:
        source = m.dataset.span
        assert source is not None  # span mode always builds it
        first, last = source.segment(m.dataset.split.train)
        spans = source.spans_within(first, last)
        train_spans[m.partition.key] = len(spans)
        series.append((source.candles.iloc[first : last + 1].reset_index(drop=True), spans))
    if not sum(train_spans.values()):
        raise TrainingDataError(
            f"labeling.mode is 'span' but no member's train part holds a chart-pattern span of "
            f"{[spec.name for spec in config.labeling.labels]}: annotate chart patterns in a member partition"
        )
    detector = SpanDetector.fit(
        series,
        settings=config.labeling.span,
        model_type=config.training.model_type,
        seed=config.training.seed,
        training=config.training,
    )
    cdl_tags = {m.partition.key: _cdl_tags(m.dataset) for m in pooled}
    X = np.vstack([m.dataset.X[m.dataset.split.train] for m in pooled])
    tags = np.concatenate([cdl_tags[m.partition.key][m.dataset.split.train] for m in pooled])
    cdl_classes = sorted(set(tags.tolist()))
    estimator = None
    if len(cdl_classes) >= 2:
        index = {c: i for i, c in enumerate(cdl_classes)}
        y = np.asarray([index[t] for t in tags.tolist()], dtype=np.int64)
        weights = class_weight_map(y, cdl_classes, config.training.class_weights)
        estimator = get_model_type(config.training.model_type)(config.training).fit(X, y, class_weight=weights)
    model = SpanModel(
        detector=detector,
        cdl_estimator=estimator,
        cdl_classes=cdl_classes if estimator is not None else [],
        cdl_model_type=config.training.model_type,
    )
    per_member: dict[str, Any] = {}
    for m in pooled:
        key = m.partition.key
        per_member[key] = {}
        for part in PARTS:
            scores, per_label, tags_pair, _ = evaluate_part(model, m.dataset, part, cdl_tags[key])
            per_member[key][part] = {"metrics": scores, "per_label": per_label, "tags": tags_pair}
    return model, per_member, train_spans


def _cdl_tags(dataset: Dataset) -> np.ndarray:
    """Every row's tag with the chart tags set to ``O`` (what the CDL part learns)."""
    source = dataset.span
    assert source is not None
    tags = np.asarray(dataset.classes, dtype=object)[dataset.y]
    return np.where([source.is_chart(str(t)) for t in tags], OUTSIDE, tags).astype(str)


# --------------------------------------------------------------------------- BIO mode


def _fit_bio(pooled: Sequence[Member], config: PipelineConfig) -> tuple[Any, dict[str, Any], dict[str, int]]:
    classes = pooled[0].dataset.classes
    y_train = np.concatenate([m.dataset.y[m.dataset.split.train] for m in pooled])
    in_train = set(np.unique(y_train).tolist())
    for m in pooled:
        for part in PARTS:
            present = np.unique(m.dataset.y[m.dataset.split.parts()[part]]).tolist()
            unseen = sorted(classes[i] for i in present if i not in in_train)
            if unseen:
                raise TrainingDataError(
                    f"class(es) {unseen} occur in the {part} part of {m.partition.key} but in no member's train part: "
                    "add earlier examples of them, or drop their labels"
                )
    if len(in_train) < len(classes):  # a class only in rows the split leaves out (the gaps)
        raise TrainingDataError(f"the pool's train parts lack class(es) {sorted(set(classes) - set(in_train))}")
    X = np.vstack([m.dataset.X[m.dataset.split.train] for m in pooled])
    weights = class_weight_map(y_train, classes, config.training.class_weights)
    estimator = get_model_type(config.training.model_type)(config.training).fit(X, y_train, class_weight=weights)
    per_member: dict[str, Any] = {}
    train_spans: dict[str, int] = {}
    for m in pooled:
        key = m.partition.key
        train_tags = [classes[i] for i in m.dataset.y[m.dataset.split.train]]
        train_spans[key] = sum(1 for t in train_tags if t.startswith("B-"))
        per_member[key] = {}
        for part in PARTS:
            rows = m.dataset.split.parts()[part]
            predicted = [classes[i] for i in np.asarray(estimator.predict(m.dataset.X[rows]), dtype=np.int64)]
            truth = m.dataset.tags(part)
            scores = evaluation.classification_metrics(truth, predicted, classes, spans=not m.dataset.split.shuffled)
            scores.pop("per_class")
            per_member[key][part] = {"metrics": scores, "per_label": {}, "tags": (truth, predicted)}
    return estimator, per_member, train_spans


# --------------------------------------------------------------------------- the pool overall


def span_counts_scores(counts: dict[str, float]) -> dict[str, float]:
    """``span_precision``/``span_recall``/``span_f1`` from summed ``matched/true/predicted_spans``."""
    matched, n_true, n_predicted = (float(counts.get(k, 0.0)) for k in SPAN_COUNTS)
    precision = matched / n_predicted if n_predicted else (1.0 if not n_true else 0.0)
    recall = matched / n_true if n_true else (1.0 if not n_predicted else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "span_precision": precision,
        "span_recall": recall,
        "span_f1": f1,
        **dict(zip(SPAN_COUNTS, (matched, n_true, n_predicted), strict=True)),
    }


def _summed(items: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {k: float(sum(float(item.get(k, 0.0)) for item in items)) for k in SPAN_COUNTS}


def _overall(per_member: dict[str, Any], classes: Sequence[str], *, span: bool) -> dict[str, Any]:
    """The pool's scores: per-candle metrics over every member's rows, span counts summed over the members."""
    metrics: dict[str, Any] = {}
    per_class: dict[str, Any] = {}
    per_label: dict[str, Any] = {}
    for part in PARTS:
        results = [per_member[key][part] for key in per_member]
        truth = [t for r in results for t in r["tags"][0]]
        predicted = [p for r in results for p in r["tags"][1]]
        scores = evaluation.classification_metrics(truth, predicted, classes)
        per_class[part] = scores.pop("per_class")
        if any("true_spans" in r["metrics"] for r in results):
            scores.update(span_counts_scores(_summed([r["metrics"] for r in results])))
        for key in ("cdl_accuracy", "cdl_f1_macro", "cdl_f1_weighted"):
            values = [(r["metrics"][key], r["metrics"]["rows"]) for r in results if key in r["metrics"]]
            if values:  # rows-weighted mean over the members
                scores[key] = float(sum(v * n for v, n in values) / max(sum(n for _, n in values), 1))
        metrics[part] = scores
        labels = sorted({label for r in results for label in r["per_label"]})
        per_label[part] = {
            label: span_counts_scores(_summed([r["per_label"][label] for r in results if label in r["per_label"]]))
            for label in labels
        }
    metrics["per_class"] = per_class["test"]
    if span:
        metrics["span_per_label"] = per_label
    return metrics
