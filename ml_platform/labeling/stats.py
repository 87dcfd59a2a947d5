"""Dataset statistics of one labelled partition: what the training set holds and how sure it is.

Per label: ``spans`` (labelled spans in the output, ``O`` counting negative annotations),
``samples`` (BIO: rows whose ``tag`` carries the label, ``O`` rows only where the label is
known; window mode: windows), ``share_pct`` (samples as a percentage of all samples of
known label) and ``avg_span_length`` (mean candles per span, as visible in the output).

Human vs programmatic agreement
    Each source gives one label per candle: the label of its first tag track (spans in
    start, end, label, id order), ``O`` where it has none. Human ``O`` includes negative
    annotations; programmatic labels are TA-Lib's, before negative annotations override
    them. The candles compared are those that *either* source labels (a human span,
    positive or negative, or a programmatic pattern), leaving out candles where the
    programmatic label is unknown (CDL look-back). **Agreement** is the share of those
    candles where both labels are equal. **Cohen's kappa** over the same candles is
    ``(p_o - p_e) / (1 - p_e)``, ``p_o`` the agreement and ``p_e`` the agreement expected by
    chance from each source's label frequencies; it is None when there is no candle to
    compare or ``p_e == 1`` (both sources use one single label). Both are None when
    ``labeling.cdl.enabled`` is false (there is no second source). Human labels and CDL labels
    use different names by default, so agreement is low unless annotators use CDL names.
"""

from __future__ import annotations

import logging
from collections import Counter

import msgspec
import numpy as np

from ml_platform.labeling.spans import NEGATIVE_LABEL, Spans

logger = logging.getLogger(__name__)


class LabelCount(msgspec.Struct, frozen=True, kw_only=True):
    """One label's row of the statistics table."""

    label: str
    spans: int
    samples: int
    share_pct: float
    avg_span_length: float | None


class DatasetStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Everything `label_partition` reports; `to_markdown` renders it for the Dagster UI.

    rows : int
        BIO: rows of the file (candles); window mode: windows.
    unknown_rows : int
        BIO rows whose label is unknown (``label_known`` False: CDL look-back, no human span).
    """

    partition: str
    mode: str
    merge_strategy: str
    rows: int
    unknown_rows: int
    labels: list[LabelCount]
    agreement: float | None
    agreement_candles: int
    cohens_kappa: float | None
    annotations_used: int
    invalid_skipped: int
    skipped_by_reason: dict[str, int]
    below_min_confidence: int
    programmatic_dropped_by_negative: int
    dropped_by_priority: int
    windows_dropped_at_edges: int = 0
    windows_padded_at_edges: int = 0
    windows_with_reduced_padding: int = 0
    negative_windows: int = 0

    def samples_per_label(self) -> dict[str, int]:
        return {item.label: item.samples for item in self.labels}

    def class_distribution(self) -> dict[str, float]:
        return {item.label: item.share_pct for item in self.labels}

    def to_markdown(self) -> str:
        """Two Markdown tables: per label, then the dataset-wide measures."""
        unit = "windows" if self.mode == "window" else "rows"
        head = f"**{self.partition}**: {self.mode} mode, merge `{self.merge_strategy}`, {self.rows} {unit}"
        if self.unknown_rows:
            head += f" ({self.unknown_rows} of unknown label: CDL look-back, not counted as O)"
        lines = [
            head,
            "",
            "| label | spans | samples | share % | avg span (candles) |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for item in self.labels:
            average = "–" if item.avg_span_length is None else f"{item.avg_span_length:.1f}"
            lines.append(f"| {item.label} | {item.spans} | {item.samples} | {item.share_pct:.2f} | {average} |")
        agreement = (
            "n/a (no candle labelled by either source)"
            if self.agreement is None
            else (f"{100 * self.agreement:.1f} % of {self.agreement_candles} candles")
        )
        kappa = "n/a" if self.cohens_kappa is None else f"{self.cohens_kappa:.3f}"
        reasons = ", ".join(f"{kind} {count}" for kind, count in sorted(self.skipped_by_reason.items()))
        measures = [
            ("human vs programmatic agreement", agreement),
            ("Cohen's kappa", kappa),
            ("annotations used", str(self.annotations_used)),
            ("invalid annotations skipped", f"{self.invalid_skipped}" + (f" ({reasons})" if reasons else "")),
            ("below labeling.min_confidence", str(self.below_min_confidence)),
            ("programmatic spans inside negative annotations", str(self.programmatic_dropped_by_negative)),
            ("spans dropped by merge priority", str(self.dropped_by_priority)),
        ]
        if self.mode == "window":
            measures += [
                ("negative windows sampled", str(self.negative_windows)),
                ("windows dropped at the series' ends", str(self.windows_dropped_at_edges)),
                ("windows edge-padded at the series' ends", str(self.windows_padded_at_edges)),
                ("windows with less than context_padding", str(self.windows_with_reduced_padding)),
            ]
        lines += ["", "| measure | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in measures]
        return "\n".join(lines)


def label_counts(sample_labels: np.ndarray, spans: Spans) -> list[LabelCount]:
    """Per-label rows: ``O`` first, then the other labels in alphabetical order.

    sample_labels : ndarray of shape (n_samples,), object
        One label per sample (``O`` for none); samples of unknown label left out.
    spans : Spans
        The output's spans (positive ones and negative annotations), as visible.
    """
    samples = Counter(sample_labels.tolist())
    span_counts = Counter(spans.label.tolist())
    lengths: dict[str, list[int]] = {}
    for label, length in zip(spans.label.tolist(), spans.length.tolist(), strict=True):
        lengths.setdefault(label, []).append(length)
    total = len(sample_labels)
    names = sorted(set(samples) | set(span_counts) | {NEGATIVE_LABEL}, key=lambda name: (name != NEGATIVE_LABEL, name))
    return [
        LabelCount(
            label=name,
            spans=span_counts.get(name, 0),
            samples=samples.get(name, 0),
            share_pct=round(100.0 * samples.get(name, 0) / total, 4) if total else 0.0,
            avg_span_length=round(float(np.mean(lengths[name])), 4) if name in lengths else None,
        )
        for name in names
    ]


def cohens_kappa(first: np.ndarray, second: np.ndarray) -> float | None:
    """Cohen's kappa of two label arrays of equal length; None when undefined (see module docstring)."""
    n = len(first)
    if n == 0:
        return None
    observed = float(np.mean(first == second))
    first_counts, second_counts = Counter(first.tolist()), Counter(second.tolist())
    expected = sum(first_counts[label] * second_counts.get(label, 0) for label in first_counts) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def agreement(
    human: np.ndarray, human_labelled: np.ndarray, programmatic: np.ndarray, programmatic_known: np.ndarray
) -> tuple[float | None, int, float | None]:
    """Agreement, number of candles compared, and Cohen's kappa (definitions in the module docstring).

    Parameters
    ----------
    human, programmatic : ndarray of shape (n_candles,), object
        Per-candle labels, ``O`` for none.
    human_labelled : ndarray of shape (n_candles,), bool
        Candles inside a human span, positive or negative.
    programmatic_known : ndarray of shape (n_candles,), bool
        Candles past the CDL look-back.
    """
    compared = programmatic_known & (human_labelled | (programmatic != NEGATIVE_LABEL))
    first, second = human[compared], programmatic[compared]
    if not len(first):
        return None, 0, None
    return float(np.mean(first == second)), int(len(first)), cohens_kappa(first, second)
