"""The prediction cache's contract: a range sliced from a cached series equals the range computed.

`Predictor.range_of_series` (the cache) and `Predictor.predict_range` (computing) pick
their rows with the one helper `ml_platform.inference.rows.labelled_rows`. These tests pin
that helper to its definition and the two paths to each other, on every small range, with
a stub model so no feature or estimator is involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import PipelineConfig
from ml_platform.features import FeatureFrame, InsufficientCandlesError
from ml_platform.inference import CandlePredictions, NotEnoughCandlesError, Predictor
from ml_platform.inference.rows import history_end, labelled_rows

T0 = 1_000


@dataclass(frozen=True)
class _StubPredictor(Predictor):
    """A predictor whose features drop `stub_warmup` candles and whose model labels each candle by its time.

    Candles with ``time % 5 == 0`` have non-finite inputs (skipped), so gaps are covered too.
    """

    stub_warmup: int = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return ("B-flag", "I-flag", "O")

    def features(self, candles: pd.DataFrame) -> FeatureFrame:
        if len(candles) <= self.stub_warmup:
            raise InsufficientCandlesError(f"{len(candles)} candles are fewer than the warm-up")
        frame = candles.iloc[self.stub_warmup :].reset_index(drop=True)
        return FeatureFrame(frame=frame, feature_columns=[], warmup_rows=self.stub_warmup)

    def predict_rows(
        self, frame: pd.DataFrame, rows: range, *, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        assert rows.start >= self.before and rows.stop <= len(frame) - self.after, (rows, len(frame))
        times = frame["time"].to_numpy()[rows.start : rows.stop]
        finite = times % 5 != 0
        positions = np.arange(rows.start, rows.stop, dtype=np.int64)[finite]
        return positions, (times[finite] % 3).astype(np.int64), times[finite] / 10_000.0


def _predictor(mode: str, *, warmup: int, before: int, after: int) -> _StubPredictor:
    return _StubPredictor(
        bundle=None,  # type: ignore[arg-type]  # the stub never reads it
        config=PipelineConfig(),
        mode=mode,  # type: ignore[arg-type]
        before=before,
        after=after,
        warmup_rows=warmup,
        stub_warmup=warmup,
    )


def _assert_same(cached: CandlePredictions, computed: CandlePredictions, where: str) -> None:
    for name in ("indices", "times", "class_ids", "confidences", "skipped"):
        assert np.array_equal(getattr(cached, name), getattr(computed, name)), f"{where}: {name}"
    for name in ("n_candles", "classes", "unlabeled_leading", "unlabeled_trailing", "reason"):
        assert getattr(cached, name) == getattr(computed, name), f"{where}: {name}"


@pytest.mark.parametrize("mode", ["bio", "window"])
@pytest.mark.parametrize(("before", "after"), list(product(range(3), range(3))))
def test_range_of_series_equals_predict_range_for_every_range(mode: str, before: int, after: int) -> None:
    for n, warmup in product(range(1, 11), (0, 2)):
        predictor = _predictor(mode, warmup=warmup, before=before, after=after)
        candles = pd.DataFrame({"time": T0 + np.arange(n, dtype=np.int64)})
        try:
            series = predictor.predict_series(candles, batch_size=3)
        except NotEnoughCandlesError:
            assert n <= warmup + before + after, f"n={n}: the series should have a labelled candle"
            continue
        for first, last in ((f, la) for f in range(n) for la in range(f, n)):
            where = f"n={n} warmup={warmup} range {first}..{last}"
            cached = predictor.range_of_series(series, first, last)
            if cached is None:
                with pytest.raises(NotEnoughCandlesError):
                    predictor.predict_range(candles, first, last, batch_size=3)
                continue
            _assert_same(cached, predictor.predict_range(candles, first, last, batch_size=2), where)


@pytest.mark.parametrize(("warmup", "before", "after"), list(product((0, 3), range(3), range(3))))
def test_labelled_rows_are_the_candles_whose_context_fits(warmup: int, before: int, after: int) -> None:
    """Candle ``i`` of ``first..last`` is labelled when its row has `before` rows before it and `after` after it."""
    n = 12
    for first, last in ((f, la) for f in range(n) for la in range(f, n)):
        end = history_end(n, last, after=after)
        assert end == min(n, last + 1 + after)
        plan = labelled_rows(first, last, warmup=warmup, n_feature_rows=end - warmup, before=before, after=after)
        expected = [
            i - warmup for i in range(first, last + 1) if i - warmup >= before and i - warmup + after < end - warmup
        ]
        assert list(plan.rows) == expected, (first, last)
        if expected:
            assert plan.leading == expected[0] + warmup - first
            assert plan.trailing == last - (expected[-1] + warmup)
