"""The scoring components and the combination: pure functions on arrays."""

from __future__ import annotations

import numpy as np
import pytest

from ml_platform.review.components import (
    conflict_component,
    coverage_component,
    disagreement_component,
    entropy,
    margin,
    uncertainty_component,
)
from ml_platform.review.intervals import distance_to, match_matrix, suppress_matching
from ml_platform.review.ranking import combine
from ml_platform.review.settings import ReviewSettings


def a(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def test_entropy_and_margin_bounds() -> None:
    proba = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0], [0.9, 0.1, 0.0]])
    h = entropy(proba)
    assert h[0] == pytest.approx(0.0, abs=1e-9) and h[1] == pytest.approx(1.0)
    assert 0 < h[3] < h[2] < 1
    m = margin(proba)
    assert m.tolist() == pytest.approx([0.0, 1.0, 1.0, 0.2])


def test_entropy_rejects_a_flat_vector() -> None:
    with pytest.raises(ValueError, match="n_candidates, n_classes"):
        entropy(np.array([0.5, 0.5]))


def test_match_rule_is_the_charts() -> None:
    # 10..19 and 15..24 share 5 of 10 candles: exactly half is not a match; 14..23 shares 6.
    assert not match_matrix(a(10), a(19), a(15), a(24))[0, 0]
    assert match_matrix(a(10), a(19), a(14), a(23))[0, 0]


def test_uncertainty_takes_the_max_or_mean_of_matching_candidates() -> None:
    u = uncertainty_component(a(0, 100), a(19, 119), a(0, 2, 100), a(19, 19, 119), np.array([0.2, 0.8, 0.1]))
    assert u.tolist() == pytest.approx([0.8, 0.1])
    mean = uncertainty_component(a(0), a(19), a(0, 2), a(19, 19), np.array([0.2, 0.8]), how="mean")
    assert mean.tolist() == pytest.approx([0.5])
    assert uncertainty_component(a(500), a(519), a(0), a(19), np.array([1.0])).tolist() == [0.0]


def test_disagreement_takes_the_weightiest_kind() -> None:
    kinds = np.array(["missed_by_human", "missed_by_model"], dtype=object)
    d = disagreement_component(
        a(0, 100), a(19, 119), a(0, 100), a(19, 119), kinds, {"missed_by_model": 1.0, "missed_by_human": 0.6}
    )
    assert d.tolist() == pytest.approx([0.6, 1.0])


def test_conflict_saturates_with_the_count() -> None:
    x = conflict_component(a(0, 100, 200), a(50, 150, 250), a(10, 20, 110), a(11, 21, 111))
    assert x.tolist() == pytest.approx([0.75, 0.5, 0.0])


def test_coverage_grows_with_the_distance_to_annotations() -> None:
    v = coverage_component(a(0, 120, 1000), a(19, 139, 1019), a(20), a(99), scale=200)
    assert v[0] == 0.0
    assert v[1] == pytest.approx(1 - np.exp(-20 / 200))
    assert v[2] > v[1]
    assert coverage_component(a(0), a(9), a(), a()).tolist() == [1.0]
    assert distance_to(a(0), a(9), a(), a()).tolist() == [np.inf]


def test_combine_weighs_and_names_the_dominant_component() -> None:
    weights = ReviewSettings().weights
    score, reason = combine(
        {
            "uncertainty": np.array([0.9, 0.1]),
            "disagreement": np.array([0.0, 1.0]),
            "conflict": np.array([0.0, 0.0]),
            "coverage": np.array([0.4, 0.0]),
        },
        weights,
    )
    assert score.tolist() == pytest.approx([1.1, 1.1])
    assert reason.tolist() == ["uncertainty", "disagreement"]
    with pytest.raises(ValueError, match="unknown components"):
        combine({"novelty": np.zeros(1)}, weights)


def test_suppression_keeps_the_better_of_matching_stretches() -> None:
    kept = suppress_matching(a(0, 2, 100), a(19, 21, 119), np.array([0.5, 0.9, 0.1]))
    assert kept.tolist() == [1, 2]


def test_settings_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown components"):
        ReviewSettings(weights={"novelty": 1.0})
    with pytest.raises(ValueError, match="unknown kinds"):
        ReviewSettings(kind_weights={"missed": 1.0})
    with pytest.raises(ValueError, match="all 0"):
        ReviewSettings(weights={"uncertainty": 0.0})
