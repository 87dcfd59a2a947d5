"""`label_partition`: one partition's annotations and candles in, training data and statistics out.

The steps, each in its own module: validate (`validation`), filter by
``labeling.min_confidence``, snap to the raw candles (`snapping`), drop spans that only
cover the indicators' warm-up, TA-Lib CDL labels on the raw candles (`cdl`), merge the
sources (`merge`), then BIO tags (`bio`) or windows (`windows`), and statistics (`stats`).
All span work happens on the raw candle axis (where people annotated and TA-Lib has its
full look-back); the result is aligned to the enriched rows by time.

BIO file (``labeling.mode: bio`` and ``span``), one row per enriched_features row, none dropped:

- every enriched_features column, in order (``time``, OHLCV, features);
- ``tag``, ``tag_2``, ...: ``B-{label}``, ``I-{label}`` or ``O``, one column per overlap track
  (`bio`); a span that starts in the dropped warm-up shows ``I-`` on the first row;
- with ``merge_strategy: both`` also ``tag_human`` (``tag_human_2`` ...) and
  ``tag_programmatic`` (``tag_programmatic_2`` ...), while ``tag`` holds the
  ``human_priority`` merge; ``tag_programmatic`` is null where the CDL label is unknown;
- ``label_known`` (bool): False where the label is unknown, i.e. inside the CDL look-back
  with no human span (positive or negative) on the candle. ``tag`` reads ``O`` on those
  rows, but they are not "no pattern": drop them when training, and the statistics do
  not count them as ``O``. Always True when ``labeling.cdl.enabled`` is false.

Window file (``labeling.mode: window``): see `ml_platform.labeling.windows`.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml_platform.config import PipelineConfig
from ml_platform.labeling.annotations import Annotation, AnnotationSet
from ml_platform.labeling.bio import encode_bio, tag_columns
from ml_platform.labeling.cdl import ProgrammaticLabels, label_candles
from ml_platform.labeling.errors import LabelingError
from ml_platform.labeling.merge import MergeResult, merge_spans
from ml_platform.labeling.snapping import snap_annotations
from ml_platform.labeling.spans import NEGATIVE_LABEL, Spans, coverage, to_rows
from ml_platform.labeling.stats import DatasetStatistics, agreement, label_counts
from ml_platform.labeling.validation import (
    IN_WARMUP,
    SkippedAnnotation,
    filter_confidence,
    report_skipped,
    validate_for_config,
)
from ml_platform.labeling.windows import WindowSet, build_windows
from ml_platform.partitions import Partition

logger = logging.getLogger(__name__)

LABEL_KNOWN_COLUMN = "label_known"


@dataclass(frozen=True)
class LabelingResult:
    """What `label_partition` returns.

    frame : DataFrame
        The labelled file's content (BIO rows or windows; see the module docstring).
    statistics : DatasetStatistics
    skipped : list of SkippedAnnotation
        This partition's invalid or unusable annotations, with reasons.
    warning : str or None
        The one warning logged about `skipped` (for the caller's own log, e.g. Dagster's).
    """

    frame: pd.DataFrame
    statistics: DatasetStatistics
    skipped: list[SkippedAnnotation]
    warning: str | None


def label_partition(
    enriched: pd.DataFrame,
    raw_candles: pd.DataFrame,
    annotations: AnnotationSet | Iterable[Annotation],
    partition: Partition,
    config: PipelineConfig,
) -> LabelingResult:
    """Label one ``pair x timeframe`` partition.

    Parameters
    ----------
    enriched : DataFrame of shape (n_rows, 6 + n_features)
        The enriched_features rows: ``time`` then the other columns, in time order, each
        time also in `raw_candles`.
    raw_candles : DataFrame of shape (n_candles, 6)
        The partition's canonical candles (raw_candles), of which `enriched` is a subset.
    annotations : AnnotationSet or iterable of Annotation
        All annotations; this partition's are picked by pair and timeframe.
    partition : Partition
    config : PipelineConfig
        ``labeling`` (mode, labels, min_confidence, strict, merge_strategy, window, cdl,
        seed) and ``partitions`` (the known pairs and timeframes).

    Returns
    -------
    LabelingResult

    Raises
    ------
    InvalidAnnotationsError
        ``labeling.strict`` is set and an annotation is invalid (any reason): nothing is skipped.
    LabelingError
        `enriched` has rows that are not in `raw_candles` (stale upstream), a column
        named like an output column, or an unknown CDL pattern is configured.
    """
    labeling = config.labeling
    key = partition.key
    raw_times = raw_candles["time"].to_numpy(dtype=np.int64)
    n_raw = len(raw_times)
    row_index = align_rows(raw_times, enriched["time"].to_numpy(dtype=np.int64))
    selected = (
        annotations.for_partition(key)
        if isinstance(annotations, AnnotationSet)
        else [a for a in annotations if a.partition_key == key]
    )
    spans, skipped, below_confidence = _usable_spans(selected, raw_times, row_index, partition, config)
    warning = report_skipped(skipped, strict=labeling.strict, where=key)

    negatives = spans.take(spans.label == NEGATIVE_LABEL)
    human = spans.take(spans.label != NEGATIVE_LABEL)
    programmatic = (
        label_candles(raw_candles, labeling.cdl.patterns)
        if labeling.cdl.enabled
        else ProgrammaticLabels(Spans.empty(), np.ones(n_raw, dtype=bool), 0)
    )
    merged = merge_spans(human, programmatic.spans, negatives, labeling.merge_strategy, n_raw)
    human_labelled = coverage(human + negatives, n_raw) > 0
    known = programmatic.known | human_labelled

    windows: WindowSet | None = None
    if labeling.mode in ("bio", "span"):  # span training reads the per-candle tags back as spans
        frame, output_spans = _bio_frame(enriched, row_index, merged, programmatic, known, labeling.merge_strategy)
        sample_labels = encode_bio(output_spans, n_raw).entities(0)[row_index][known[row_index]]
        counted_spans = to_rows(output_spans + negatives, row_index)[0]
        unknown_rows = int((~known[row_index]).sum())
    else:
        rows_spans, _ = to_rows(merged.spans + negatives, row_index)
        blocked = ((coverage(human, n_raw) > 0) | ~known)[row_index]
        centre_blocked = (coverage(merged.programmatic, n_raw) > 0)[row_index]
        columns = [column for column in enriched.columns if column != "time"]
        rng = np.random.default_rng([labeling.seed, zlib.crc32(key.encode())])
        windows = build_windows(enriched, columns, rows_spans, blocked, centre_blocked, labeling.window, rng)
        frame, counted_spans = windows.frame, windows.spans
        sample_labels = frame["label"].to_numpy(dtype=object)
        unknown_rows = 0

    score, compared, kappa = None, 0, None  # no programmatic source to agree with
    if labeling.cdl.enabled:
        human_primary = encode_bio(human, n_raw).entities(0)
        programmatic_primary = encode_bio(programmatic.spans, n_raw).entities(0)
        score, compared, kappa = agreement(
            human_primary[row_index],
            human_labelled[row_index],
            programmatic_primary[row_index],
            programmatic.known[row_index],
        )
    by_reason: dict[str, int] = {}
    for item in skipped:
        for kind in item.kinds:
            by_reason[kind] = by_reason.get(kind, 0) + 1
    statistics = DatasetStatistics(
        partition=key,
        mode=labeling.mode,
        merge_strategy=labeling.merge_strategy,
        rows=len(frame),
        unknown_rows=unknown_rows,
        labels=label_counts(sample_labels, counted_spans),
        agreement=score,
        agreement_candles=compared,
        cohens_kappa=kappa,
        annotations_used=len(spans),
        invalid_skipped=len(skipped),
        skipped_by_reason=by_reason,
        below_min_confidence=below_confidence,
        programmatic_dropped_by_negative=merged.dropped_by_negative,
        dropped_by_priority=merged.dropped_by_priority,
        windows_dropped_at_edges=windows.dropped_at_edges if windows else 0,
        windows_padded_at_edges=windows.padded_at_edges if windows else 0,
        windows_with_reduced_padding=windows.reduced_padding if windows else 0,
        negative_windows=windows.negatives_sampled if windows else 0,
    )
    logger.info("labeled %s:\n%s", key, statistics.to_markdown())
    return LabelingResult(frame=frame, statistics=statistics, skipped=skipped, warning=warning)


def _usable_spans(
    annotations: list[Annotation],
    raw_times: np.ndarray,
    row_index: np.ndarray,
    partition: Partition,
    config: PipelineConfig,
) -> tuple[Spans, list[SkippedAnnotation], int]:
    """Validate, filter by confidence, snap to the raw candles, and drop spans hidden by the warm-up.

    Returns the spans (raw candle indices), every skipped annotation with its reasons, and
    how many annotations fell below ``labeling.min_confidence``.
    """
    valid, invalid = validate_for_config(annotations, config)
    kept, below_confidence = filter_confidence(valid, config.labeling.min_confidence)
    spans, outside = snap_annotations(kept, raw_times, partition.seconds)
    _, visible = to_rows(spans, row_index)
    by_id = {annotation.id: annotation for annotation in kept}
    warmup = int(row_index[0]) if len(row_index) else len(raw_times)
    in_warmup = [
        SkippedAnnotation.of(
            by_id[annotation_id],
            [
                (
                    IN_WARMUP,
                    f"the span covers only candles before the first enriched_features row "
                    f"(the first {warmup} candles are the indicators' warm-up)",
                )
            ],
        )
        for annotation_id in spans.id[~visible].tolist()
    ]
    return spans.take(visible), invalid + outside + in_warmup, below_confidence


def align_rows(raw_times: np.ndarray, enriched_times: np.ndarray) -> np.ndarray:
    """For each enriched row, its index in the raw candles (matched by time).

    Raises
    ------
    LabelingError
        A row whose time is not a raw candle's, or rows out of time order: the two
        upstream files are out of step.
    """
    index = np.searchsorted(raw_times, enriched_times)
    found = index < len(raw_times)
    found[found] = raw_times[index[found]] == enriched_times[found]
    if not found.all():
        first = int(enriched_times[np.flatnonzero(~found)[0]])
        raise LabelingError(
            f"{int((~found).sum())} enriched_features rows have times that are not in raw_candles (first: {first}): "
            "the files are out of step; materialize raw_candles and enriched_features again for this partition"
        )
    if np.any(np.diff(index) <= 0):
        raise LabelingError("enriched_features rows are not in strictly increasing time order")
    return index


def _bio_frame(
    enriched: pd.DataFrame,
    row_index: np.ndarray,
    merged: MergeResult,
    programmatic: ProgrammaticLabels,
    known: np.ndarray,
    strategy: str,
) -> tuple[pd.DataFrame, Spans]:
    """The BIO file's frame and the spans behind its ``tag`` columns."""
    n_raw = len(known)
    tag_spans = merged.spans
    if strategy == "both":
        tag_spans = merge_spans(merged.human, merged.programmatic, Spans.empty(), "human_priority", n_raw).spans
    labels = sorted(set(merged.human.label.tolist()) | set(merged.programmatic.label.tolist()))
    columns: dict[str, np.ndarray] = {}
    codes = encode_bio(tag_spans, n_raw, labels)
    for track, name in enumerate(tag_columns("tag", codes.n_tracks)):
        columns[name] = codes.tags(track)[row_index]
    if strategy == "both":
        human_codes = encode_bio(merged.human, n_raw, labels)
        for track, name in enumerate(tag_columns("tag_human", human_codes.n_tracks)):
            columns[name] = human_codes.tags(track)[row_index]
        programmatic_codes = encode_bio(merged.programmatic, n_raw, labels)
        unknown = ~programmatic.known[row_index]
        for track, name in enumerate(tag_columns("tag_programmatic", programmatic_codes.n_tracks)):
            values = programmatic_codes.tags(track)[row_index]
            values[unknown] = None
            columns[name] = values
    columns[LABEL_KNOWN_COLUMN] = known[row_index]
    clash = sorted(set(columns) & set(enriched.columns))
    if clash:
        raise LabelingError(f"enriched_features already has column(s) {', '.join(clash)}: rename the custom feature")
    labels_frame = pd.DataFrame(columns, index=enriched.index)
    return pd.concat([enriched, labels_frame], axis=1), tag_spans
