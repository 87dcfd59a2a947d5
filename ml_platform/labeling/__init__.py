"""Labeling: human span annotations and TA-Lib CDL patterns into per-partition training data.

One module per step: `annotations` (read the web export), `validation` and `snapping`
(check and place each span), `cdl` (programmatic labels), `merge` (combine the sources),
`bio` and `windows` (the two output modes), `stats` (dataset statistics), `changes` (which
partitions' annotations changed, for the sensor). `labeler.label_partition` runs them in
order; its docstring describes the labelled file.
"""

from __future__ import annotations

from ml_platform.labeling.annotations import (
    Annotation,
    AnnotationExport,
    AnnotationSet,
    ModelPrediction,
    annotations_hash,
    load_annotations,
    read_export,
)
from ml_platform.labeling.bio import BioCodes, assign_tracks, encode_bio, tag_columns
from ml_platform.labeling.cdl import PATTERN_CANDLES, ProgrammaticLabels, label_candles, pattern_label
from ml_platform.labeling.changes import changed_partitions, parse_cursor
from ml_platform.labeling.errors import AnnotationFormatError, InvalidAnnotationsError, LabelingError
from ml_platform.labeling.labeler import LABEL_KNOWN_COLUMN, LabelingResult, align_rows, label_partition
from ml_platform.labeling.merge import MergeResult, merge_spans
from ml_platform.labeling.snapping import snap_annotations, snap_indices
from ml_platform.labeling.spans import NEGATIVE_LABEL, Spans
from ml_platform.labeling.stats import DatasetStatistics, LabelCount, agreement, cohens_kappa
from ml_platform.labeling.validation import (
    SkippedAnnotation,
    filter_confidence,
    report_skipped,
    validate_annotations,
    validate_for_config,
)
from ml_platform.labeling.windows import WindowSet, build_windows, encode_windows, window_column_names

__all__ = [
    "LABEL_KNOWN_COLUMN",
    "NEGATIVE_LABEL",
    "PATTERN_CANDLES",
    "Annotation",
    "AnnotationExport",
    "AnnotationFormatError",
    "AnnotationSet",
    "BioCodes",
    "DatasetStatistics",
    "InvalidAnnotationsError",
    "LabelCount",
    "LabelingError",
    "LabelingResult",
    "MergeResult",
    "ModelPrediction",
    "ProgrammaticLabels",
    "SkippedAnnotation",
    "Spans",
    "WindowSet",
    "agreement",
    "align_rows",
    "annotations_hash",
    "assign_tracks",
    "build_windows",
    "changed_partitions",
    "cohens_kappa",
    "encode_bio",
    "encode_windows",
    "filter_confidence",
    "label_candles",
    "label_partition",
    "load_annotations",
    "merge_spans",
    "parse_cursor",
    "pattern_label",
    "read_export",
    "report_skipped",
    "snap_annotations",
    "snap_indices",
    "tag_columns",
    "validate_annotations",
    "validate_for_config",
    "window_column_names",
]
