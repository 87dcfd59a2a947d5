"""`match_spans`: span precision/recall/F1 of span lists, overall and per label."""

from __future__ import annotations

import pytest

from ml_platform.training.evaluation import Span, match_spans, span_scores


def test_overlapping_predictions_match_at_most_once() -> None:
    true = [Span("a", 0, 9), Span("b", 20, 29)]
    predicted = [Span("a", 0, 9), Span("a", 1, 9), Span("b", 22, 29), Span("b", 40, 45)]
    scores = match_spans(true, predicted)
    assert scores["matched_spans"] == 2.0
    assert scores["span_precision"] == 0.5 and scores["span_recall"] == 1.0
    assert scores["span_f1"] == pytest.approx(2 / 3)
    assert scores["per_label"]["a"] == {
        "span_precision": 0.5,
        "span_recall": 1.0,
        "span_f1": pytest.approx(2 / 3),
        "true_spans": 1.0,
        "predicted_spans": 2.0,
        "matched_spans": 1.0,
    }
    assert scores["per_label"]["b"]["span_precision"] == 0.5


def test_labels_and_iou_must_both_agree() -> None:
    assert match_spans([Span("a", 0, 9)], [Span("b", 0, 9)])["span_f1"] == 0.0
    assert match_spans([Span("a", 0, 9)], [Span("a", 0, 4)])["span_f1"] == 1.0  # IoU exactly 0.5
    assert match_spans([Span("a", 0, 9)], [Span("a", 0, 4)], min_iou=0.6)["span_f1"] == 0.0
    empty = match_spans([], [])
    assert empty["span_f1"] == 1.0 and empty["per_label"] == {}
    assert match_spans([], [Span("a", 0, 1)])["per_label"]["a"]["span_precision"] == 0.0


def test_span_scores_keeps_its_keys() -> None:
    scores = span_scores(["B-a", "I-a", "O"], ["B-a", "I-a", "O"])
    assert set(scores) == {
        "span_precision",
        "span_recall",
        "span_f1",
        "true_spans",
        "predicted_spans",
        "matched_spans",
    }
