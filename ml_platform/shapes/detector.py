"""`SpanDetector`: chart-pattern spans from candidate spans, a classifier and NMS.

Fit: every training series is turned into candidate spans (`candidates.py`), each
candidate gets the label of the annotated span it overlaps most with IoU >= ``settings.match_iou``
(else ``O``) and its shape features (`features.py`), and the configured model type (the wrappers of
`ml_platform.training.models`, a `TrainingConfig`'s hyperparameters) is fitted with class weights
(``training.class_weights``). ``O`` candidates are subsampled to ``settings.negatives_per_positive``
per labelled one, keeping those partly overlapping an annotated span (they teach where a pattern
starts and ends) unless ``settings.ignore_iou`` leaves such near-misses out. ``settings.mirror_labels``
also fits every series upside down with mirrored labels (a double top upside down is a double bottom).

Predict: each candidate takes its most probable pattern label; those with probability >=
``settings.threshold`` go through greedy NMS across labels (``settings.nms_iou``), ranked by
probability, or by probability x predicted IoU with ``settings.iou_scoring`` (`quality.py`).

Storage: ``detector.json`` (settings, classes, lengths, features, model type), the model file, ``iou_model.ubj``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from ml_platform import storage
from ml_platform.config import TrainingConfig
from ml_platform.shapes import calibration, quality
from ml_platform.shapes.candidates import Candidates, length_range, match_candidates, propose_candidates
from ml_platform.shapes.features import SeriesArrays, feature_names, shape_features
from ml_platform.shapes.nms import select_spans
from ml_platform.shapes.pivots import Pivots
from ml_platform.shapes.settings import DetectorSettings
from ml_platform.training.models import get_model_type
from ml_platform.training.weights import class_weight_map

__all__ = ["DetectorMeta", "DetectorSettings", "SpanDetector"]

logger = logging.getLogger(__name__)

OUTSIDE = "O"
META_FILE = "detector.json"
FORMAT_VERSION = 1
CHUNK = 100_000
"""Candidates whose features are built and scored at once (bounds memory on long series)."""
HARD_NEGATIVE_IOU = 0.2
"""``O`` candidates overlapping an annotated span at least this much are always kept for the fit."""
CANDLE_COLUMNS = ("open", "high", "low", "close", "volume")
PREDICTION_COLUMNS = ("start", "end", "label", "confidence")


class DetectorMeta(msgspec.Struct, frozen=True, kw_only=True):
    """``detector.json``: everything but the model file."""

    version: int
    settings: DetectorSettings
    model_type: str
    model_file: str
    classes: list[str]
    lengths: tuple[int, int]
    feature_names: list[str]
    iou_model_file: str | None = None


@dataclass(frozen=True)
class _Prepared:
    """One series' candidates, pivots and range helpers."""

    candidates: Candidates
    pivots: list[Pivots]
    arrays: SeriesArrays


def _check_candles(candles: pd.DataFrame, where: str) -> None:
    missing = [c for c in CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise ValueError(f"{where}: candles lack columns {missing}; give the canonical frame of ml_platform.candles")


def _check_spans(spans: pd.DataFrame, n_candles: int, where: str) -> pd.DataFrame:
    missing = [c for c in ("start", "end", "label") if c not in spans.columns]
    if missing:
        raise ValueError(f"{where}: spans lack columns {missing}; give int start, end (inclusive) and str label")
    spans = spans.loc[spans["label"].astype(str) != OUTSIDE]
    start, end = spans["start"].to_numpy(dtype=np.int64), spans["end"].to_numpy(dtype=np.int64)
    bad = (start < 0) | (end >= n_candles) | (start > end)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}: span {start[i]}..{end[i]} ({spans['label'].iloc[i]}) is not within 0..{n_candles - 1} "
            "with start <= end; spans are inclusive candle positions into their candles"
        )
    return spans


class SpanDetector:
    """A fitted span detector; build it with `SpanDetector.fit` or `SpanDetector.load`.

    Attributes
    ----------
    settings : DetectorSettings
    model_type : str  (``xgboost`` or ``random_forest``)
    classes : list of str
        ``O`` first, then the pattern labels; class ``i`` of the estimator is ``classes[i]``.
    lengths : (int, int)  (the candidate length range learnt from the training spans)
    estimator : fitted classifier with ``predict_proba``.
    iou_model : fitted IoU regressor with ``predict``, or None (``settings.iou_scoring`` off).
    """

    def __init__(
        self,
        *,
        settings: DetectorSettings,
        model_type: str,
        classes: Sequence[str],
        lengths: tuple[int, int],
        estimator: Any,
        iou_model: Any = None,
    ) -> None:
        self.settings = settings
        self.model_type = model_type
        self.classes = list(classes)
        self.lengths = (int(lengths[0]), int(lengths[1]))
        self.estimator = estimator
        self.iou_model = iou_model

    @property
    def feature_names(self) -> list[str]:
        return feature_names(self.settings)

    # ------------------------------------------------------------------ fit

    @classmethod
    def fit(
        cls,
        series: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
        *,
        settings: DetectorSettings | None = None,
        model_type: str = "xgboost",
        seed: int = 0,
        training: TrainingConfig | None = None,
        n_jobs: int = 2,
    ) -> SpanDetector:
        """Fit on annotated series.

        Parameters
        ----------
        series : sequence of (candles, spans)
            candles: DataFrame with ``open high low close volume`` (``time`` is not used);
            spans: DataFrame with int ``start``, ``end`` (inclusive positions into that
            frame) and str ``label``; ``O`` spans are ignored.
        settings : DetectorSettings, default=DetectorSettings()
        model_type : {"xgboost", "random_forest"}, default="xgboost"
        seed : int, default=0
            Seeds the negative sampling and the estimator.
        training : TrainingConfig, default=TrainingConfig()
            Hyperparameters (``training.xgboost`` / ``training.random_forest``) and
            ``class_weights`` (unless ``settings.class_weights``); ``model_type``, ``seed`` unused.
        n_jobs : int, default=2
            Threads of the estimator (overrides the config's).
        """
        settings = settings or DetectorSettings()
        training = _with_threads(training or TrainingConfig(), n_jobs)
        wrapper = get_model_type(model_type)(training, seed=seed)
        checked = [_check_spans(spans, len(candles), f"series {i}") for i, (candles, spans) in enumerate(series)]
        for i, (candles, _) in enumerate(series):
            _check_candles(candles, f"series {i}")
        candles_list = [candles for candles, _ in series]
        if settings.calibration > 0:  # the threshold from a first fit on each series' earlier candles
            refit = partial(cls.fit, model_type=model_type, seed=seed, training=training, n_jobs=n_jobs)
            settings = calibration.calibrated_settings(refit, list(zip(candles_list, checked, strict=True)), settings)
        if settings.mirror_labels:
            candles_list += [mirrored(candles) for candles in candles_list]
            checked += [_mirror_spans(spans, settings.mirror_labels) for spans in checked]
        all_lengths = np.concatenate([(s["end"] - s["start"] + 1).to_numpy() for s in checked] or [np.zeros(0)])
        if len(all_lengths) == 0:
            raise ValueError("SpanDetector.fit: no pattern spans in any series; annotate at least one span")
        lengths = length_range(all_lengths, margin=settings.length_margin)
        rng = np.random.default_rng(seed)

        rows = [
            _training_rows(_prepare(candles, settings, lengths), spans, settings, rng)
            for candles, spans in zip(candles_list, checked, strict=True)
        ]
        x_all, label_all, iou_all = (np.concatenate([r[k] for r in rows]) for k in range(3))
        found = sorted(set(label_all.tolist()) - {OUTSIDE})
        annotated = sorted({str(v) for s in checked for v in s["label"]})
        if unmatched := sorted(set(annotated) - set(found)):
            logger.warning("no candidate matches the spans of %s at IoU >= %s", unmatched, settings.match_iou)
        if not found:
            raise ValueError(
                f"SpanDetector.fit: no candidate matches any annotated span at IoU >= {settings.match_iou}; "
                "add scales or edge_shifts to the settings, or lower match_iou"
            )
        classes = [OUTSIDE, *found]
        index = {label: i for i, label in enumerate(classes)}
        y = np.asarray([index[label] for label in label_all.tolist()], dtype=np.int64)
        weights = class_weight_map(y, classes, settings.class_weights or training.class_weights)
        estimator = wrapper.fit(x_all, y, class_weight=weights)
        iou_model = quality.fit_iou_regressor(x_all, iou_all, training, seed=seed) if settings.iou_scoring else None
        return cls(
            settings=settings,
            model_type=model_type,
            classes=classes,
            lengths=lengths,
            estimator=estimator,
            iou_model=iou_model,
        )

    # ------------------------------------------------------------------ predict

    def score(self, candles: pd.DataFrame) -> pd.DataFrame:
        """Every candidate of `candles` with its most probable pattern label (before threshold and NMS).

        Returns
        -------
        DataFrame with int ``start``, ``end``, str ``label``, float ``confidence`` (that
        label's probability) and float ``outside`` (the probability of ``O``), one row per
        candidate, sorted by start; with an IoU model also float ``iou`` (its predicted IoU).
        """
        _check_candles(candles, "SpanDetector.predict")
        prepared = _prepare(candles, self.settings, self.lengths)
        cands = prepared.candidates
        proba = np.zeros((len(cands), len(self.classes)))
        iou = np.zeros(len(cands))
        for a in range(0, len(cands), CHUNK):
            part = _subset(cands, slice(a, a + CHUNK))
            features = shape_features(prepared.arrays, part, prepared.pivots, settings=self.settings)
            proba[a : a + CHUNK] = self.estimator.predict_proba(features)
            if self.iou_model is not None and len(features):
                iou[a : a + CHUNK] = quality.predict_iou(self.iou_model, features)
        best = np.argmax(proba[:, 1:], axis=1) + 1 if len(self.classes) > 1 else np.zeros(len(cands), dtype=int)
        scored = pd.DataFrame(
            {
                "start": cands.start,
                "end": cands.end,
                "label": np.asarray(self.classes, dtype=object)[best],
                "confidence": proba[np.arange(len(cands)), best],
                "outside": proba[:, 0],
            }
        )
        return scored if self.iou_model is None else scored.assign(iou=iou)

    def predict(
        self, candles: pd.DataFrame, *, threshold: float | None = None, nms_iou: float | None = None
    ) -> pd.DataFrame:
        """Detected pattern spans in `candles`.

        Parameters
        ----------
        candles : DataFrame with ``open high low close volume``
        threshold, nms_iou : float, default from the settings

        Returns
        -------
        DataFrame with int ``start``, ``end`` (inclusive positions into `candles`), str
        ``label`` and float ``confidence``, sorted by start.
        """
        threshold = self.settings.threshold if threshold is None else threshold
        nms_iou = self.settings.nms_iou if nms_iou is None else nms_iou
        chosen = select_spans(self.score(candles), threshold, nms_iou).loc[:, list(PREDICTION_COLUMNS)]
        return chosen.sort_values(["start", "end"], kind="stable").reset_index(drop=True)

    # ------------------------------------------------------------------ storage

    def save(self, directory: str | Path) -> Path:
        """Write ``detector.json`` and the model file into `directory` (created); returns the folder."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        model_class = get_model_type(self.model_type)
        model_file = f"model{model_class.file_suffix}"
        storage.write_atomic(directory / model_file, lambda path: model_class.save(self.estimator, path))
        if (iou_model := self.iou_model) is not None:
            storage.write_atomic(
                directory / quality.IOU_MODEL_FILE, lambda path: quality.save_iou_regressor(iou_model, path)
            )
        meta = DetectorMeta(
            version=FORMAT_VERSION,
            settings=self.settings,
            model_type=self.model_type,
            model_file=model_file,
            classes=self.classes,
            lengths=self.lengths,
            feature_names=self.feature_names,
            iou_model_file=None if self.iou_model is None else quality.IOU_MODEL_FILE,
        )
        encoded = msgspec.json.format(msgspec.json.encode(meta), indent=2)
        storage.write_atomic(directory / META_FILE, lambda path: path.write_bytes(encoded))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> SpanDetector:
        """Read a detector written by `save`.

        A ``detector.json`` from before ``DetectorSettings.breakout_ends`` (or
        ``geometry_scales``) existed loads with it off, so the detector proposes the
        candidates (and computes the features) it was trained on.
        """
        directory = Path(directory)
        path = directory / META_FILE
        if not path.is_file():
            raise FileNotFoundError(f"SpanDetector.load: {path} does not exist; give a folder written by save()")
        raw = path.read_bytes()
        meta = msgspec.json.decode(raw, type=DetectorMeta)
        saved = msgspec.json.decode(raw).get("settings", {})
        for field, before in (("breakout_ends", False), ("geometry_scales", ())):
            if field not in saved:  # written before the field existed: as it was trained
                meta = msgspec.structs.replace(meta, settings=msgspec.structs.replace(meta.settings, **{field: before}))
        if meta.version != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {meta.version} is not {FORMAT_VERSION}; retrain the detector")
        if meta.feature_names != feature_names(meta.settings):
            raise ValueError(f"{path}: its feature names differ from this code's; retrain the detector")
        estimator = get_model_type(meta.model_type).load(directory / meta.model_file)
        if meta.settings.iou_scoring and meta.iou_model_file is None:
            raise ValueError(f"{path}: settings.iou_scoring is on but no iou_model_file is named; retrain")
        iou_model = quality.load_iou_regressor(directory / meta.iou_model_file) if meta.iou_model_file else None
        return cls(
            settings=meta.settings,
            model_type=meta.model_type,
            classes=meta.classes,
            lengths=meta.lengths,
            estimator=estimator,
            iou_model=iou_model,
        )


# --------------------------------------------------------------------------- helpers


def _with_threads(training: TrainingConfig, n_jobs: int) -> TrainingConfig:
    replace = msgspec.structs.replace
    return replace(
        training,
        xgboost=replace(training.xgboost, n_jobs=n_jobs),
        random_forest=replace(training.random_forest, n_jobs=n_jobs),
    )


def mirrored(candles: pd.DataFrame) -> pd.DataFrame:
    """`candles` upside down: prices negated, high and low swapped (volume and time kept)."""
    flipped = candles.copy()
    flipped["open"], flipped["close"] = -candles["open"], -candles["close"]
    flipped["high"], flipped["low"] = -candles["low"], -candles["high"]
    return flipped


def _mirror_spans(spans: pd.DataFrame, mirror: dict[str, str]) -> pd.DataFrame:
    labels = spans["label"].astype(str)
    if unmapped := sorted(set(labels) - set(mirror)):
        raise ValueError(
            f"DetectorSettings.mirror_labels has no mirror for {unmapped}; add them (a symmetric shape maps to "
            "itself) or leave mirror_labels empty"
        )
    return spans.assign(label=labels.map(mirror))


def _subset(candidates: Candidates, rows: slice | np.ndarray) -> Candidates:
    return Candidates(candidates.start[rows], candidates.end[rows], candidates.scale[rows])


def _prepare(candles: pd.DataFrame, settings: DetectorSettings, lengths: tuple[int, int]) -> _Prepared:
    high, low, close = (candles[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close"))
    candidates, pivots = propose_candidates(high, low, close, settings=settings, lengths=lengths)
    arrays = SeriesArrays.from_candles(candles, settings=settings, max_length=lengths[1])
    return _Prepared(candidates, pivots, arrays)


def _training_rows(
    prepared: _Prepared, spans: pd.DataFrame, settings: DetectorSettings, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and IoU targets of one series' training candidates: the labelled, the hard ``O``, a sample."""
    cands = prepared.candidates
    span_start, span_end = spans["start"].to_numpy(dtype=np.int64), spans["end"].to_numpy(dtype=np.int64)
    span_label = spans["label"].astype(str).to_numpy(dtype=object)
    # one matching at the lowest IoU any rule below needs: the best span is the same whatever the threshold
    hard_iou, ignore_iou = min(HARD_NEGATIVE_IOU, settings.match_iou), min(settings.ignore_iou, settings.match_iou)
    iou, best = match_candidates(cands.start, cands.end, span_start, span_end, min_iou=min(hard_iou, ignore_iou))
    positive = iou >= settings.match_iou
    best = np.where(positive, best, -1)
    ignored = ~positive & (iou >= ignore_iou)  # the ignore zone: near-misses are neither pattern nor O
    hard = ~positive & ~ignored & (iou >= hard_iou)
    easy = np.flatnonzero(~positive & ~hard & ~ignored)
    budget = int(settings.negatives_per_positive * positive.sum()) - int(hard.sum())
    if settings.negatives_per_positive > 0 and budget < len(easy):
        easy = rng.choice(easy, size=max(budget, 0), replace=False)
    rows = np.sort(np.concatenate([np.flatnonzero(positive | hard), easy]))
    labels = np.full(len(rows), OUTSIDE, dtype=object)
    matched = positive[rows]
    labels[matched] = span_label[best[rows][matched]]
    features = shape_features(prepared.arrays, _subset(cands, rows), prepared.pivots, settings=settings)
    return features, labels, quality.iou_targets(cands.start[rows], cands.end[rows], span_start, span_end)
