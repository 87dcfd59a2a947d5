"""Statistics on tiny examples worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ml_platform.labeling import agreement, cohens_kappa, label_partition
from ml_platform.partitions import Partition


def test_agreement_and_kappa_by_hand() -> None:
    bf, be, dj, O = "bull_flag", "bearish_engulfing", "bullish_doji", "O"
    human = np.array([bf, bf, bf, O, O, O, O, O, O, O], dtype=object)
    human_labelled = np.array([1, 1, 1, 0, 0, 1, 1, 0, 0, 0], dtype=bool)  # 5, 6: a negative annotation
    programmatic = np.array([bf, O, O, O, be, be, O, O, O, dj], dtype=object)
    known = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    # compared candles: 0 1 2 (human), 4 (programmatic), 5 6 (negative), 9 (programmatic); not 3, 7, 8
    # human:        bf bf bf O  O  O  O
    # programmatic: bf O  O  be be O  dj   -> agree on 0 and 6: 2 of 7
    # p_e = (3 bf * 1 bf + 4 O * 3 O) / 7^2 = 15/49; kappa = (14/49 - 15/49) / (34/49) = -1/34
    score, compared, kappa = agreement(human, human_labelled, programmatic, known)
    assert compared == 7
    assert score == pytest.approx(2 / 7)
    assert kappa == pytest.approx(-1 / 34)


def test_kappa_edge_cases() -> None:
    same = np.array(["a", "b", "a"], dtype=object)
    assert cohens_kappa(same, same) == pytest.approx(1.0)
    assert cohens_kappa(np.array(["a", "a"], dtype=object), np.array(["a", "a"], dtype=object)) is None
    assert cohens_kappa(np.array([], dtype=object), np.array([], dtype=object)) is None
    assert agreement(*(np.array(["O"], dtype=object), np.array([False])) * 2) == (None, 0, None)


def test_dataset_statistics_by_hand(kit) -> None:
    raw = kit.candles(20)
    annotations = [
        kit.ann("bull_flag", 2, 5),  # 4 candles
        kit.ann("bull_flag", 6, 7),  # 2 candles, adjacent
        kit.ann("double_top", 10, 12),  # 3 candles
        kit.ann("O", 14, 16),  # negative: 3 candles
        kit.ann("triangle", 17, 18),  # invalid label
        kit.ann("double_top", 0, 1, confidence=0.1),  # below min_confidence
    ]
    result = label_partition(kit.enriched(raw), raw, annotations, Partition("EURUSD", "1h"), kit.config())
    statistics = result.statistics
    # 20 rows: bull_flag 4 + 2 = 6, double_top 3, O the other 11 (the negative span included)
    assert statistics.rows == 20 and statistics.unknown_rows == 0
    assert [(c.label, c.spans, c.samples, c.share_pct, c.avg_span_length) for c in statistics.labels] == [
        ("O", 1, 11, 55.0, 3.0),
        ("bull_flag", 2, 6, 30.0, 3.0),
        ("double_top", 1, 3, 15.0, 3.0),
    ]
    assert statistics.invalid_skipped == 1 and statistics.skipped_by_reason == {"unknown_label": 1}
    assert statistics.below_min_confidence == 1 and statistics.annotations_used == 4
    assert statistics.agreement is None and statistics.cohens_kappa is None  # CDL off: no second source
    markdown = statistics.to_markdown()
    assert "| label | spans | samples | share % | avg span (candles) |" in markdown
    assert "| O | 1 | 11 | 55.00 | 3.0 |" in markdown
    assert "| bull_flag | 2 | 6 | 30.00 | 3.0 |" in markdown
    assert "| invalid annotations skipped | 1 (unknown_label 1) |" in markdown
    assert "| human vs programmatic agreement | n/a" in markdown
