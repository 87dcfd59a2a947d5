"""A labeled partition as model inputs, integer labels and a split: what training fits on.

`read_labeled` reads the `labeled_windows` file and its content hash; `prepare_dataset`
builds the model inputs with `ml_platform.model_inputs` (the code serving uses), cuts the
chronological split with gaps (`split`), and checks what needs the data (one class only,
too few rows, a class in validation/test that train never saw).

Labels: BIO mode trains on ``tag`` (the merged tag column) with its ``O`` candles filled from
the overlap tracks ``tag_2``, ``tag_3``, ... (`training_tags`; ``tag_human``,
``tag_programmatic`` are not inputs); window mode trains on ``label``. Span mode reads the BIO
file as BIO mode does (its rows feed the CDL part) and adds the candles and chart-label tags
the span detector fits on (`ml_platform.training.span_data`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml_platform.candles import CANONICAL_COLUMNS
from ml_platform.config import PipelineConfig
from ml_platform.labeling.bio import training_tags
from ml_platform.model_inputs import bio_model_inputs, window_feature_columns
from ml_platform.timestamps import iso_utc
from ml_platform.training.span_data import SpanSource, span_source
from ml_platform.training.split import Split, purge_overlaps, split_rows

logger = logging.getLogger(__name__)

TAG_COLUMN = "tag"
WINDOW_LABEL_COLUMN = "label"
LABEL_KNOWN_COLUMN = "label_known"  # False where a CDL label is unknown (its look-back): not trained on
_TAG_COLUMNS = re.compile(r"^tag(_human|_programmatic)?(_\d+)?$")
_WINDOW_COLUMN = re.compile(r"^(?P<feature>.+)_t(?P<offset>\d+)$")
_WINDOW_META_COLUMNS = ("label", "start_time", "end_time", "source")


class TrainingDataError(ValueError):
    """The labeled data cannot train a model as configured; the message says what to change."""


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
    span: SpanSource | None = None  # span mode: the candles and chart tags the detector fits on

    def tags(self, part: str) -> list[str]:
        """The class of each row of `part` (``"train"``, ``"validation"`` or ``"test"``), in row order."""
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
            "first_time": iso_utc(first),
            "last_time": iso_utc(last),
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
    source = None
    if mode in ("bio", "span"):
        X, labels, times, base, columns, dropped = _bio_rows(frame, config, base_feature_columns)
        if mode == "span":
            source = span_source(frame, np.flatnonzero(~dropped), config, tag_columns=_tag_tracks(frame))
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
        span=source,
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
            f"labeling.mode is {config.labeling.mode!r} but the labeled data has no {TAG_COLUMN!r} column "
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
    tags = training_tags([frame[c].to_numpy() for c in _tag_tracks(frame)])[~dropped]
    times = frame["time"].to_numpy(dtype=np.int64)[~dropped] if "time" in frame else np.arange(len(tags))
    return X[~dropped], tags.tolist(), times, base, list(inputs.columns), dropped


def _tag_tracks(frame: pd.DataFrame) -> list[str]:
    """``tag``, ``tag_2``, ``tag_3``, ...: the merged tag track first, then the overlap tracks in order."""
    tracks = [c for c in frame.columns if c == TAG_COLUMN or re.fullmatch(rf"{TAG_COLUMN}_\d+", str(c))]
    tracks.sort(key=lambda c: 1 if c == TAG_COLUMN else int(str(c).rsplit("_", 1)[1]))
    return [str(c) for c in tracks]


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
