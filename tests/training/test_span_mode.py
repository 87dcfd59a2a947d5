"""Span mode (``labeling.mode: span``): config, training, the bundle, and a bundle from before span mode."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml_platform.bundle import load_bundle
from ml_platform.config import ConfigError, PipelineConfig
from ml_platform.db import RunStore
from ml_platform.features import build_features
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from ml_platform.training.dataset import TrainingDataError
from ml_platform.training.span_model import SpanModel
from ml_platform.training.tracking import Tracker
from ml_platform.training.train import TrainingResult, train_partition

from .helpers import small_config, synthetic_candles

PARTITION = Partition("EURUSD", "1h")
CHART_LABELS = ("bull_flag", "double_top", "head_and_shoulders")
OLD_BUNDLE = Path(__file__).parent / "fixtures" / "bio_bundle_v1"


def span_config(tmp_path: Path, mlflow_dir: Path | None = None, **overrides: Any) -> PipelineConfig:
    """`small_config` in span mode with the sample data's chart labels and CDL labels off."""
    raw: dict[str, Any] = {
        "labeling": {
            "mode": "span",
            "labels": [{"name": name, "color": "#26a69a"} for name in CHART_LABELS],
            "cdl": {"enabled": False},
            "span": {"scales": [1.5, 2.5, 4.0], "negatives_per_positive": 10.0},
        },
        "training": {"xgboost": {"n_estimators": 40, "max_depth": 4, "n_jobs": 1}},
    }
    if mlflow_dir is not None:
        prefix = f"t{uuid.uuid4().hex[:8]}"
        raw["mlflow"] = {
            "tracking_uri": f"sqlite:///{mlflow_dir}/mlflow.db",
            "artifact_location": str(mlflow_dir / "artifacts"),
            "experiment_name": prefix,
            "registered_model_prefix": prefix,
        }
    config = small_config(tmp_path, **raw)
    return small_config(tmp_path, **{**raw, **overrides}) if overrides else config


def span_labeled_frame(
    config: PipelineConfig, n: int = 5000, *, cdl_every: int = 0, chart: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What labeled_windows writes for the sample data (BIO tags of the planted spans), and the candles.

    cdl_every : int, default 0
        When > 0, a one-candle ``B-doji`` tag every `cdl_every` candles outside the spans (a CDL stand-in).
    chart : bool, default True
        False leaves out the planted spans' tags (a partition without chart annotations).
    """
    candles, planted = generate_partition("EURUSD", "1h", n)
    tags = np.full(n, "O", dtype=object)
    if chart:
        for span in planted:
            tags[span.start_index] = f"B-{span.label}"
            tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    if cdl_every:
        for i in range(cdl_every, n, cdl_every):
            if tags[i] == "O":
                tags[i] = "B-doji"
    features = build_features(candles, config)
    frame = features.frame.copy()
    frame["tag"] = tags[features.warmup_rows :]
    return frame, candles


def run_training(config: PipelineConfig, frame: pd.DataFrame, tmp_path: Path) -> TrainingResult:
    labeled = tmp_path / "labeled" / "EURUSD_1h.parquet"
    labeled.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(labeled, index=False)
    store = RunStore(config.database.url)
    try:
        return train_partition(
            config,
            PARTITION,
            labeled_path=labeled,
            bundle_dir=tmp_path / "models" / "EURUSD_1h",
            run_store=store,
            tracker=Tracker.from_config(config),
        )
    finally:
        store.dispose()


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("span", "key"),
    [
        ({"bogus": 1}, "labeling.span.bogus"),
        ({"threshold": 2}, "labeling.span.threshold"),
        ({"scales": []}, "labeling.span"),
        ({"min_pivots": 6, "max_pivots": 3}, "labeling.span"),
    ],
)
def test_span_settings_are_validated_with_the_key(tmp_path: Path, span: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"{key}\b"):
        small_config(tmp_path, labeling={"mode": "span", "span": span})


def test_span_mode_and_settings_map_to_detector_settings(tmp_path: Path) -> None:
    config = small_config(tmp_path, labeling={"mode": "span", "span": {"threshold": 0.7, "scales": [2.0]}})
    assert config.labeling.mode == "span"
    assert (config.labeling.span.threshold, config.labeling.span.scales) == (0.7, (2.0,))
    with pytest.raises(ConfigError, match="labeling.mode"):
        small_config(tmp_path, labeling={"mode": "spans"})


def test_promotion_compares_validation_span_f1_in_span_mode() -> None:
    from ml_platform.training.fit import FittedModel, promotion_metric, promotion_score
    from ml_platform.training.models import get_model_type

    metrics = {"validation": {"f1_macro": 0.9, "span_f1": 0.25}, "test": {}, "per_class": {}}
    fitted = {
        mode: FittedModel(
            estimator=None,
            model_type=get_model_type("xgboost"),
            hyperparameters={},
            class_weight=None,
            predictions={},
            metrics=metrics,
            per_class={},
            mode=mode,
        )
        for mode in ("bio", "span")
    }
    assert (promotion_metric("span"), promotion_metric("bio"), promotion_metric("window")) == (
        "span_f1",
        "f1_macro",
        "f1_macro",
    )
    assert (promotion_score(fitted["span"]), promotion_score(fitted["bio"])) == (0.25, 0.9)


def test_span_mode_on_a_window_file_names_the_missing_tag_column(tmp_path: Path) -> None:
    from ml_platform.training.dataset import prepare_dataset

    config = span_config(tmp_path)
    window_file = pd.DataFrame({"label": ["O", "double_top"], "start_time": [0, 1], "end_time": [1, 2]})
    with pytest.raises(TrainingDataError, match="labeling.mode is 'span' but the labeled data has no 'tag' column"):
        prepare_dataset(window_file, config, version="x")


# --------------------------------------------------------------------------- training


@pytest.mark.slow
def test_span_training_writes_a_span_bundle_that_predicts(tmp_path: Path, mlflow_dir: Path) -> None:
    config = span_config(tmp_path, mlflow_dir)
    frame, candles = span_labeled_frame(config, cdl_every=37)
    result = run_training(config, frame, tmp_path)

    meta = result.meta
    assert meta.mode == "span" and result.promoted
    validation, test = meta.metrics["validation"], meta.metrics["test"]
    assert validation["true_spans"] > 0 and test["true_spans"] > 0
    assert validation["span_f1"] > 0.3, validation  # the sample data's shapes are learnable
    assert set(meta.metrics["span_per_label"]["test"]) <= set(CHART_LABELS)
    assert "cdl_f1_macro" in test  # the CDL part (doji stand-in) is scored per candle
    assert {"B-doji", "B-double_top", "I-double_top", "O"} <= set(meta.classes)

    bundle = load_bundle(result.bundle_path.parent)
    assert isinstance(bundle.model, SpanModel) and bundle.model.cdl_classes == ["B-doji", "O"]
    assert (result.bundle_path.parent / meta.model_file / "detector" / "detector.json").is_file()

    predictor = Predictor.from_bundle(bundle)
    window = candles.iloc[-1500:].reset_index(drop=True)
    labelled = predictor.predict(window, batch_size=256)
    spans = bundle.model.detector.predict(window)
    tags = np.asarray(labelled.tags, dtype=object)
    assert len(spans) > 0 and labelled.n_candles == len(window)
    for row in spans.itertuples():  # per-candle tags follow the detector's spans, confidence included
        at = np.flatnonzero(labelled.indices == row.start)[0]
        assert tags[at] == f"B-{row.label}"
        assert labelled.confidences[at] == pytest.approx(row.confidence)
    assert predictor.predict(window, batch_size=7).tags == labelled.tags  # batch size changes no value

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=config.mlflow.tracking_uri, registry_uri=config.mlflow.tracking_uri)
    assert result.registration is not None
    version = client.get_model_version(result.registration.name, result.registration.version)
    assert version.run_id == result.mlflow_run_id
    artifacts = {a.path for a in client.list_artifacts(result.mlflow_run_id, "bundle")}
    assert f"bundle/{meta.model_file}" in artifacts


@pytest.mark.slow
def test_a_partition_without_chart_spans_fails_clearly(tmp_path: Path, mlflow_dir: Path) -> None:
    config = span_config(tmp_path, mlflow_dir)
    frame, _ = span_labeled_frame(config, n=1500, cdl_every=23, chart=False)
    with pytest.raises(TrainingDataError, match="holds no chart-pattern span"):
        run_training(config, frame, tmp_path)


# --------------------------------------------------------------------------- a bundle from before span mode


def test_a_bundle_written_before_span_mode_still_loads_and_predicts(tmp_path: Path) -> None:
    folder = shutil.copytree(OLD_BUNDLE, tmp_path / "bundle")
    bundle = load_bundle(folder)
    assert bundle.meta.mode == "bio"
    predictor = Predictor.from_bundle(bundle)
    candles, _ = synthetic_candles(400, seed=3)
    result = predictor.predict(candles, batch_size=100)
    assert len(result.indices) > 300
    expected = np.load(OLD_BUNDLE.parent / "bio_bundle_v1_tags.npy", allow_pickle=False)
    assert np.asarray(result.tags, dtype=str).tolist() == expected.tolist()
