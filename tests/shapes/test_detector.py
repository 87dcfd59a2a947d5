"""SpanDetector: fit on clean planted shapes, find held-out ones; storage; input errors. Real XGBoost and forests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import RandomForestParams, TrainingConfig, XGBoostParams
from ml_platform.shapes.detector import PREDICTION_COLUMNS, SpanDetector, mirrored
from ml_platform.shapes.settings import DetectorSettings
from ml_platform.training.evaluation import Span, match_spans
from tests.shapes.synthetic import planted_series

SMALL = TrainingConfig(
    xgboost=XGBoostParams(n_estimators=60, max_depth=4),
    random_forest=RandomForestParams(n_estimators=60, min_samples_leaf=2),
)


def _spans(frame: pd.DataFrame) -> list[Span]:
    return [Span(str(r.label), int(r.start), int(r.end)) for r in frame.itertuples()]


@pytest.fixture(scope="module")
def train_series() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    return [planted_series(2500, seed=seed) for seed in (11, 12, 13)]


@pytest.fixture(scope="module")
def held_out() -> tuple[pd.DataFrame, pd.DataFrame]:
    return planted_series(2500, seed=99)


@pytest.fixture(scope="module")
def detector(train_series) -> SpanDetector:
    return SpanDetector.fit(train_series, settings=DetectorSettings(), model_type="xgboost", seed=7, training=SMALL)


def test_the_detector_finds_held_out_shapes(detector: SpanDetector, held_out) -> None:
    candles, spans = held_out
    predicted = detector.predict(candles)
    assert list(predicted.columns) == list(PREDICTION_COLUMNS)
    assert predicted["start"].is_monotonic_increasing
    assert predicted["confidence"].between(detector.settings.threshold, 1.0).all()
    scores = match_spans(_spans(spans), _spans(predicted))
    assert scores["span_f1"] > 0.7, scores
    assert set(scores["per_label"]) == {"bull_flag", "double_top", "head_and_shoulders"}
    assert detector.classes == ["O", "bull_flag", "double_top", "head_and_shoulders"]


def test_a_saved_detector_predicts_the_same(detector: SpanDetector, held_out, tmp_path: Path) -> None:
    candles, _ = held_out
    loaded = SpanDetector.load(detector.save(tmp_path / "detector"))
    assert (tmp_path / "detector" / "model.ubj").is_file()
    assert loaded.settings == detector.settings and loaded.lengths == detector.lengths
    pd.testing.assert_frame_equal(loaded.predict(candles), detector.predict(candles))


def test_a_detector_saved_before_breakout_ends_existed_loads_without_them(
    detector: SpanDetector, held_out, tmp_path: Path
) -> None:
    """Its detector.json has no ``breakout_ends``: it must propose the candidates it was trained on."""
    import json

    folder = detector.save(tmp_path / "old")
    meta = json.loads((folder / "detector.json").read_text())
    del meta["settings"]["breakout_ends"]
    (folder / "detector.json").write_text(json.dumps(meta))
    loaded = SpanDetector.load(folder)
    assert detector.settings.breakout_ends and not loaded.settings.breakout_ends
    assert len(loaded.score(held_out[0])) < len(detector.score(held_out[0]))
    assert list(loaded.predict(held_out[0]).columns) == list(PREDICTION_COLUMNS)


def test_a_detector_saved_before_geometry_features_existed_loads_and_predicts_as_trained(
    train_series, held_out, tmp_path: Path
) -> None:
    """Its detector.json has no ``geometry_scales`` (nor their feature names): it loads with them off."""
    import json

    old = SpanDetector.fit(train_series[:1], settings=DetectorSettings(geometry_scales=()), seed=7, training=SMALL)
    assert not any(name.startswith("geo") for name in old.feature_names)
    folder = old.save(tmp_path / "old")
    meta = json.loads((folder / "detector.json").read_text())
    del meta["settings"]["geometry_scales"]
    (folder / "detector.json").write_text(json.dumps(meta))
    loaded = SpanDetector.load(folder)
    assert loaded.settings.geometry_scales == () and DetectorSettings().geometry_scales
    pd.testing.assert_frame_equal(loaded.predict(held_out[0]), old.predict(held_out[0]))


def test_a_random_forest_detector_fits_saves_and_loads(train_series, held_out, tmp_path: Path) -> None:
    candles, spans = held_out
    forest = SpanDetector.fit(train_series[:2], model_type="random_forest", seed=3, training=SMALL)
    predicted = forest.predict(candles)
    assert match_spans(_spans(spans), _spans(predicted))["span_f1"] > 0.6
    loaded = SpanDetector.load(forest.save(tmp_path / "forest"))
    pd.testing.assert_frame_equal(loaded.predict(candles), predicted)


def test_threshold_and_nms_can_be_overridden_at_prediction(detector: SpanDetector, held_out) -> None:
    candles, _ = held_out
    everything = detector.score(candles)
    assert np.allclose(everything["confidence"] + everything["outside"] <= 1.0 + 1e-6, True)
    loose = detector.predict(candles, threshold=0.0, nms_iou=1.0)
    assert len(loose) == len(everything)  # no threshold, no suppression: every candidate
    strict = detector.predict(candles, threshold=0.0, nms_iou=0.0)
    ordered = strict.sort_values("start")
    assert (ordered["start"].to_numpy()[1:] > ordered["end"].to_numpy()[:-1]).all()  # no overlap left


def test_short_and_flat_series_give_no_spans(detector: SpanDetector, held_out) -> None:
    candles, _ = held_out
    for n in (0, 1, 5, 40):
        found = detector.predict(candles.iloc[:n].reset_index(drop=True))
        assert list(found.columns) == list(PREDICTION_COLUMNS) and len(found) == 0
    flat = candles.assign(open=1.0, high=1.0, low=1.0, close=1.0)
    assert len(detector.predict(flat)) == 0


def test_fit_rejects_bad_input(train_series) -> None:
    candles, spans = train_series[0]
    with pytest.raises(ValueError, match="no pattern spans"):
        SpanDetector.fit([(candles, spans.iloc[:0])])
    with pytest.raises(ValueError, match=r"span 10..2600 \(.*\) is not within 0..2499"):
        SpanDetector.fit([(candles, pd.DataFrame({"start": [10], "end": [2600], "label": ["double_top"]}))])
    with pytest.raises(ValueError, match=r"lack columns \['volume'\]"):
        SpanDetector.fit([(candles.drop(columns="volume"), spans)])
    with pytest.raises(ValueError, match="not a supported model type"):
        SpanDetector.fit([(candles, spans)], model_type="lightgbm")


def test_mirroring_teaches_the_upside_down_shape(held_out) -> None:
    tops = [planted_series(2500, seed=seed, labels=("double_top",)) for seed in (21, 22)]
    mirror = {"double_top": "double_bottom", "double_bottom": "double_top"}
    detector = SpanDetector.fit(tops, settings=DetectorSettings(mirror_labels=mirror), seed=1, training=SMALL)
    assert detector.classes == ["O", "double_bottom", "double_top"]
    candles, spans = planted_series(2500, seed=23, labels=("double_top",))
    bottoms = spans.assign(label="double_bottom")
    scores = match_spans(_spans(bottoms), _spans(detector.predict(mirrored(candles))))
    assert scores["per_label"]["double_bottom"]["span_f1"] > 0.6, scores


def test_mirrored_candles_are_upside_down_and_every_label_needs_a_mirror(train_series) -> None:
    candles, spans = train_series[0]
    flipped = mirrored(candles)
    np.testing.assert_array_equal(flipped["high"], -candles["low"])
    np.testing.assert_array_equal(flipped["low"], -candles["high"])
    np.testing.assert_array_equal(flipped["volume"], candles["volume"])
    assert (flipped["high"] >= flipped[["open", "close"]].max(axis=1)).all()
    with pytest.raises(ValueError, match=r"no mirror for \['bull_flag', 'head_and_shoulders'\]"):
        SpanDetector.fit(
            [(candles, spans)], settings=DetectorSettings(mirror_labels={"double_top": "double_bottom"}), training=SMALL
        )


def test_load_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="detector.json does not exist"):
        SpanDetector.load(tmp_path)


def test_a_series_without_candidates_or_spans_is_skipped_in_the_fit(train_series, held_out) -> None:
    """A 5-candle series has no candidate: its empty feature block used to crash the fit (reshape of size 0)."""
    candles, spans = train_series[0]
    short = candles.iloc[:5].reset_index(drop=True)
    detector = SpanDetector.fit([(candles, spans), (short, spans.iloc[:0])], seed=3, training=SMALL)
    assert len(detector.predict(held_out[0])) > 0
    empty = detector.score(short)
    assert len(empty) == 0 and list(empty.columns) == [*PREDICTION_COLUMNS, "outside"]


def test_fit_names_the_problem_when_no_series_has_a_pattern_span(train_series) -> None:
    candles, spans = train_series[0]
    only_outside = spans.assign(label="O")
    for series in ([(candles, spans.iloc[:0])], [(candles, only_outside), (candles.iloc[:5], spans.iloc[:0])]):
        with pytest.raises(ValueError, match="no pattern spans in any series; annotate at least one span"):
            SpanDetector.fit(series, training=SMALL)


def test_edge_features_and_excluded_features_survive_save_and_load(train_series, held_out, tmp_path: Path) -> None:
    candles, spans = held_out
    settings = DetectorSettings(edge_features=True, exclude_features=("path_*", "volume_*", "volatility_*"))
    compact = SpanDetector.fit(train_series, settings=settings, model_type="xgboost", seed=7, training=SMALL)
    assert "edge_end_break" in compact.feature_names
    assert not any(name.startswith(("path_", "volume_", "volatility_")) for name in compact.feature_names)
    predicted = compact.predict(candles)
    assert match_spans(_spans(spans), _spans(predicted))["span_f1"] > 0.6
    loaded = SpanDetector.load(compact.save(tmp_path / "compact"))
    assert loaded.settings == settings and loaded.feature_names == compact.feature_names
    pd.testing.assert_frame_equal(loaded.predict(candles), predicted)


def test_the_ignore_zone_leaves_near_misses_out_of_the_fit(train_series) -> None:
    from ml_platform.shapes.candidates import length_range
    from ml_platform.shapes.detector import _prepare, _training_rows

    candles, spans = train_series[0]
    lengths = length_range((spans["end"] - spans["start"] + 1).to_numpy(), margin=0.25)

    def ious(settings: DetectorSettings) -> np.ndarray:
        prepared = _prepare(candles, settings, lengths)
        return _training_rows(prepared, spans, settings, np.random.default_rng(0))[2]

    plain, ignoring = ious(DetectorSettings()), ious(DetectorSettings(ignore_iou=0.3))
    zone = (plain >= 0.3) & (plain < 0.6)
    assert zone.sum() > 10  # near-misses are taught as O by default
    assert not ((ignoring >= 0.3) & (ignoring < 0.6)).any()
    assert (ignoring >= 0.6).sum() == (plain >= 0.6).sum()  # the patterns are all still there


def test_the_detectors_own_class_weights_override_the_training_configs(train_series, held_out) -> None:
    candles, _ = held_out
    unweighted_training = TrainingConfig(xgboost=SMALL.xgboost, class_weights="none")
    from_training = SpanDetector.fit(train_series, seed=7, training=unweighted_training)
    from_settings = SpanDetector.fit(
        train_series, settings=DetectorSettings(class_weights="none"), seed=7, training=SMALL
    )
    balanced = SpanDetector.fit(train_series, seed=7, training=SMALL)  # SMALL keeps the default: balanced
    pd.testing.assert_frame_equal(from_settings.score(candles), from_training.score(candles))
    # unweighted, "O" keeps its prior: the pattern probabilities drop and fewer spans pass the threshold
    assert from_settings.score(candles)["outside"].mean() > balanced.score(candles)["outside"].mean()
    assert len(from_settings.predict(candles)) <= len(balanced.predict(candles))
