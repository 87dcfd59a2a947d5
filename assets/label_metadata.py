"""What `labeled_windows` reports: per-label counts and the labeling measures, each explained.

Human vs programmatic agreement (and Cohen's kappa) compares, candle by candle, the label of
the human annotations with TA-Lib's CDL label (`ml_platform.labeling.stats`). It means
something only when both sources can name the same pattern: when no configured label
(``labeling.labels``) is one of the CDL labels (``bullish_engulfing``, ``bearish_doji``, ...),
the two vocabularies never agree on a pattern, so the figures are left out and the measures
table says why.
"""

from __future__ import annotations

from typing import Any

from dagster import MetadataValue

from assets.metadata import records_table
from ml_platform.config import PipelineConfig
from ml_platform.labeling.cdl import pattern_label
from ml_platform.labeling.stats import DatasetStatistics

ANNOTATIONS_HASH_KEY = "annotations_hash"
"""The metadata key with the hash of the partition's annotations the labels were built from."""
NO_ANNOTATIONS = "none"

LABEL_COLUMN_DESCRIPTIONS = {
    "tag": "BIO tag of the candle: B-{label} starts a pattern, I-{label} continues it, O is none.",
    "label_known": "False where neither a human span nor TA-Lib could judge the candle (CDL look-back): "
    "left out of training, never counted as O.",
    "source": "Who labelled the row: human, programmatic (TA-Lib CDL), negative (a human 'O' span).",
    "label": "The window's label (a pattern name, or O).",
    "start_time": "Time of the window's first candle (epoch seconds UTC).",
    "end_time": "Time of the window's last candle (epoch seconds UTC).",
}

LABEL_STATISTICS_COLUMNS = [
    ("label", "string", "pattern name; O is no pattern"),
    ("spans", "int", "labelled spans in the output (O: negative annotations)"),
    ("samples", "int", "BIO: rows tagged with the label; window mode: windows"),
    ("share_pct", "float", "samples as a percentage of all samples of known label"),
    ("avg_span_candles", "float", "mean candles per span"),
]

MEASURE_COLUMNS = [
    ("measure", "string", None),
    ("value", "string", None),
    ("meaning", "string", None),
]


def programmatic_labels(config: PipelineConfig) -> set[str]:
    """The labels TA-Lib's CDL functions can give (``bullish_engulfing``, ``bearish_engulfing``, ...)."""
    if not config.labeling.cdl.enabled:
        return set()
    return {pattern_label(name, sign) for name in config.labeling.cdl.patterns for sign in (1, -1)}


def agreement_is_meaningful(config: PipelineConfig) -> bool:
    """True when at least one configured human label is also a CDL label (see the module docstring)."""
    return bool({label.name for label in config.labeling.labels} & programmatic_labels(config))


def _agreement_rows(statistics: DatasetStatistics, config: PipelineConfig) -> list[dict[str, Any]]:
    what = (
        "candle by candle, the human annotation's label vs TA-Lib's CDL label, over the "
        f"{statistics.agreement_candles} candles either source labels (CDL look-back left out)"
    )
    if not config.labeling.cdl.enabled:
        reason = "not computed: labeling.cdl.enabled is false, there is no second source"
        return [{"measure": "human vs programmatic agreement", "value": "n/a", "meaning": reason}]
    if not agreement_is_meaningful(config):
        reason = (
            "not computed: the human labels (" + ", ".join(label.name for label in config.labeling.labels) + ") and "
            "the CDL labels (bullish_/bearish_ + " + ", ".join(config.labeling.cdl.patterns) + ") share no name, "
            "so the two sources can never agree on a pattern"
        )
        return [{"measure": "human vs programmatic agreement", "value": "n/a", "meaning": reason}]
    agreement = "n/a" if statistics.agreement is None else f"{100 * statistics.agreement:.1f} %"
    kappa = "n/a" if statistics.cohens_kappa is None else f"{statistics.cohens_kappa:.3f}"
    return [
        {"measure": "human vs programmatic agreement", "value": agreement, "meaning": f"share of equal labels: {what}"},
        {
            "measure": "Cohen's kappa",
            "value": kappa,
            "meaning": "the same comparison corrected for chance: 1 full agreement, 0 what chance gives, "
            "below 0 less than chance",
        },
    ]


def labeling_metadata(statistics: DatasetStatistics, config: PipelineConfig) -> dict[str, Any]:
    """``label_statistics`` and ``labeling_measures`` tables, and the counts as numbers the UI can plot."""
    unit = "windows" if statistics.mode == "window" else "rows"
    reasons = ", ".join(f"{kind} {count}" for kind, count in sorted(statistics.skipped_by_reason.items()))
    measures = [
        {
            "measure": "mode",
            "value": f"{statistics.mode}, merge {statistics.merge_strategy}",
            "meaning": f"{statistics.rows} {unit}; labeling.mode and labeling.merge_strategy",
        },
        *_agreement_rows(statistics, config),
        {"measure": "annotations used", "value": str(statistics.annotations_used), "meaning": "human spans applied"},
        {
            "measure": "invalid annotations skipped",
            "value": str(statistics.invalid_skipped),
            "meaning": reasons or "annotations that failed validation (see skipped_annotations)",
        },
        {
            "measure": "below labeling.min_confidence",
            "value": str(statistics.below_min_confidence),
            "meaning": "annotations left out for low confidence",
        },
        {
            "measure": "unknown label rows",
            "value": str(statistics.unknown_rows),
            "meaning": "rows no source could judge (CDL look-back, no human span): not trained on, not O",
        },
        {
            "measure": "programmatic spans inside negative annotations",
            "value": str(statistics.programmatic_dropped_by_negative),
            "meaning": "TA-Lib patterns a human marked as O",
        },
        {
            "measure": "spans dropped by merge priority",
            "value": str(statistics.dropped_by_priority),
            "meaning": "overlapping spans the merge strategy dropped",
        },
    ]
    if statistics.mode == "window":
        measures += [
            {"measure": "negative windows sampled", "value": str(statistics.negative_windows), "meaning": "O windows"},
            {
                "measure": "windows dropped / edge-padded at the ends",
                "value": f"{statistics.windows_dropped_at_edges} / {statistics.windows_padded_at_edges}",
                "meaning": "windows reaching past the series (labeling.window.pad_policy)",
            },
        ]
    labels = [
        {
            "label": item.label,
            "spans": item.spans,
            "samples": item.samples,
            "share_pct": item.share_pct,
            "avg_span_candles": item.avg_span_length,
        }
        for item in statistics.labels
    ]
    metadata: dict[str, Any] = {
        "label_statistics": records_table(labels, LABEL_STATISTICS_COLUMNS),
        "labeling_measures": records_table(measures, MEASURE_COLUMNS),
        "invalid_annotations_skipped": MetadataValue.int(statistics.invalid_skipped),
        "below_min_confidence": MetadataValue.int(statistics.below_min_confidence),
        "unknown_label_rows": MetadataValue.int(statistics.unknown_rows),
    }
    if agreement_is_meaningful(config):
        metadata["agreement_candles"] = MetadataValue.int(statistics.agreement_candles)
        if statistics.agreement is not None:
            metadata["human_programmatic_agreement"] = MetadataValue.float(statistics.agreement)
        if statistics.cohens_kappa is not None:
            metadata["cohens_kappa"] = MetadataValue.float(statistics.cohens_kappa)
    return metadata
