"""The detector's threshold chosen on held-out labels (``DetectorSettings.calibration``).

The class probabilities of a span detector are not calibrated to the series it runs on:
with balanced class weights the classifier is fitted as if most candidates were patterns,
and the threshold that gives the best span F1 moved from about 0.5 on the real-price
benchmark to 0.9-0.95 on the sparse sample data (docs/BENCHMARKS.md). So a fixed
threshold suits one pattern rate only. With ``calibration = c`` the detector is first
fitted on all but the last ``c`` of the training candles (`split_series`: the last series
whole, the one the cut falls in cut in time), scores the candidates of the held-out candles
(the spans wholly inside are the truth), and takes
the highest threshold of `THRESHOLDS` whose span F1 there is within
``calibration_tolerance`` of the best (tolerance 0: the best, ties going to the one nearest
the configured threshold); the final detector is then fitted on every candle with that
threshold. Too few held-out spans (`MIN_SPANS`) keep the configured threshold. The sweep
selects spans as `SpanDetector.predict` does (`ml_platform.shapes.nms.select_spans`).

With ``calibration_folds = k >= 2`` every candle is held out once instead (`fold_series`):
the training candles, in series order, are cut into ``k`` blocks of equal length; a
provisional detector is fitted without each block and scores it, and the threshold is
chosen on the k blocks' predictions together. A short labelled history then has all its
spans to calibrate on (``k`` provisional fits instead of one).

Why the highest threshold within a tolerance rather than the best: on tens of held-out spans
one span moves F1 by a few hundredths, so the best of 19 thresholds is partly noise, and the
held-out candles are the labelled ones, which annotators (and the review queue above all)
pick where patterns are: denser in patterns than the series the model then runs on, which
favours low thresholds. Leaning to precision inside the noise kept the review queue's
retrained detectors from wandering (docs/BENCHMARKS.md, "A threshold that leans to
precision").
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
        held_out.insert(0, _piece(candles, spans, cut, len(candles)))
        if cut > 0:
            fitted.insert(0, _piece(candles, spans, 0, cut))
    return fitted, held_out


def _piece(candles: pd.DataFrame, spans: pd.DataFrame, lo: int, hi: int) -> Series:
    """Candles ``lo..hi-1`` of a series with the spans wholly inside them, positions from 0."""
    inside = spans[(spans["start"] >= lo) & (spans["end"] < hi)]
    inside = inside.assign(start=inside["start"] - lo, end=inside["end"] - lo)
    return candles.iloc[lo:hi].reset_index(drop=True), inside.reset_index(drop=True)


def fold_series(series: Sequence[Series], folds: int, fold: int) -> tuple[list[Series], list[Series]]:
    """Block `fold` of `folds` equal blocks of the training candles held out: (fitting series, held-out series).

    The candles are taken in series order; a series a block boundary falls in is cut in
    time, its pieces before and after the block fitted as separate series. Spans go with the
    piece they lie wholly inside (a span across a cut is left out); positions start at 0.
    """
    total = sum(len(candles) for candles, _ in series)
    lo, hi = round(fold * total / folds), round((fold + 1) * total / folds)
    fitted: list[Series] = []
    held_out: list[Series] = []
    offset = 0
    for candles, spans in series:
        n = len(candles)
        a, b = min(max(lo - offset, 0), n), min(max(hi - offset, 0), n)  # the block within this series
        for piece_lo, piece_hi, into in ((0, a, fitted), (a, b, held_out), (b, n, fitted)):
            if piece_hi > piece_lo:
                into.append(_piece(candles, spans, piece_lo, piece_hi))
        offset += n
    return fitted, held_out


def _spans(frame: pd.DataFrame, offset: int) -> list[Span]:
    starts, ends = frame["start"].to_numpy(dtype=int) + offset, frame["end"].to_numpy(dtype=int) + offset
    return [Span(str(label), int(s), int(e)) for label, s, e in zip(frame["label"], starts, ends, strict=True)]


def best_threshold(
    detector: SpanDetector, held_out: Sequence[Series], *, preferred: float, tolerance: float = 0.0
) -> tuple[float, float]:
    """The threshold of `THRESHOLDS` chosen on `held_out`, and its span F1 there.

    With `tolerance` 0 the one with the best span F1, ties going to the threshold nearest
    `preferred`; else the highest threshold whose F1 is at least the best minus `tolerance`.
    """
    return _sweep([(detector, held_out)], preferred=preferred, tolerance=tolerance)


def _choose(results: Sequence[tuple[float, float]], *, preferred: float, tolerance: float) -> tuple[float, float]:
    """(threshold, F1) picked from the sweep's (threshold, F1) pairs: see `best_threshold`."""
    best = max(f1 for _, f1 in results)
    if tolerance > 0:
        return max((t, f1) for t, f1 in results if f1 >= best - tolerance - 1e-12)
    f1, _, threshold = max((f1, -abs(t - preferred), t) for t, f1 in results)
    return threshold, f1


def _sweep(
    scorers: Sequence[tuple[SpanDetector, Sequence[Series]]], *, preferred: float, tolerance: float = 0.0
) -> tuple[float, float]:
    """`best_threshold` over several (detector, its held-out series) pairs pooled."""
    truth: list[Span] = []
    scored_parts: list[tuple[int, pd.DataFrame]] = []
    nms_iou = scorers[0][0].settings.nms_iou
    for detector, held_out in scorers:
        for candles, spans in held_out:
            offset = len(scored_parts) * 10_000_000  # one position space for all parts
            truth += _spans(spans, offset)
            scored_parts.append((offset, detector.score(candles)))
    results = []
    for threshold in THRESHOLDS:
        predicted = [
            span for offset, scored in scored_parts for span in _spans(select_spans(scored, threshold, nms_iou), offset)
        ]
        results.append((threshold, float(match_spans(truth, predicted)["span_f1"])))
    return _choose(results, preferred=preferred, tolerance=tolerance)


def calibrated_settings(
    fit: Callable[..., SpanDetector], series: Sequence[Series], settings: DetectorSettings
) -> DetectorSettings:
    """`settings` with the threshold chosen on held-out labels (unchanged when there are too few).

    `fit` is called as ``fit(series, settings=...)`` (``SpanDetector.fit`` with the caller's other arguments).
    """
    k = settings.calibration_folds
    splits = [split_series(series, settings.calibration)] if k < 2 else [fold_series(series, k, f) for f in range(k)]
    # a fold is usable when something is left to fit on and something held out to score
    usable = [
        (fitted, held) for fitted, held in splits if any(len(s) for _, s in fitted) and any(len(s) for _, s in held)
    ]
    n_held = sum(len(spans) for _, held in usable for _, spans in held)
    if n_held < MIN_SPANS:
        logger.warning(
            "calibration: %d held-out spans with something to fit on (need %d): keeping threshold %s",
            n_held,
            MIN_SPANS,
            settings.threshold,
        )
        return settings
    plain = msgspec.structs.replace(settings, calibration=0.0)
    scorers = [(fit(fitted, settings=plain), held) for fitted, held in usable]
    threshold, f1 = _sweep(scorers, preferred=settings.threshold, tolerance=settings.calibration_tolerance)
    logger.info(
        "calibration: threshold %s (span F1 %.3f on %d held-out spans, tolerance %s)",
        threshold,
        f1,
        n_held,
        settings.calibration_tolerance,
    )
    return msgspec.structs.replace(settings, threshold=threshold)
