"""Metrics and evaluation artifacts of a trained model.

Per-row metrics (on class labels, i.e. BIO tags or window labels): accuracy, macro and
weighted F1, and per-class precision/recall/F1/support.

Span metrics (BIO mode, or span lists with `match_spans`): predicted tags are turned into
spans (`bio_spans`) and matched one-to-one against the true spans. **A predicted span matches a true span of the
same label when their intersection over union (IoU, in candles) is >= 0.5**; each true
span matches at most one predicted span (greedy, highest IoU first). Span precision =
matched / predicted spans, recall = matched / true spans, F1 their harmonic mean (0 when
both are 0; precision and recall are 1.0 by convention when there is nothing to find and
nothing was predicted).

Artifacts: a confusion matrix PNG, a feature importance PNG and the classification report
as text (`write_artifacts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

MIN_IOU = 0.5
CONFUSION_MATRIX_FILE = "confusion_matrix.png"
FEATURE_IMPORTANCE_FILE = "feature_importance.png"
CLASSIFICATION_REPORT_FILE = "classification_report.txt"


@dataclass(frozen=True)
class Span:
    """A run of candles with one pattern label; `start` and `end` are inclusive row positions."""

    label: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def bio_spans(tags: Sequence[str], *, split_on_begin: bool = True) -> list[Span]:
    """Spans of a BIO tag sequence.

    ``B-x`` starts a span of ``x``; ``I-x`` continues it. An ``I-x`` not preceded by ``x``
    (as a model may predict) starts a new span rather than being dropped. Anything else
    (``O``, or a tag without a ``B-``/``I-`` prefix) ends the current span. With
    ``split_on_begin=False`` a ``B-x`` right after ``x`` continues the span (maximal runs
    of one label), which forgives a model's stray ``B-`` inside a pattern.
    """
    spans: list[Span] = []
    label: str | None = None
    start = 0
    for index, tag in enumerate(list(tags) + ["O"]):
        prefix, name = (tag[:2], tag[2:]) if tag[:2] in ("B-", "I-") else ("", None)
        continues = name == label and (prefix == "I-" or (prefix == "B-" and not split_on_begin))
        if label is not None and not continues:
            spans.append(Span(label, start, index - 1))
            label = None
        if name is not None and not continues:
            label, start = name, index
    return spans


def span_iou(a: Span, b: Span) -> float:
    """Intersection over union of two spans, in candles."""
    inter = min(a.end, b.end) - max(a.start, b.start) + 1
    if inter <= 0:
        return 0.0
    return inter / (max(a.end, b.end) - min(a.start, b.start) + 1)


def _prf(matched: int, n_true: int, n_predicted: int) -> tuple[float, float, float]:
    """Precision, recall, F1 with the module's conventions (1.0 when nothing to find and nothing predicted)."""
    precision = matched / n_predicted if n_predicted else (1.0 if not n_true else 0.0)
    recall = matched / n_true if n_true else (1.0 if not n_predicted else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def match_spans(true: Sequence[Span], predicted: Sequence[Span], *, min_iou: float = MIN_IOU) -> dict[str, Any]:
    """Span precision, recall and F1 of two span lists, overall and per label.

    A predicted span matches a true span of the same label when their IoU is >= `min_iou`;
    each span matches at most once (greedy, highest IoU first). Spans may overlap (a span
    detector's output can), which BIO tags cannot hold.

    Parameters
    ----------
    true, predicted : sequences of Span
        Positions must index the same series (offset spans of several series apart).
    min_iou : float, default=0.5

    Returns
    -------
    dict with ``span_precision``, ``span_recall``, ``span_f1``, ``true_spans``,
    ``predicted_spans``, ``matched_spans`` (floats) and ``per_label``: label -> the same six
    keys, for every label among the true or predicted spans.
    """
    true, predicted = list(true), list(predicted)
    pairs = sorted(
        ((span_iou(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(true) if p.label == t.label),
        reverse=True,
    )
    used_pred: set[int] = set()
    used_true: set[int] = set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in used_pred and j not in used_true:
            used_pred.add(i)
            used_true.add(j)

    def scores(n_matched: int, n_true: int, n_predicted: int) -> dict[str, float]:
        precision, recall, f1 = _prf(n_matched, n_true, n_predicted)
        return {
            "span_precision": precision,
            "span_recall": recall,
            "span_f1": f1,
            "true_spans": float(n_true),
            "predicted_spans": float(n_predicted),
            "matched_spans": float(n_matched),
        }

    result: dict[str, Any] = scores(len(used_pred), len(true), len(predicted))
    labels = sorted({s.label for s in true} | {s.label for s in predicted})
    result["per_label"] = {
        label: scores(
            sum(1 for i in used_pred if predicted[i].label == label),
            sum(1 for t in true if t.label == label),
            sum(1 for p in predicted if p.label == label),
        )
        for label in labels
    }
    return result


def span_scores(
    true_tags: Sequence[str], pred_tags: Sequence[str], *, min_iou: float = MIN_IOU, split_on_begin: bool = True
) -> dict[str, float]:
    """Span precision, recall and F1 of BIO tags (match: same label and IoU >= `min_iou`; see `match_spans`).

    Returns
    -------
    dict with ``span_precision``, ``span_recall``, ``span_f1``, ``true_spans``,
    ``predicted_spans``, ``matched_spans``.
    """
    matched = match_spans(bio_spans(true_tags), bio_spans(pred_tags, split_on_begin=split_on_begin), min_iou=min_iou)
    matched.pop("per_label")
    return matched


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], *, spans: bool = False
) -> dict[str, Any]:
    """Per-row metrics, plus span metrics when `spans` (BIO tags of consecutive candles).

    Returns
    -------
    dict
        ``accuracy``, ``f1_macro``, ``f1_weighted``, ``rows`` and, with `spans`, the
        `span_scores` keys; ``per_class`` maps each class to ``precision``, ``recall``,
        ``f1``, ``support``. Macro/weighted F1 average over the classes present in
        `y_true` or `y_pred`.
    """
    y_true, y_pred = list(y_true), list(y_pred)
    present = [c for c in classes if c in set(y_true) | set(y_pred)]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(classes), zero_division=0
    )
    metrics: dict[str, Any] = {
        "rows": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else 0.0,
        "f1_macro": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "f1_weighted": float(f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
    }
    if spans:
        metrics.update(span_scores(y_true, y_pred))
    metrics["per_class"] = {
        cls: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for cls, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    return metrics


def report_text(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], *, title: str) -> str:
    """scikit-learn's classification report for one part, under a title line."""
    body = classification_report(list(y_true), list(y_pred), labels=list(classes), digits=3, zero_division=0)
    return f"{title}\n{'=' * len(title)}\n{body}\n"


# --------------------------------------------------------------------------- plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_figure(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], *, title: str) -> Any:
    """A row-normalised confusion matrix (true classes down, predicted across), counts in the cells."""
    plt = _pyplot()
    counts = confusion_matrix(list(y_true), list(y_pred), labels=list(classes))
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.55 * len(classes) + 2)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(share, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(len(classes)), labels=list(classes), rotation=60, ha="right", fontsize=8)
    axis.set_yticks(range(len(classes)), labels=list(classes), fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                axis.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black",
                )
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of true class")
    figure.tight_layout()
    return figure


def feature_importance_figure(importances: np.ndarray, names: Sequence[str], *, top: int = 25, title: str) -> Any:
    """A horizontal bar chart of the `top` most important features."""
    plt = _pyplot()
    importances = np.asarray(importances, dtype=float)
    order = np.argsort(importances)[::-1][:top][::-1]
    figure, axis = plt.subplots(figsize=(7, max(2.5, 0.28 * len(order) + 1)))
    axis.barh([names[i] for i in order], importances[order], color="#26a69a")
    axis.set_xlabel("importance")
    axis.set_title(title)
    axis.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    return figure


def save_figure(figure: Any, path: Path) -> Path:
    """Save as PNG and close the figure."""
    plt = _pyplot()
    try:
        figure.savefig(path, format="png", dpi=90)
    finally:
        plt.close(figure)
    return path


@dataclass(frozen=True)
class EvaluationArtifacts:
    confusion_matrix: Path
    feature_importance: Path
    classification_report: Path


def write_artifacts(
    directory: Path,
    *,
    predictions: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    classes: Sequence[str],
    importances: np.ndarray,
    feature_names: Sequence[str],
    title: str,
) -> EvaluationArtifacts:
    """Write the three evaluation artifacts into `directory`.

    predictions : {"validation": (y_true, y_pred), "test": (y_true, y_pred)}
        The confusion matrix is drawn for the test part; the report covers every part.
    """
    directory.mkdir(parents=True, exist_ok=True)
    y_true, y_pred = predictions["test"]
    cm = save_figure(
        confusion_matrix_figure(y_true, y_pred, classes, title=f"{title}: test"), directory / CONFUSION_MATRIX_FILE
    )
    fi = save_figure(
        feature_importance_figure(importances, feature_names, title=f"{title}: feature importance"),
        directory / FEATURE_IMPORTANCE_FILE,
    )
    report = "\n".join(report_text(t, p, classes, title=f"{title}: {part}") for part, (t, p) in predictions.items())
    cr = directory / CLASSIFICATION_REPORT_FILE
    cr.write_text(report, encoding="utf-8")
    return EvaluationArtifacts(confusion_matrix=cm, feature_importance=fi, classification_report=cr)
