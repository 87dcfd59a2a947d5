"""IoU-aware scoring of candidate spans (``DetectorSettings.iou_scoring``).

Near-duplicate candidates of one pattern differ mostly in where they start and end, and the
label classifier is trained to say *whether* a candidate is a pattern, not *how well* it is
placed: after NMS, the winner of a cluster is often a badly placed one. As in IoU-aware
(quality-aware) detectors, a regressor on the same shape features learns each training
candidate's best IoU with an annotated span (`iou_targets`: 0 when it overlaps none), and
NMS ranks candidates by class probability x predicted IoU (`rank_scores`), so among
candidates of similar confidence the better-placed one wins.

The regressor is XGBoost's ``XGBRegressor`` with the ``training.xgboost`` hyperparameters
(whatever the classifier's model type), stored in its native UBJSON format next to the
classifier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ml_platform.config import TrainingConfig
from ml_platform.shapes.candidates import match_candidates

__all__ = [
    "IOU_MODEL_FILE",
    "MIN_TARGET_IOU",
    "fit_iou_regressor",
    "iou_targets",
    "load_iou_regressor",
    "predict_iou",
    "rank_scores",
    "save_iou_regressor",
]

IOU_MODEL_FILE = "iou_model.ubj"
MIN_TARGET_IOU = 0.05
"""Overlaps below this IoU count as none (target 0): it bounds the search for overlapping spans."""


def iou_targets(
    cand_start: np.ndarray, cand_end: np.ndarray, span_start: np.ndarray, span_end: np.ndarray
) -> np.ndarray:
    """Each candidate's highest IoU with any annotated span, 0 when it overlaps none (or below `MIN_TARGET_IOU`).

    The span a candidate overlaps most is the one whose label it takes when the IoU reaches
    ``match_iou``, so this is its IoU with a span of its own label; ``O`` candidates get
    their partial overlap (which teaches the regressor what a misplaced edge costs).

    Parameters
    ----------
    cand_start, cand_end : int arrays of shape (n_candidates,), sorted by start
    span_start, span_end : int arrays of shape (n_spans,), inclusive positions

    Returns
    -------
    float array of shape (n_candidates,), values in [0, 1]
    """
    if len(span_start) == 0:
        return np.zeros(len(cand_start))
    best, _ = match_candidates(cand_start, cand_end, span_start, span_end, min_iou=MIN_TARGET_IOU)
    return best


def fit_iou_regressor(x: np.ndarray, target: np.ndarray, training: TrainingConfig, *, seed: int) -> Any:
    """An ``XGBRegressor`` of `target` (IoU) on `x`, with the ``training.xgboost`` hyperparameters."""
    from xgboost import XGBRegressor

    if len(x) != len(target):
        raise ValueError(f"fit_iou_regressor: {len(x)} feature rows but {len(target)} targets; give one per row")
    params = training.xgboost
    regressor = XGBRegressor(
        n_estimators=params.n_estimators,
        max_depth=params.max_depth,
        learning_rate=params.learning_rate,
        subsample=params.subsample,
        colsample_bytree=params.colsample_bytree,
        tree_method=params.tree_method,
        n_jobs=params.n_jobs,
        random_state=seed,
    )
    return regressor.fit(x, target)


def predict_iou(regressor: Any, x: np.ndarray) -> np.ndarray:
    """The regressor's IoU for the rows of `x`, clipped to [0, 1]."""
    return np.clip(np.asarray(regressor.predict(x), dtype=np.float64), 0.0, 1.0)


def save_iou_regressor(regressor: Any, path: Path) -> None:
    """Write `regressor` to `path` in UBJSON (``save_model`` picks the format from the suffix)."""
    target = path if path.suffix == ".ubj" else path.with_name(path.name + ".ubj")
    regressor.save_model(target)
    if target != path:
        target.replace(path)


def load_iou_regressor(path: Path) -> Any:
    """Read a regressor saved with ``save_model`` (UBJSON)."""
    from xgboost import XGBRegressor

    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; the detector was saved with iou_scoring but no IoU model")
    regressor = XGBRegressor()
    regressor.load_model(path)
    return regressor


def rank_scores(confidence: np.ndarray, iou: np.ndarray | None) -> np.ndarray:
    """What NMS ranks candidates by: class probability x predicted IoU (just the probability without a regressor)."""
    confidence = np.asarray(confidence, dtype=np.float64)
    if iou is None:
        return confidence
    return confidence * np.asarray(iou, dtype=np.float64)
