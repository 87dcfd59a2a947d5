"""Checks on each annotation's content, the `min_confidence` filter, and the skip report.

An invalid annotation is skipped, never guessed at: the labeling run logs one warning
listing every skipped id and its reasons, counts them in the statistics, and with
``labeling.strict: true`` fails instead. The reasons (`SkippedAnnotation.kinds`):

=========================  ===================================================================
``unknown_pair``           the pair is not in ``partitions.pairs``
``unknown_timeframe``      the timeframe is not in ``partitions.timeframes``
``end_before_start``       ``end_time < start_time``
``confidence_out_of_range`` the confidence is not in [0, 1]
``unknown_label``          the label is neither ``O`` nor one of ``labeling.labels``
``outside_candles``        the span covers no candle of the series (see `snapping`)
``in_warmup``              the span covers only candles that enriched_features drops as warm-up
=========================  ===================================================================

The first five need no candles (`validate_annotations`); the last two are found when the
spans are snapped to a partition's candles.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ml_platform.config import PipelineConfig
from ml_platform.labeling.annotations import Annotation
from ml_platform.labeling.errors import InvalidAnnotationsError
from ml_platform.labeling.spans import NEGATIVE_LABEL

logger = logging.getLogger(__name__)

UNKNOWN_PAIR = "unknown_pair"
UNKNOWN_TIMEFRAME = "unknown_timeframe"
END_BEFORE_START = "end_before_start"
CONFIDENCE_OUT_OF_RANGE = "confidence_out_of_range"
UNKNOWN_LABEL = "unknown_label"
OUTSIDE_CANDLES = "outside_candles"
IN_WARMUP = "in_warmup"
SKIP_KINDS = (
    UNKNOWN_PAIR,
    UNKNOWN_TIMEFRAME,
    END_BEFORE_START,
    CONFIDENCE_OUT_OF_RANGE,
    UNKNOWN_LABEL,
    OUTSIDE_CANDLES,
    IN_WARMUP,
)
_LISTED_IN_WARNING = 50


@dataclass(frozen=True)
class SkippedAnnotation:
    """An annotation left out of the training data, and why.

    kinds : tuple of str
        Every reason that applies, from `SKIP_KINDS`.
    reason : str
        The same reasons for a person, with the values at fault, joined by ``"; "``.
    """

    id: str
    pair: str
    timeframe: str
    kinds: tuple[str, ...]
    reason: str

    @classmethod
    def of(cls, annotation: Annotation, problems: Sequence[tuple[str, str]]) -> SkippedAnnotation:
        return cls(
            id=annotation.id,
            pair=annotation.pair,
            timeframe=annotation.timeframe,
            kinds=tuple(kind for kind, _ in problems),
            reason="; ".join(text for _, text in problems),
        )


def validate_annotations(
    annotations: Iterable[Annotation],
    *,
    pairs: Sequence[str],
    timeframes: Sequence[str],
    labels: Sequence[str],
) -> tuple[list[Annotation], list[SkippedAnnotation]]:
    """Split annotations into valid ones and skipped ones (the checks that need no candles).

    Parameters
    ----------
    annotations : iterable of Annotation
    pairs, timeframes : sequence of str
        The configured partitions.
    labels : sequence of str
        The human label set (``labeling.labels`` names); ``O`` is always allowed.

    Returns
    -------
    valid : list of Annotation
        In input order.
    skipped : list of SkippedAnnotation
        One per invalid annotation, with all of its reasons.
    """
    known_pairs, known_timeframes, known_labels = set(pairs), set(timeframes), set(labels) | {NEGATIVE_LABEL}
    valid: list[Annotation] = []
    skipped: list[SkippedAnnotation] = []
    for annotation in annotations:
        problems: list[tuple[str, str]] = []
        if annotation.pair not in known_pairs:
            problems.append(
                (UNKNOWN_PAIR, f"pair {annotation.pair!r} is not configured (partitions.pairs: {', '.join(pairs)})")
            )
        if annotation.timeframe not in known_timeframes:
            problems.append(
                (
                    UNKNOWN_TIMEFRAME,
                    f"timeframe {annotation.timeframe!r} is not configured "
                    f"(partitions.timeframes: {', '.join(timeframes)})",
                )
            )
        if annotation.end_time < annotation.start_time:
            problems.append(
                (END_BEFORE_START, f"end_time {annotation.end_time} is before start_time {annotation.start_time}")
            )
        if not (math.isfinite(annotation.confidence) and 0.0 <= annotation.confidence <= 1.0):
            problems.append((CONFIDENCE_OUT_OF_RANGE, f"confidence {annotation.confidence!r} is not in [0, 1]"))
        if annotation.label not in known_labels:
            problems.append(
                (UNKNOWN_LABEL, f"label {annotation.label!r} is not in labeling.labels ({', '.join(labels)}) nor 'O'")
            )
        if problems:
            skipped.append(SkippedAnnotation.of(annotation, problems))
        else:
            valid.append(annotation)
    return valid, skipped


def validate_for_config(
    annotations: Iterable[Annotation], config: PipelineConfig
) -> tuple[list[Annotation], list[SkippedAnnotation]]:
    """`validate_annotations` with the pairs, timeframes and labels of `config`."""
    return validate_annotations(
        annotations,
        pairs=config.partitions.pairs,
        timeframes=config.partitions.timeframes,
        labels=[spec.name for spec in config.labeling.labels],
    )


def filter_confidence(annotations: Iterable[Annotation], min_confidence: float) -> tuple[list[Annotation], int]:
    """Keep annotations with ``confidence >= min_confidence``; return them and how many were dropped."""
    annotations = list(annotations)
    kept = [annotation for annotation in annotations if annotation.confidence >= min_confidence]
    return kept, len(annotations) - len(kept)


def skipped_summary(skipped: Sequence[SkippedAnnotation], where: str, *, verb: str = "skipped") -> str:
    """The one warning for a batch of skipped annotations: a count by reason, then each id and reason.

    `verb` heads the first line: "skipped" for the warning, "found" for the strict-mode error
    (which skips nothing: it stops).
    """
    by_kind = Counter(kind for item in skipped for kind in item.kinds)
    counts = ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items()))
    lines = [f"{where}: {verb} {len(skipped)} invalid annotation{'s' if len(skipped) != 1 else ''} ({counts}):"]
    lines += [f"  {item.id} ({item.pair}|{item.timeframe}): {item.reason}" for item in skipped[:_LISTED_IN_WARNING]]
    if len(skipped) > _LISTED_IN_WARNING:
        lines.append(f"  ... and {len(skipped) - _LISTED_IN_WARNING} more")
    return "\n".join(lines)


def report_skipped(skipped: Sequence[SkippedAnnotation], *, strict: bool, where: str) -> str | None:
    """Log one warning for `skipped` (or raise with the same text when `strict`); return the text.

    Raises
    ------
    InvalidAnnotationsError
        `strict` is set and `skipped` is not empty.
    """
    if not skipped:
        return None
    if strict:
        raise InvalidAnnotationsError(
            skipped_summary(skipped, where, verb="found")
            + "\nlabeling.strict is true, so labeling stopped and nothing was written: fix these annotations in "
            "the web (or the export file), or set labeling.strict: false to skip them with a warning"
        )
    text = skipped_summary(skipped, where)
    logger.warning(text)
    return text
