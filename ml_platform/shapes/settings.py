"""`DetectorSettings`: the span detector's options, as one frozen msgspec Struct.

Imports only msgspec, so the pipeline config can embed it (as ``labeling.span``) without
a cycle. Every field has a default that works on hourly FX-like series with patterns of
15-60 candles; the docstring of each field says what it trades off.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


class DetectorSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Options of candidate proposal, shape features, labelling, and span resolution.

    Parameters
    ----------
    scales : tuple of float, default=(1.0, 1.5, 2.5, 4.0, 6.0)
        Zigzag reversals in ATRs; each gives one set of pivots and so one scale of candidates.
        Adding 2.0 raised the real-price benchmark's span F1 with noisy labels from 0.30 to
        0.38 on later candles and 0.28 to 0.31 on unseen instruments (with breakout ends), but
        2.0 is also the reversal its rule labels use, so that gain may not carry over to human
        labels (docs/BENCHMARKS.md, "Chart shapes on real prices"); the benchmark sets it.
    min_pivots, max_pivots : int, default=3, 7
        Candidates are the runs of ``min_pivots..max_pivots`` consecutive pivots (a double
        top is about 5 pivots, a head and shoulders about 7, a flag 3-4).
    edge_shifts : tuple of float, default=(0.0,)
        Start/end variants of every pivot run, as fractions of its length: each start is
        moved by every shift and each end likewise (``len(edge_shifts) ** 2`` variants;
        ``(0.0,)`` keeps the pivot runs only). ``(-0.1, 0.0, 0.1)`` raised the median best IoU
        with planted spans from 0.86 to 0.95 for 6.5x the candidates.
    breakout_ends : bool, default=True
        Also propose every pivot run ending at its breakout, the first close beyond the
        run's second-to-last pivot (`ml_platform.shapes.candidates.breakout_candles`): where
        a chart book (and `ml_platform.shapes.rules`) ends a confirmed shape. On the
        real-price benchmark it did not measurably help (span F1 with noisy labels 0.40 with
        against 0.46 without on later candles, 0.33 both on unseen, with the 2.0 scale and
        mirroring; about 1.5x the candidates), so the benchmark turns it off.
    pivot_ends : bool, default=True
        Keep the pivot runs that end on their last pivot; False (with ``breakout_ends``)
        proposes only the runs ending at their breakout.
    length_margin : float, default=0.25
        Candidates are kept when their length lies within the training spans' lengths
        widened by this fraction (``min * (1 - margin)`` .. ``max * (1 + margin)``).
    atr_period : int, default=14
        Candles in the ATR that scales the zigzag and the amplitude features.
    path_points : int, default=20
        Points the span's close, high and low paths are resampled to.
    profile_points : int, default=6
        Points the volume and volatility profiles are resampled to.
    context : float, default=1.0
        Candles before the span that the context features look at, in span lengths.
    after : float, default=0.25
        Candles after the span that the "move after the end" looks at, in span lengths
        (0 disables it: a live, causal use should not need candles after the end).
    match_iou : float, default=0.6
        A training candidate takes the label of the annotated span it overlaps most when
        their IoU is at least this; else it is ``O``. Stricter than the evaluation's 0.5, so
        the model learns to prefer well-placed spans (on the shape-only sample data: span
        F1 0.95 against 0.91 with 0.5; 0.7 leaves some spans without a positive, 0.93).
    ignore_iou : float, default=1.0
        Training candidates whose best IoU with an annotated span is at least this but below
        ``match_iou`` are left out of the fit (an ignore zone, as in object detectors): a
        near-miss is neither taught as the pattern nor as ``O``. At or above ``match_iou``
        (the default) every candidate is used.
    negatives_per_positive : float, default=30.0
        At most this many ``O`` candidates per labelled one are kept for the fit (a random
        sample, seeded); 0 keeps them all.
    threshold : float, default=0.5
        A candidate is predicted when its best pattern probability is at least this.
    mirror_labels : dict of str to str, default={}
        Training augmentation: when not empty, every training series is also fitted upside
        down (prices negated, high and low swapped) with each span's label mapped by this
        (``{"double_top": "double_bottom", "double_bottom": "double_top", "bull_flag":
        "bear_flag", ...}``; a shape that is its own mirror maps to itself). Every
        annotated label must be a key. Doubles the training candidates.
    calibration : float, default=0.0
        When above 0, the threshold is chosen on held-out labels: a first fit without the last
        ``calibration`` of the training candles (whole series from the end, one series cut in
        time), the threshold (0.05-0.95) with the best span F1 on them, then the final fit on every candle
        (`ml_platform.shapes.calibration`; about twice the fit time). Fewer than 5 held-out
        spans keep ``threshold``.
    calibration_folds : int, default=1
        1: the threshold is chosen on the last ``calibration`` of the candles (above). k >= 2:
        on every candle, held out in k equal blocks with a provisional fit without each
        (`ml_platform.shapes.calibration.fold_series`; k + 1 fits in all), so a short
        labelled history has all its spans to calibrate on; ``calibration`` > 0 only turns
        it on.
    calibration_tolerance : float, default=0.05
        With ``calibration``: the threshold chosen is the highest whose held-out span F1 is
        within this of the best (0: the best). Tens of held-out spans make the best of 19
        thresholds partly noise, and labelled candles are denser in patterns than the series
        the model runs on, which favours low thresholds; on the sparse review-queue benchmark
        0.05 instead of 0 kept the retrained detectors from wandering (docs/BENCHMARKS.md,
        "A threshold that leans to precision").
    nms_iou : float, default=0.1
        Non-maximum suppression drops a span overlapping a more confident one (any label)
        with IoU above this. One stretch of candles holds one pattern: 0.3 left pieces of
        patterns standing beside them (span precision 0.70 against 0.88 with 0.1).
    iou_scoring : bool, default=False
        IoU-aware scoring (`ml_platform.shapes.quality`): also fit an XGBoost regressor of
        each training candidate's best IoU with an annotated span, and rank candidates for
        NMS by class probability x predicted IoU, so the better-placed of near-duplicate
        candidates wins (the threshold still applies to the class probability). Adds one
        XGBoost regression fit on the classifier's training rows. On the real-price
        benchmark it did not win: over two seeds, span F1 with noisy labels 0.41 against
        0.45 on later candles and 0.33 against 0.34 on unseen instruments; the predicted IoU
        barely tracks the true IoU on unseen instruments (docs/BENCHMARKS.md, "IoU-aware
        scoring"). Off by default.
    class_weights : {"balanced", "none"} or None, default=None
        The classifier's class weights; None takes ``training.class_weights`` (shared with the
        BIO models). "balanced" gives every class, ``O`` included, the same total weight, so
        the detector is fitted as if most candidates were patterns and over-predicts where
        patterns are rare; "none" keeps the training rows' own prior. On the sample data
        "none" raised full-label span F1 from 0.45-0.54 to 0.83-0.88 (sparse patterns) and
        0.77-0.81 to 0.91-0.93 (dense); on the real-price benchmark it is the same model at
        another operating point (0.11-0.34 at threshold 0.5, 0.31-0.46 at 0.15, against
        0.32-0.46 balanced at 0.5), so it needs a lower threshold there (docs/BENCHMARKS.md).
    edge_features : bool, default=False
        Add the edge features of `ml_platform.shapes.edges` (where the span starts and ends
        relative to its pivots, its confirmation and invalidation, in ATRs).
    geometry_scales : tuple of float, default=(1.5, 2.5)
        Zigzag reversals (ATRs) at which every candidate's pivot geometry is also measured in
        ATRs, whichever scale proposed it (`ml_platform.shapes.geometry`: pivot levels and
        spacing, breaks, overshoot, retrace); a scale not among ``scales`` gets its own
        zigzag (`pivot_levels`). Empty: off. On the real-price benchmark (3 seeds) span F1
        on unseen instruments rose from 0.34 to 0.44 (clean labels) and 0.33 to 0.43
        (noisy), later candles 0.45 to 0.43 and 0.44 to 0.41; on the shape-only sample data
        within a span or two (0.959 to 0.946 in one check, 0.833 to 0.878 in another); about
        10% slower cold prediction (docs/BENCHMARKS.md, "Pivot geometry at fixed scales").
    exclude_features : tuple of str, default=()
        fnmatch patterns of shape feature names the classifier does not see (``("path_*",
        "volume_*")``); `ml_platform.shapes.features.feature_names` lists them.
    """

    scales: tuple[PositiveFloat, ...] = (1.0, 1.5, 2.5, 4.0, 6.0)
    min_pivots: Annotated[int, msgspec.Meta(ge=2)] = 3
    max_pivots: Annotated[int, msgspec.Meta(ge=2)] = 7
    edge_shifts: tuple[Annotated[float, msgspec.Meta(ge=-0.5, le=0.5)], ...] = (0.0,)
    breakout_ends: bool = True
    pivot_ends: bool = True
    length_margin: Fraction = 0.25
    atr_period: Annotated[int, msgspec.Meta(ge=1)] = 14
    path_points: Annotated[int, msgspec.Meta(ge=4)] = 20
    profile_points: Annotated[int, msgspec.Meta(ge=2)] = 6
    context: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    after: Annotated[float, msgspec.Meta(ge=0)] = 0.25
    match_iou: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.6
    ignore_iou: Fraction = 1.0
    negatives_per_positive: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    threshold: Fraction = 0.5
    calibration: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.0
    calibration_folds: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1
    calibration_tolerance: Annotated[float, msgspec.Meta(ge=0, le=0.5)] = 0.05
    nms_iou: Fraction = 0.1
    mirror_labels: dict[str, str] = msgspec.field(default_factory=dict)
    iou_scoring: bool = False
    class_weights: Literal["balanced", "none"] | None = None
    edge_features: bool = False
    geometry_scales: tuple[PositiveFloat, ...] = (1.5, 2.5)
    exclude_features: tuple[str, ...] = ()

    def pivot_levels(self) -> tuple[float, ...]:
        """The zigzag reversals computed: ``scales``, then the ``geometry_scales`` not among them."""
        return self.scales + tuple(k for k in dict.fromkeys(self.geometry_scales) if k not in self.scales)

    def __post_init__(self) -> None:
        if not self.scales:
            raise ValueError("DetectorSettings.scales is empty: give at least one zigzag reversal, e.g. (1.0, 2.5)")
        if self.min_pivots > self.max_pivots:
            raise ValueError(
                f"DetectorSettings.min_pivots={self.min_pivots} > max_pivots={self.max_pivots}: "
                "swap them or make max_pivots larger"
            )
        if not self.edge_shifts:
            raise ValueError("DetectorSettings.edge_shifts is empty: use (0.0,) for pivot runs without variants")
