from __future__ import annotations

import logging

import numpy as np
import pytest

from ml_platform.config import SplitConfig
from ml_platform.training.split import MIN_PART_ROWS, SplitError, purge_overlaps, split_rows


def test_chronological_parts_are_ordered_with_gaps_between_them() -> None:
    split = split_rows(100, SplitConfig(train=0.6, validation=0.2, test=0.2), gap=5)
    # 90 usable rows: 54 / 18 / 18, with 5 rows left out after train and after validation
    assert (split.train[0], split.train[-1]) == (0, 53)
    assert (split.validation[0], split.validation[-1]) == (59, 76)
    assert (split.test[0], split.test[-1]) == (82, 99)
    assert split.validation[0] - split.train[-1] - 1 == 5
    assert split.test[0] - split.validation[-1] - 1 == 5
    assert not split.shuffled
    assert len(set(split.train) | set(split.validation) | set(split.test)) == 90


def test_gap_zero_uses_every_row() -> None:
    split = split_rows(20, SplitConfig(train=0.5, validation=0.25, test=0.25), gap=0)
    assert np.array_equal(np.concatenate([split.train, split.validation, split.test]), np.arange(20))


def test_too_few_rows_names_the_numbers_and_the_fix() -> None:
    with pytest.raises(SplitError, match=r"30 rows are too few .* gap=6: .*13/3/2 .* training.split.gap"):
        split_rows(30, SplitConfig(), gap=6)


def test_shuffle_is_random_and_warns_about_leakage(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        split = split_rows(200, SplitConfig(shuffle=True), gap=9, seed=1)
    assert "leaks into training" in caplog.text
    assert split.shuffled and split.gap == 0
    assert sorted(np.concatenate([split.train, split.validation, split.test]).tolist()) == list(range(200))
    assert split.test.max() < 199 or split.train.max() == 199 or split.validation.max() == 199
    assert not np.array_equal(split.train, np.arange(len(split.train)))  # not the chronological prefix


def test_purge_drops_windows_that_overlap_an_earlier_part() -> None:
    n = 40
    start = np.arange(n) * 10
    end = start + 25  # each window overlaps the next two
    split = split_rows(n, SplitConfig(train=0.5, validation=0.25, test=0.25), gap=0)
    purged = purge_overlaps(split, start, end)
    assert start[purged.validation].min() > end[purged.train].max()
    assert start[purged.test].min() > end[purged.validation].max()
    assert len(purged.validation) == len(split.validation) - 2  # windows starting at 200 and 210 overlap 190..215


def test_purge_fails_when_too_little_is_left() -> None:
    n = 3 * MIN_PART_ROWS + 2
    start = np.arange(n)
    split = split_rows(n, SplitConfig(train=0.34, validation=0.33, test=0.33), gap=0)
    with pytest.raises(SplitError, match="overlap an earlier part"):
        purge_overlaps(split, start, start + 1000)
