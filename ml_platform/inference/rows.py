"""Which feature rows label a range of candles: the one arithmetic `predict_range` and the series cache share.

`Predictor._label` (behind `predict`, `predict_range` and `predict_series`) and
`Predictor.range_of_series` (a range sliced from a cached series) must pick exactly the
same rows, or a cached answer differs from a computed one; both call `labelled_rows`.

Positions: candle ``i`` of the stored (or sent) series is feature row ``i - warmup`` of the
`build_features` frame, which drops the first ``warmup`` candles.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelledRows:
    """The feature rows that label candles ``first..last``, and the candles left without a label.

    rows : range with step 1
        Feature rows to predict (row ``r`` is candle ``r + warmup``); empty when none can be.
    leading, trailing : int
        Candles of the range before the first and after the last labelled one (only
        meaningful when `rows` is not empty).
    """

    rows: range
    leading: int
    trailing: int


def history_end(n_candles: int, last: int, *, after: int) -> int:
    """The candles a range ending at `last` reads: ``candles[:end]``, through ``last + after``, at most all of them.

    n_candles : int
        Stored candles.
    after : int
        Candles a prediction reads after its candle (look-ahead context or half-window).
    """
    return min(n_candles, last + 1 + after)


def labelled_rows(first: int, last: int, *, warmup: int, n_feature_rows: int, before: int, after: int) -> LabelledRows:
    """The feature rows that label candles ``first..last`` (inclusive candle positions).

    Parameters
    ----------
    first, last : int
        The range, as positions in the series the features were built from.
    warmup : int
        Leading candles `build_features` dropped (the indicators' look-back).
    n_feature_rows : int
        Rows of the feature frame: ``history_end(...) - warmup`` for a stored range, ``n - warmup``
        for a whole request.
    before, after : int
        Feature rows a prediction reads before and after its row.

    A row needs `before` rows before it and `after` rows after it inside the frame, and its
    candle inside the range.
    """
    lo = max(first - warmup, before)
    hi = min(last - warmup + 1, n_feature_rows - after)
    return LabelledRows(rows=range(lo, max(lo, hi)), leading=lo + warmup - first, trailing=last - (hi - 1 + warmup))
