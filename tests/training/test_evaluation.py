from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml_platform.training.evaluation import Span, bio_spans, classification_metrics, span_scores, write_artifacts

TRUE = ["O", "B-a", "I-a", "I-a", "O", "O", "B-b", "I-b", "O", "O"]
PRED = ["O", "B-a", "I-a", "O", "O", "O", "O", "B-b", "I-b", "O"]
CLASSES = ["B-a", "B-b", "I-a", "I-b", "O"]


def test_bio_spans_reads_b_and_stray_i_tags() -> None:
    assert bio_spans(TRUE) == [Span("a", 1, 3), Span("b", 6, 7)]
    assert bio_spans(["I-x", "I-x", "B-x", "B-y", "I-y", "I-x"]) == [
        Span("x", 0, 1),
        Span("x", 2, 2),
        Span("y", 3, 4),
        Span("x", 5, 5),
    ]


def test_hand_checked_row_and_span_metrics() -> None:
    metrics = classification_metrics(TRUE, PRED, CLASSES, spans=True)
    assert metrics["accuracy"] == pytest.approx(0.6)
    # per-class F1: B-a 1, B-b 0, I-a 2/3, I-b 0, O 2*(4/6*4/5)/(4/6+4/5) = 8/11
    assert metrics["per_class"]["I-a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert metrics["per_class"]["O"]["f1"] == pytest.approx(8 / 11)
    assert metrics["f1_macro"] == pytest.approx((1 + 0 + 2 / 3 + 0 + 8 / 11) / 5)
    # spans: a[1,3] vs a[1,2] IoU 2/3 matches; b[6,7] vs b[7,8] IoU 1/3 does not
    assert metrics["span_precision"] == 0.5
    assert metrics["span_recall"] == 0.5
    assert metrics["span_f1"] == 0.5


def test_span_match_needs_the_same_label_and_iou_at_least_half() -> None:
    assert span_scores(["B-a", "I-a", "O", "O"], ["O", "B-a", "I-a", "O"])["span_f1"] == 0.0  # IoU 1/3
    assert span_scores(["B-a", "I-a", "O"], ["B-a", "O", "O"])["span_f1"] == 1.0  # IoU exactly 0.5
    assert span_scores(["B-a", "I-a"], ["B-b", "I-b"])["span_f1"] == 0.0
    assert span_scores(["O", "O"], ["O", "O"])["span_f1"] == 1.0  # nothing to find, nothing predicted
    # one true span matches at most one prediction
    scores = span_scores(["B-a", "I-a", "I-a", "I-a"], ["B-a", "I-a", "B-a", "I-a"])
    assert (scores["span_precision"], scores["span_recall"]) == (0.5, 1.0)


def test_artifacts_are_valid_pngs_and_a_report(tmp_path: Path) -> None:
    import matplotlib.image

    artifacts = write_artifacts(
        tmp_path,
        predictions={"validation": (TRUE, PRED), "test": (TRUE, PRED)},
        classes=CLASSES,
        importances=np.array([0.5, 0.3, 0.2]),
        feature_names=["f1", "f2", "f3"],
        title="EURUSD|1h xgboost",
    )
    for png in (artifacts.confusion_matrix, artifacts.feature_importance):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(png).shape[0] > 100
    assert artifacts.confusion_matrix.name == "confusion_matrix.png"
    report = artifacts.classification_report.read_text()
    assert "EURUSD|1h xgboost: validation" in report and "EURUSD|1h xgboost: test" in report and "I-a" in report


def test_label_runs_forgive_a_stray_begin_tag() -> None:
    assert bio_spans(["B-a", "I-a", "B-a", "I-a", "O"], split_on_begin=False) == [Span("a", 0, 3)]
    strict = span_scores(["B-a", "I-a", "I-a", "I-a"], ["B-a", "I-a", "B-a", "I-a"])
    runs = span_scores(["B-a", "I-a", "I-a", "I-a"], ["B-a", "I-a", "B-a", "I-a"], split_on_begin=False)
    assert (strict["span_precision"], runs["span_precision"], runs["span_f1"]) == (0.5, 1.0, 1.0)
