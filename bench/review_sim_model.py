"""The review-queue benchmark's model: the span detector's fit options, the fit, and span scores on the test parts.

`FitOptions` holds what the bench lets a run change about the fit (`bench_review_queue.py`
``--negatives-per-positive``, ``--class-weights``, ``--train-empty``); its defaults are the
detector's and the training config's own, so a run without those options fits exactly as
before they existed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import pandas as pd
from review_sim_data import Series

from ml_platform.config import TrainingConfig
from ml_platform.shapes.detector import DetectorSettings, SpanDetector
from ml_platform.training.evaluation import Span, match_spans

THREADS = 2
MIN_TRAIN_CANDLES = 40

logger = logging.getLogger("bench_review_queue")


@dataclass(frozen=True)
class FitOptions:
    """What a run changes about the detector's fit; None / False: the defaults.

    negatives_per_positive: `DetectorSettings.negatives_per_positive` (None: the settings'
    default, 30; 0 keeps every ``O`` candidate). class_weights: ``training.class_weights``
    (None: the config's default, ``"balanced"``). train_empty: also fit on the labelled
    stretches that hold no marked span (pure negatives; the detector samples negatives per
    positive of each series, so they add rows only with ``negatives_per_positive`` 0).
    calibration: `DetectorSettings.calibration` (None: 0, the fixed threshold).
    calibration_folds: `DetectorSettings.calibration_folds` (None: 1, the last share held out).
    calibration_tolerance: `DetectorSettings.calibration_tolerance` (None: 0.05; 0: the best
    held-out threshold, the rule before the tolerance).
    """

    negatives_per_positive: float | None = None
    class_weights: str | None = None
    train_empty: bool = False
    calibration: float | None = None
    calibration_folds: int | None = None
    calibration_tolerance: float | None = None

    def describe(self) -> str:
        parts = []
        if self.negatives_per_positive is not None:
            parts.append(f"negatives_per_positive {self.negatives_per_positive:g}")
        if self.class_weights is not None:
            parts.append(f"class_weights {self.class_weights}")
        if self.train_empty:
            parts.append("pattern-free labelled stretches trained on")
        if self.calibration and (self.calibration_folds or 1) > 1:
            parts.append(f"threshold calibrated on {self.calibration_folds} folds of the labelled candles")
        elif self.calibration:
            parts.append(f"threshold calibrated on the last {self.calibration:g} of the labelled candles")
        if self.calibration and self.calibration_tolerance is not None:
            parts.append(f"calibration tolerance {self.calibration_tolerance:g}")
        return ", ".join(parts)


DEFAULT_FIT = FitOptions()


def training_config(options: FitOptions = DEFAULT_FIT) -> TrainingConfig:
    base = TrainingConfig()
    replace = msgspec.structs.replace
    config = replace(base, xgboost=replace(base.xgboost, n_estimators=100, max_depth=4))
    if options.class_weights is not None:
        config = replace(config, class_weights=options.class_weights)
    return config


def detector_settings(options: FitOptions = DEFAULT_FIT) -> DetectorSettings:
    settings = DetectorSettings()
    if options.negatives_per_positive is not None:
        settings = msgspec.structs.replace(settings, negatives_per_positive=options.negatives_per_positive)
    if options.calibration is not None:
        settings = msgspec.structs.replace(settings, calibration=options.calibration)
    if options.calibration_folds is not None:
        settings = msgspec.structs.replace(settings, calibration_folds=options.calibration_folds)
    if options.calibration_tolerance is not None:
        settings = msgspec.structs.replace(settings, calibration_tolerance=options.calibration_tolerance)
    return settings


def fit(
    train: list[tuple[pd.DataFrame, pd.DataFrame]], seed: int, options: FitOptions = DEFAULT_FIT
) -> SpanDetector | None:
    train = [(c, s) for c, s in train if len(c) >= MIN_TRAIN_CANDLES]
    if not any(len(s) for _, s in train):
        return None
    try:
        return SpanDetector.fit(
            train,
            settings=detector_settings(options),
            model_type="xgboost",
            seed=seed,
            training=training_config(options),
            n_jobs=THREADS,
        )
    except ValueError as error:  # e.g. no candidate matches any marked span yet
        logger.warning("fit failed: %s", error)
        return None


def span_scores(model: SpanDetector | None, tests: Sequence[Series]) -> dict[str, float]:
    """Span precision, recall, F1 and the predicted / true span counts over the test parts."""
    true, predicted = [], []
    for k, series in enumerate(tests):
        offset = k * 10_000_000
        true += [Span(str(r.label), int(r.start) + offset, int(r.end) + offset) for r in series.spans.itertuples()]
        if model is not None:
            found = model.predict(series.candles)
            predicted += [Span(str(r.label), int(r.start) + offset, int(r.end) + offset) for r in found.itertuples()]
    result = match_spans(true, predicted)
    keys = ("span_precision", "span_recall", "span_f1", "predicted_spans", "true_spans")
    return {key: float(result[key]) for key in keys}


def span_f1(model: SpanDetector | None, tests: Sequence[Series]) -> float:
    return span_scores(model, tests)["span_f1"]


def ceiling(
    pools: Sequence[Series], tests: Sequence[Series], seed: int, options: FitOptions = DEFAULT_FIT
) -> dict[str, float]:
    """Scores of the full-label model: every pool span labelled, each pool series one training series."""
    train = [(s.candles, s.spans) for s in pools]
    return span_scores(fit(train, seed, options), tests)
