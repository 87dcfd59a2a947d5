"""The detector's threshold chosen on held-out labels (``DetectorSettings.calibration``).

The class probabilities of a span detector are not calibrated to the series it runs on:
with balanced class weights the classifier is fitted as if most candidates were patterns,
and the threshold that gives the best span F1 moved from about 0.5 on the real-price
benchmark to 0.9-0.95 on the sparse sample data (docs/BENCHMARKS.md). So a fixed
threshold suits one pattern rate only. With ``calibration = c`` the detector is first
fitted on all but the last ``c`` of the training candles (`split_series`: the last series
whole, the one the cut falls in cut in time), scores the candidates of the held-out candles
(the spans wholly inside are the truth), and takes
the threshold of `THRESHOLDS` with the best span F1 there (ties: the one nearest the
configured threshold); the final detector is then fitted on every candle with that
threshold. Too few held-out spans (`MIN_SPANS`) keep the configured threshold. The sweep
selects spans as `SpanDetector.predict` does (`ml_platform.shapes.nms.select_spans`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import msgspec
import pandas as pd

from ml_platform.shapes.nms import select_spans
from ml_platform.shapes.settings import DetectorSettings
from ml_platform.training.evaluation import Span, match_spans

if TYPE_CHECKING:
    from ml_platform.shapes.detector import SpanDetector

logger = logging.getLogger(__name__)

THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))
"""Thresholds tried: 0.05, 0.10, ..., 0.95."""
MIN_SPANS = 5
"""Held-out spans needed to choose a threshold."""

Series = tuple[pd.DataFrame, pd.DataFrame]


def split_series(series: Sequence[Series], share: float) -> tuple[list[Series], list[Series]]:
    """The last `share` of the training candles held out: (fitting series, held-out series).

    Whole series are held out from the end of the list; the series the cut falls in is cut
    in time (one series, the pipeline's case: its first ``1 - share`` and last ``share``).
    Spans go with the part they lie wholly inside; held-out positions start at 0.
    """
    remaining = int(round(share * sum(len(candles) for candles, _ in series)))
    fitted: list[Series] = []
    held_out: list[Series] = []
    for candles, spans in reversed(series):
        if remaining <= 0:
            fitted.insert(0, (candles, spans))
            continue
        cut = max(len(candles) - remaining, 0)
        remaining -= len(candles) - cut
        after = spans[spans["start"] >= cut]
        after = after.assign(start=after["start"] - cut, end=after["end"] - cut)
        held_out.insert(0, (candles.iloc[cut:].reset_index(drop=True), after.reset_index(drop=True)))
        if cut > 0:
            before = spans[spans["end"] < cut]
            fitted.insert(0, (candles.iloc[:cut].reset_index(drop=True), before.reset_index(drop=True)))
    return fitted, held_out


def _spans(frame: pd.DataFrame, offset: int) -> list[Span]:
    starts, ends = frame["start"].to_numpy(dtype=int) + offset, frame["end"].to_numpy(dtype=int) + offset
    return [Span(str(label), int(s), int(e)) for label, s, e in zip(frame["label"], starts, ends, strict=True)]


def best_threshold(detector: SpanDetector, held_out: Sequence[Series], *, preferred: float) -> tuple[float, float]:
    """The threshold of `THRESHOLDS` with the best span F1 over `held_out`, and that F1.

    Ties go to the threshold nearest `preferred`.
    """
    truth: list[Span] = []
    scored_parts = []
    for k, (candles, spans) in enumerate(held_out):
        offset = k * 10_000_000  # one position space for all parts
        truth += _spans(spans, offset)
        scored_parts.append((offset, detector.score(candles)))
    results = []
    for threshold in THRESHOLDS:
        predicted = [
            span
            for offset, scored in scored_parts
            for span in _spans(select_spans(scored, threshold, detector.settings.nms_iou), offset)
        ]
        results.append((float(match_spans(truth, predicted)["span_f1"]), -abs(threshold - preferred), threshold))
    f1, _, threshold = max(results)
    return threshold, f1


def calibrated_settings(
    fit: Callable[..., SpanDetector], series: Sequence[Series], settings: DetectorSettings
) -> DetectorSettings:
    """`settings` with the threshold chosen on held-out labels (unchanged when there are too few).

    `fit` is called as ``fit(series, settings=...)`` (``SpanDetector.fit`` with the caller's other arguments).
    """
    fitted, held_out = split_series(series, settings.calibration)
    n_held = sum(len(spans) for _, spans in held_out)
    n_fitted = sum(len(spans) for _, spans in fitted)
    if n_held < MIN_SPANS or n_fitted == 0:
        logger.warning(
            "calibration: %d held-out and %d fitting spans (need %d and 1): keeping threshold %s",
            n_held,
            n_fitted,
            MIN_SPANS,
            settings.threshold,
        )
        return settings
    provisional = fit(fitted, settings=msgspec.structs.replace(settings, calibration=0.0))
    threshold, f1 = best_threshold(provisional, held_out, preferred=settings.threshold)
    logger.info("calibration: threshold %s (span F1 %.3f on %d held-out spans)", threshold, f1, n_held)
    return msgspec.structs.replace(settings, threshold=threshold)
