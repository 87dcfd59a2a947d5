"""Shape features: scale-free (prices scaled, times shifted), well-formed, and telling shapes apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_platform.shapes.candidates import Candidates, propose_candidates
from ml_platform.shapes.features import SeriesArrays, feature_names, shape_features
from ml_platform.shapes.ranges import RangeExtremes, RangeMeans, bins
from ml_platform.shapes.settings import DetectorSettings
from tests.shapes.synthetic import candles_from_path, planted_series, segments

LENGTHS = (15, 50)


def _features(candles: pd.DataFrame, settings: DetectorSettings) -> tuple[Candidates, np.ndarray]:
    h, l, c = (candles[col].to_numpy() for col in ("high", "low", "close"))
    candidates, pivots = propose_candidates(h, l, c, settings=settings, lengths=LENGTHS)
    arrays = SeriesArrays.from_candles(candles, settings=settings, max_length=LENGTHS[1])
    return candidates, shape_features(arrays, candidates, pivots, settings=settings)


@pytest.mark.parametrize(
    "settings",
    [
        DetectorSettings(),
        DetectorSettings(after=0.0, path_points=8, max_pivots=5),
        DetectorSettings(edge_features=True),
        DetectorSettings(edge_features=True, after=0.0, breakout_ends=False),
        DetectorSettings(geometry_scales=(1.0, 2.5, 6.0)),
    ],
)
def test_features_have_one_named_finite_column_each(settings: DetectorSettings) -> None:
    candles, _ = planted_series(1500, seed=1)
    candidates, x = _features(candles, settings)
    assert x.shape == (len(candidates), len(feature_names(settings)))
    assert len(set(feature_names(settings))) == x.shape[1]
    assert np.isfinite(x).all()
    path = x[:, [i for i, n in enumerate(feature_names(settings)) if n.startswith("path_close_")]]
    assert path.min() >= 0 and path.max() <= 1


@pytest.mark.parametrize("edges", [False, True])
@pytest.mark.parametrize("factor", [1000.0, 0.25, 3.7])
def test_features_do_not_change_when_prices_are_scaled_or_times_shifted(factor: float, edges: bool) -> None:
    candles, _ = planted_series(1500, seed=2)
    moved = candles.copy()
    moved[["open", "high", "low", "close"]] *= factor
    moved["time"] += 86_400 * 400 + 1800
    settings = DetectorSettings(edge_features=edges, geometry_scales=(1.5, 4.0) if edges else ())
    candidates, x = _features(candles, settings)
    moved_candidates, moved_x = _features(moved, settings)
    np.testing.assert_array_equal(candidates.start, moved_candidates.start)
    np.testing.assert_array_equal(candidates.end, moved_candidates.end)
    np.testing.assert_allclose(x, moved_x, rtol=1e-4, atol=1e-4)


def test_pivot_summary_describes_a_double_top() -> None:
    knots = ([0, 40, 49, 55, 61, 70, 100], [110.0, 100.0, 120.0, 110.0, 120.0, 104.0, 115.0])
    candles = candles_from_path(segments(*knots), wick=0.2)
    settings = DetectorSettings()
    candidates, x = _features(candles, settings)
    names = feature_names(settings)
    # the trough is candle 41 (its low: the open at 100 minus the wick); the M spans 41..70
    row = int(np.argmax((candidates.start == 41) & (candidates.end == 70)))
    assert candidates.start[row] == 41 and candidates.end[row] == 70
    value = dict(zip(names, x[row].tolist(), strict=True))
    assert value["peak_extreme_height"] == pytest.approx(1.0, abs=0.02)
    assert 0 <= value["peak_second_difference"] < 0.05  # two tops at the same level
    assert value["peak_second_spacing"] == pytest.approx(12 / 29, abs=0.05)
    assert value["pivot_count"] == 5
    assert value["path_open_first"] < 0.05 and value["path_close_last"] == pytest.approx(0.2, abs=0.05)


def test_range_queries_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=300)
    extremes, means = RangeExtremes(values, max_length=64), RangeMeans(values)
    lo = rng.integers(0, 250, 500)
    hi = np.minimum(lo + rng.integers(0, 63, 500), 299)
    np.testing.assert_allclose(extremes.max(lo, hi), [values[a : b + 1].max() for a, b in zip(lo, hi, strict=True)])
    np.testing.assert_allclose(extremes.min(lo, hi), [values[a : b + 1].min() for a, b in zip(lo, hi, strict=True)])
    np.testing.assert_allclose(means.mean(lo, hi), [values[a : b + 1].mean() for a, b in zip(lo, hi, strict=True)])
    with pytest.raises(ValueError, match="larger max_length"):
        extremes.max(np.array([0]), np.array([200]))


def test_bins_cover_a_span_in_order() -> None:
    lo, hi = bins(np.array([10, 0]), np.array([29, 2]), 4)
    assert lo[0].tolist() == [10, 15, 20, 25] and hi[0].tolist() == [14, 19, 24, 29]
    assert (hi[1] >= lo[1]).all() and lo[1][0] == 0 and hi[1][-1] == 2  # shorter than the bins: repeats


def test_edge_features_place_a_double_tops_end_at_its_confirmation() -> None:
    # M: trough 100 at 40, peaks 120 at 49 and 61, trough 110 between; the close falls
    # below 110 (the neck) at about candle 64 and on to 104 at 70
    knots = ([0, 40, 49, 55, 61, 70, 100], [110.0, 100.0, 120.0, 110.0, 120.0, 104.0, 115.0])
    candles = candles_from_path(segments(*knots), wick=0.2)
    settings = DetectorSettings(edge_features=True)
    candidates, x = _features(candles, settings)
    names = feature_names(settings)

    def edges_of(start: int, end: int) -> dict[str, float]:
        row = int(np.flatnonzero((candidates.start == start) & (candidates.end == end))[0])
        return dict(zip(names, x[row].tolist(), strict=True))

    on_peak = edges_of(41, 61)  # trough, peak, trough, peak: ends on the second top, unconfirmed
    assert on_peak["edge_end_gap"] == 0 and on_peak["edge_start_gap"] == 0
    assert on_peak["edge_last_kind"] == 1
    assert on_peak["edge_end_break"] < 0  # the close at the peak is far above the neck
    breakout = int(np.flatnonzero(candles["close"].to_numpy()[62:] < 110.0)[0]) + 62
    confirmed = edges_of(41, breakout)  # the breakout end: first close below the neck
    assert confirmed["edge_end_break"] > 0
    assert confirmed["edge_prior_break"] <= 0  # no earlier close below the neck
    assert confirmed["edge_overshoot"] < 0  # nothing went above the tops after the last one
    legs = [confirmed[f"edge_leg_{i}"] for i in range(3)]
    assert legs[0] > 0 and legs[1] < 0 and legs[2] > 0  # up, down, up: the M's three legs


def test_excluded_features_leave_the_matrix_and_the_names_together() -> None:
    candles, _ = planted_series(1500, seed=3)
    full_settings = DetectorSettings(edge_features=True)
    settings = DetectorSettings(edge_features=True, exclude_features=("path_*", "volume_*"))
    candidates, full = _features(candles, full_settings)
    _, x = _features(candles, settings)
    names, full_names = feature_names(settings), feature_names(full_settings)
    assert not any(n.startswith(("path_", "volume_")) for n in names)
    assert "volatility_0" in names and "edge_end_break" in names
    assert x.shape == (len(candidates), len(names))
    kept = [full_names.index(n) for n in names]
    np.testing.assert_array_equal(x, full[:, kept])


def test_geometry_features_measure_a_double_top_at_a_fixed_scale_in_atrs() -> None:
    # the M of the edge test; the geometry is read at the 1.0 ATR scale whichever scale proposed the span
    knots = ([0, 40, 49, 55, 61, 70, 100], [110.0, 100.0, 120.0, 110.0, 120.0, 104.0, 115.0])
    candles = candles_from_path(segments(*knots), wick=0.2)
    settings = DetectorSettings(geometry_scales=(1.0,))
    candidates, x = _features(candles, settings)
    names = feature_names(settings)
    breakout = int(np.flatnonzero(candles["close"].to_numpy()[62:] < 110.0)[0]) + 62

    def geometry_of(start: int, end: int) -> dict[str, float]:
        row = int(np.flatnonzero((candidates.start == start) & (candidates.end == end))[0])
        return {
            n.removeprefix("geo1_"): v for n, v in zip(names, x[row].tolist(), strict=True) if n.startswith("geo1_")
        }

    confirmed = geometry_of(49, breakout)  # first top .. first close below the neck
    assert confirmed["count"] == 3 and confirmed["first_kind"] == 1 and confirmed["start_gap"] == 0
    assert confirmed["level_1"] < -2  # the neck lies ATRs below the first top
    assert abs(confirmed["level_2"]) < 0.5  # the second top at the first one's level
    assert confirmed["gap_1"] == pytest.approx(6 / (breakout - 48), abs=0.05)
    assert confirmed["break_1"] > 0 and confirmed["prior_1"] <= 0  # broken at the end, not before
    assert confirmed["level_3"] == -1 and confirmed["break_3"] == -1  # no fourth pivot: MISSING
    unconfirmed = geometry_of(41, 61)  # trough .. second top: the neck not broken
    assert unconfirmed["first_kind"] == -1 and unconfirmed["count"] == 4
    assert unconfirmed["end_break"] < 0


def test_a_geometry_scale_outside_the_candidate_scales_gets_its_own_zigzag() -> None:
    knots = ([0, 40, 49, 55, 61, 70, 100], [110.0, 100.0, 120.0, 110.0, 120.0, 104.0, 115.0])
    candles = candles_from_path(segments(*knots), wick=0.2)
    inside = DetectorSettings(scales=(1.0, 2.0), geometry_scales=(2.0,))
    outside = DetectorSettings(scales=(1.0,), geometry_scales=(2.0,))
    assert outside.pivot_levels() == (1.0, 2.0) and inside.pivot_levels() == (1.0, 2.0)
    candidates, x = _features(candles, inside)
    out_candidates, out_x = _features(candles, outside)
    names = feature_names(inside)
    geo = [i for i, n in enumerate(names) if n.startswith("geo2_")]
    assert len(geo) > 10 and feature_names(outside) == names
    # the candidates proposed at 1.0 in both have the same 2.0 geometry
    both = {(s, e) for s, e in zip(out_candidates.start, out_candidates.end, strict=True)}
    rows = [i for i, key in enumerate(zip(candidates.start, candidates.end, strict=True)) if key in both]
    out_rows = [i for i, key in enumerate(zip(out_candidates.start, out_candidates.end, strict=True)) if key in both]
    assert rows
    np.testing.assert_array_equal(x[np.ix_(rows, geo)], out_x[np.ix_(out_rows, geo)])
