from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.bundle import (
    BundleError,
    BundleMeta,
    bundle_version,
    generated_color,
    load_bundle,
    pattern_labels,
    save_bundle,
)
from ml_platform.config import ContextConfig, LabelSpec
from ml_platform.features import build_features
from ml_platform.model_inputs import bio_model_inputs, window_feature_columns, window_model_inputs
from ml_platform.training.models import get_model_type

from .helpers import small_config, synthetic_candles

CLASSES = ["B-spike", "I-spike", "O"]


def _meta(model_type: str, version: str) -> BundleMeta:
    config = small_config()
    return BundleMeta(
        model_version=version,
        model_type=model_type,
        pair="EURUSD",
        timeframe="1h",
        mode="bio",
        classes=CLASSES,
        labels=pattern_labels(CLASSES, config.labeling.labels),
        base_feature_columns=["a", "b", "c"],
        feature_columns=["a", "b", "c"],
        pipeline_config=config.to_dict(),
        metrics={"test": {"f1_macro": 0.5}},
        dataset_version="0123456789abcdef",
        trained_at="2026-11-26T10:00:00Z",
    )


@pytest.mark.parametrize("model_type", ["xgboost", "random_forest"])
def test_bundle_round_trips_and_keeps_only_current_and_previous_model(tmp_path: Path, model_type: str) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 3
    estimator = get_model_type(model_type)(small_config().training).fit(X, y, class_weight=None)
    for version in ("v1", "v2", "v3"):
        path = save_bundle(tmp_path, _meta(model_type, version), estimator)
    suffix = get_model_type(model_type).file_suffix
    assert path == tmp_path / "bundle.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json", f"model-v2{suffix}", f"model-v3{suffix}"]
    assert bundle_version(tmp_path) == "v3"
    bundle = load_bundle(tmp_path)
    assert bundle.meta.model_file == f"model-v3{suffix}"
    assert bundle.meta.labels == [{"name": "spike", "color": "#26a69a"}]
    assert bundle.config.features.context.previous == 1
    proba = bundle.predict_proba(X[:7])
    assert proba.dtype == np.float64 and proba.shape == (7, 3)
    assert np.allclose(proba, estimator.predict_proba(X[:7]))
    best = bundle.predict_proba(X[:2]).argmax(axis=1)  # class indices in meta.classes order
    assert {bundle.meta.classes[i] for i in best} <= set(CLASSES) and best.shape == (2,)
    if model_type == "random_forest":
        assert bundle.model.n_jobs == 1


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=str(tmp_path / "bundle.json") + ".*materialize trained_model"):
        load_bundle(tmp_path)
    assert bundle_version(tmp_path) is None
    (tmp_path / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="not a valid bundle.json"):
        load_bundle(tmp_path)
    estimator = get_model_type("xgboost")(small_config().training).fit(np.eye(6), np.arange(6) % 2, class_weight=None)
    save_bundle(tmp_path, _meta("xgboost", "v1"), estimator)
    (tmp_path / "model-v1.ubj").unlink()
    with pytest.raises(BundleError, match="model-v1.ubj: model file named by bundle.json is missing"):
        load_bundle(tmp_path)


def test_generated_colours_are_stable_hex() -> None:
    assert generated_color("bullish_engulfing") == generated_color("bullish_engulfing")
    labels = pattern_labels(
        ["B-bullish_engulfing", "I-bullish_engulfing", "O", "B-spike"], [LabelSpec(name="spike", color="#000000")]
    )
    assert [label["name"] for label in labels] == ["bullish_engulfing", "spike"]
    assert labels[0]["color"].startswith("#") and len(labels[0]["color"]) == 7 and labels[1]["color"] == "#000000"


def test_bio_inputs_match_on_a_request_slice() -> None:
    """Serving computes features on a request's candles: the inputs of shared rows equal training's."""
    config = small_config()
    candles, _ = synthetic_candles(300)
    full = build_features(candles, config)
    part = build_features(candles.iloc[100:].reset_index(drop=True), config)
    context = ContextConfig(previous=2, next=1)
    train_inputs, _ = bio_model_inputs(full.frame, full.feature_columns, context)
    serve_inputs, valid = bio_model_inputs(part.frame, part.feature_columns, context)
    assert valid == slice(2, len(part.frame) - 1)
    assert list(serve_inputs.columns) == list(train_inputs.columns)
    rows = serve_inputs.iloc[valid]
    times = part.frame["time"].iloc[valid]
    reference = train_inputs.set_index(full.frame["time"]).loc[times.to_numpy()]
    geometry = [c for c in rows.columns if not c.startswith("rsi")]  # RSI depends on its history by design
    assert np.allclose(rows[geometry].to_numpy(), reference[geometry].to_numpy())


def test_window_inputs_are_centred_and_named_by_offset() -> None:
    frame = pd.DataFrame({"f": np.arange(10.0), "g": np.arange(10.0) * 10})
    inputs, valid = window_model_inputs(frame, ["f", "g"], 4)
    assert (
        list(inputs.columns)
        == window_feature_columns(["f", "g"], 4)
        == ["f_t0", "f_t1", "f_t2", "f_t3", "g_t0", "g_t1", "g_t2", "g_t3"]
    )
    assert valid == slice(1, 8)  # candle i at offset (4 - 1) // 2 = 1: one before, two after
    assert inputs.loc[5, ["f_t0", "f_t1", "f_t2", "f_t3"]].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert inputs.loc[5, "g_t3"] == 70.0
    assert np.isnan(inputs.loc[0, "f_t0"]) and inputs.loc[0, "f_t1"] == 0.0


def test_window_inputs_match_the_labeling_stage() -> None:
    """A span's window in labeled_windows equals the serving window of the span's middle candle."""
    from ml_platform.labeling.windows import encode_windows, window_column_names

    frame = pd.DataFrame({"f": np.arange(30.0), "g": np.arange(30.0) ** 2})
    size, span_start, span_length = 8, 10, 3
    start = span_start - (size - span_length) // 2
    labeled = encode_windows([frame["f"].to_numpy(), frame["g"].to_numpy()], np.array([start]), size)
    inputs, _ = window_model_inputs(frame, ["f", "g"], size)
    assert list(inputs.columns) == window_column_names(["f", "g"], size)
    assert np.array_equal(inputs.iloc[start + (size - 1) // 2].to_numpy(), labeled[0])


# --------------------------------------------------------------------------- versions and the champion pointer


def _fitted() -> object:
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    return XGBClassifier(n_estimators=2, max_depth=2).fit(rng.normal(size=(30, 3)), np.arange(30) % 3)


def _versioned(tmp_path: Path, version: str, f1: float) -> Path:
    import msgspec

    from ml_platform import bundle_store

    meta = msgspec.structs.replace(_meta("xgboost", version), metrics={"validation": {"f1_macro": f1}})
    return bundle_store.write_version(tmp_path, meta, _fitted())


def test_versions_pointer_rollback_prune_and_sweep(tmp_path: Path) -> None:
    from ml_platform import bundle_store

    (tmp_path / ".tmp-model-old.ubj").write_bytes(b"")  # what a killed run of the flat layout left
    (tmp_path / "versions" / ".tmp-v0").mkdir(parents=True)  # and of the versioned one
    first = _versioned(tmp_path, "v1", 0.6)
    assert first == tmp_path / "versions" / "v1" and not list(tmp_path.glob(".tmp-*"))
    assert not list((tmp_path / "versions").glob(".*"))
    assert bundle_store.champion_dir(tmp_path) is None  # written but not promoted: nothing to serve
    assert bundle_store.not_worse(tmp_path, 0.1)
    bundle_store.promote(tmp_path, "v1", reason="first")
    assert bundle_store.champion_dir(tmp_path) == first and load_bundle(tmp_path).meta.model_version == "v1"
    assert not bundle_store.not_worse(tmp_path, 0.59) and bundle_store.not_worse(tmp_path, 0.6)  # a tie promotes
    # a span model against a per-candle champion: span_f1 is not compared with f1_macro
    assert bundle_store.champion_score(tmp_path, "span_f1") is None and bundle_store.not_worse(tmp_path, 0.1, "span_f1")
    for n in range(2, 6):
        _versioned(tmp_path, f"v{n}", 0.7)
        bundle_store.promote(tmp_path, f"v{n}", reason="better")
    pointer = bundle_store.read_champion(tmp_path)
    assert pointer is not None and (pointer.model_version, pointer.previous) == ("v5", ["v4", "v3", "v2", "v1"])
    _versioned(tmp_path, "v6", 0.1)  # worse: written, never promoted
    assert bundle_store.prune(tmp_path, 2) == []  # v1..v5 are the champion or listed previous champions
    assert bundle_store.rollback(tmp_path).model_version == "v4"
    assert bundle_store.rollback(tmp_path).model_version == "v3"
    assert bundle_store.prune(tmp_path, 2) == ["v4"]  # no longer listed and not among the newest 2 (v6, v5)
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v1", "v2", "v3", "v5", "v6"]
    with pytest.raises(BundleError, match="already exists"):
        _versioned(tmp_path, "v6", 0.1)
    with pytest.raises(BundleError, match="no complete bundle to promote"):
        bundle_store.promote(tmp_path, "v9", reason="missing")
    bundle_store.rollback(tmp_path)
    bundle_store.rollback(tmp_path)
    with pytest.raises(BundleError, match="no previous champion"):
        bundle_store.rollback(tmp_path)
    (tmp_path / "champion.json").write_text("{oops")
    with pytest.raises(BundleError, match="champion.json: not a valid champion.json"):
        bundle_store.read_champion(tmp_path)
