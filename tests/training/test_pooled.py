"""Pooled models (``training.pool``): one model fitted on several partitions of one timeframe."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest

from ml_platform.bundle import load_bundle, load_meta
from ml_platform.config import ConfigError, PipelineConfig, load_config
from ml_platform.db import RunStore
from ml_platform.features import build_features
from ml_platform.inference import Predictor
from ml_platform.partitions import Partition
from ml_platform.sample_data import generate_partition
from ml_platform.training.dataset import TrainingDataError
from ml_platform.training.pooled import Member, fit_pooled, member_dataset
from ml_platform.training.pooled_train import (
    POOLED_PAIR,
    PoolResult,
    pool_dir,
    pool_partitions,
    pool_timeframes,
    serves,
    train_pool,
)
from ml_platform.training.tracking import Tracker

from .helpers import labeled_bio_frame, small_config
from .test_span_mode import OLD_BUNDLE, span_config

PAIRS = ("EURUSD", "GBPUSD", "BTC-USDT")
FEW = "BTC-USDT"  # the member with few annotations
FEW_SPANS = 4
N_CANDLES = 2000


# --------------------------------------------------------------------------- config and old bundles


def test_pooling_is_off_by_default_and_its_keys_are_validated(tmp_path: Path) -> None:
    assert load_config().training.pool.enabled is False  # config/pipeline.yaml
    assert pool_timeframes(small_config(tmp_path)) == []
    config = small_config(tmp_path, training={"pool": {"enabled": True}})
    assert pool_timeframes(config) == ["1h"]  # [] = every configured timeframe
    assert pool_partitions(config, "1h") == [Partition("EURUSD", "1h"), Partition("GBPUSD", "1h")]
    chosen = small_config(tmp_path, training={"pool": {"enabled": True, "timeframes": ["4h"], "pairs": ["GBPUSD"]}})
    assert (pool_timeframes(chosen), pool_partitions(chosen, "4h")) == (["4h"], [Partition("GBPUSD", "4h")])
    assert pool_dir(config, "1h") == config.data.models_dir / "POOLED_1h"
    with pytest.raises(ConfigError, match=r"training\.pool\.pairs\[0\]"):
        small_config(tmp_path, training={"pool": {"pairs": ["eurusd"]}})
    with pytest.raises(ConfigError, match=r"training\.pool\.timeframes\[0\]"):
        small_config(tmp_path, training={"pool": {"timeframes": ["2h"]}})


def test_a_bundle_written_before_pooled_models_loads_with_no_members(tmp_path: Path) -> None:
    folder = shutil.copytree(OLD_BUNDLE, tmp_path / "bundle")
    assert "pooled_from" not in msgspec.json.decode((folder / "bundle.json").read_bytes())
    bundle = load_bundle(folder)
    assert bundle.meta.pooled_from == []
    own = Partition(bundle.meta.pair, bundle.meta.timeframe)
    assert serves(bundle.meta, own) and not serves(bundle.meta, Partition("XAUUSD", bundle.meta.timeframe))
    Predictor.from_bundle(bundle)  # still predicts: test_span_mode checks the tags


# --------------------------------------------------------------------------- BIO mode (fast)


def _bio_member(config: PipelineConfig, pair: str, *, seed: int, keep_tags: bool = True) -> Member:
    frame = labeled_bio_frame(config, n=500, seed=seed)
    if not keep_tags:
        frame["tag"] = "O"  # a partition without annotations: a single class, which alone could not train
    return Member(Partition(pair, "1h"), member_dataset(frame, config, version=f"v-{pair}"))


def test_bio_pool_fits_on_the_members_rows_and_scores_each_member(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    members = [_bio_member(config, "EURUSD", seed=1), _bio_member(config, "GBPUSD", seed=2, keep_tags=False)]
    fit = fit_pooled(members, config)
    assert fit.mode == "bio" and fit.members == ["EURUSD|1h", "GBPUSD|1h"]
    assert {"O", "B-spike", "I-spike", "B-dip", "I-dip"} <= set(fit.classes)
    assert set(fit.metrics["members"]) == {"EURUSD|1h", "GBPUSD|1h"}
    assert fit.metrics["members"]["GBPUSD|1h"]["train_spans"] == 0
    rows = sum(fit.metrics["members"][key]["test"]["rows"] for key in fit.members)
    assert fit.metrics["test"]["rows"] == rows  # the pool overall: every member's test rows
    assert fit.metrics["validation"]["f1_macro"] > 0.5
    spans = [fit.metrics["members"][key]["test"]["true_spans"] for key in fit.members]
    assert fit.metrics["test"]["true_spans"] == sum(spans)


def test_the_pool_checks_its_members(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    eur = _bio_member(config, "EURUSD", seed=1)
    with pytest.raises(TrainingDataError, match="one timeframe"):
        fit_pooled([eur, Member(Partition("GBPUSD", "4h"), eur.dataset)], config)
    with pytest.raises(TrainingDataError, match="twice"):
        fit_pooled([eur, eur], config)
    fewer = member_dataset(
        labeled_bio_frame(config, n=500, seed=2), config, version="x", base_feature_columns=["rsi_5"]
    )
    with pytest.raises(TrainingDataError, match="model inputs differ"):
        fit_pooled([eur, Member(Partition("GBPUSD", "1h"), fewer)], config)
    empty = [_bio_member(config, pair, seed=3, keep_tags=False) for pair in ("EURUSD", "GBPUSD")]
    with pytest.raises(TrainingDataError, match="single class"):
        fit_pooled(empty, config)
    with pytest.raises(TrainingDataError, match="window"):
        member_dataset(pd.DataFrame(), small_config(tmp_path, labeling={"mode": "window"}), version="x")


def test_train_pool_records_a_failed_run_and_skips_a_member_without_a_file(tmp_path: Path) -> None:
    config = small_config(tmp_path)
    frame = labeled_bio_frame(config, n=500, seed=1)
    frame["tag"] = "O"  # no annotations anywhere: the pool cannot train
    present = Partition("EURUSD", "1h")
    path = config.data.partition_file("labeled", present)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    store = RunStore(config.database.url)
    try:
        with pytest.raises(TrainingDataError, match="single class"):
            train_pool(config, "1h", run_store=store)  # members: EURUSD (a file) and GBPUSD (none)
        (row,) = store.list_runs()
    finally:
        store.dispose()
    assert (row.status, row.pair) == ("failed", POOLED_PAIR) and "single class" in (row.error or "")
    assert not pool_dir(config, "1h").exists()  # nothing written
    labeled_bio_frame(config, n=500, seed=1).to_parquet(path, index=False)  # now annotated
    result = train_pool(config, "1h")
    assert set(result.skipped) == {"GBPUSD|1h"} and result.meta.pooled_from == ["EURUSD|1h"]
    assert result.promoted and load_meta(pool_dir(config, "1h")).model_version == result.meta.model_version
    with pytest.raises(TrainingDataError, match="no member"):
        train_pool(config, "1h", partitions=[Partition("GBPUSD", "1h")])
    with pytest.raises(TrainingDataError, match="another timeframe"):
        train_pool(config, "1h", partitions=[Partition("EURUSD", "4h")])


# --------------------------------------------------------------------------- span mode, end to end (slow)


def _span_frame(config: PipelineConfig, pair: str, *, keep: int | None) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """A labeled span-mode partition of the sample data: the planted spans' tags (the first `keep` only)."""
    candles, planted = generate_partition(pair, "1h", N_CANDLES)
    tags = np.full(N_CANDLES, "O", dtype=object)
    chosen = planted if keep is None else sorted(planted, key=lambda s: s.start_index)[:keep]
    for span in chosen:
        tags[span.start_index] = f"B-{span.label}"
        tags[span.start_index + 1 : span.end_index + 1] = f"I-{span.label}"
    features = build_features(candles, config)
    frame = features.frame.copy()
    frame["tag"] = tags[features.warmup_rows :]
    return frame, candles, len(chosen)


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory, mlflow_dir: Path) -> dict[str, Any]:
    """One tracked `train_pool` over three sample partitions (BTC-USDT with few annotations)."""
    from ml_platform.shapes import detector as detector_module

    tmp_path = tmp_path_factory.mktemp("pooled")
    config = span_config(tmp_path, mlflow_dir)
    paths, candles, annotated = {}, {}, {}
    for pair in PAIRS:
        frame, candles[pair], annotated[pair] = _span_frame(config, pair, keep=FEW_SPANS if pair == FEW else None)
        paths[Partition(pair, "1h")] = tmp_path / f"{pair}_1h.parquet"
        frame.to_parquet(paths[Partition(pair, "1h")], index=False)
    series_lengths: list[list[int]] = []
    original = detector_module.SpanDetector.fit.__func__  # type: ignore[attr-defined]

    def recording_fit(cls: Any, series: Any, **kwargs: Any) -> Any:
        series_lengths.append([len(candles_) for candles_, _ in series])
        return original(cls, series, **kwargs)

    store = RunStore(config.database.url)
    try:
        with pytest.MonkeyPatch.context() as patch:
            # a module fixture runs before the autouse `_no_env_overrides`, and mlflow.set_tracking_uri
            # of an earlier test in this process leaves MLFLOW_TRACKING_URI set: the config's store only
            patch.delenv("MLFLOW_TRACKING_URI", raising=False)
            patch.setattr(detector_module.SpanDetector, "fit", classmethod(recording_fit))
            result = train_pool(
                config,
                "1h",
                partitions=list(paths),
                labeled_paths=paths,
                bundle_dir=pool_dir(config, "1h"),
                tracker=Tracker.from_config(config),
                run_store=store,
            )
        row = store.get(result.training_run_id or "")
    finally:
        store.dispose()
    return {
        "row": row,
        "config": config,
        "result": result,
        "candles": candles,
        "annotated": annotated,
        "series_lengths": series_lengths,
    }


@pytest.mark.slow
def test_the_pooled_bundle_lists_its_members_and_is_the_pools_champion(pooled: dict[str, Any]) -> None:
    result: PoolResult = pooled["result"]
    config = pooled["config"]
    meta = load_meta(pool_dir(config, "1h"))  # the folder's champion
    assert result.promoted and meta.model_version == result.meta.model_version
    assert meta.pooled_from == [f"{pair}|1h" for pair in PAIRS]
    assert (meta.pair, meta.timeframe, meta.mode) == (POOLED_PAIR, "1h", "span")
    assert all(serves(meta, Partition(pair, "1h")) for pair in PAIRS)
    assert not serves(meta, Partition("XAUUSD", "1h")) and not serves(meta, Partition("EURUSD", "4h"))
    members = meta.metrics["members"]
    assert set(members) == set(meta.pooled_from)
    for key in meta.pooled_from:  # each member scored on its own validation and test parts
        assert {"validation", "test", "span_per_label", "train_spans", "dataset_version"} <= set(members[key])
    assert meta.metrics["test"]["true_spans"] == sum(members[key]["test"]["true_spans"] for key in members)
    assert members[f"{FEW}|1h"]["train_spans"] <= FEW_SPANS
    # the sample data's shapes are learnable (a few spans per part at 2,000 candles: no tight bound)
    assert meta.metrics["validation"]["matched_spans"] + meta.metrics["test"]["matched_spans"] >= 2, meta.metrics
    assert result.mlflow_run_id and meta.mlflow_run_id == result.mlflow_run_id

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=config.mlflow.tracking_uri)
    run = client.get_run(result.mlflow_run_id)
    assert run.data.tags["pooled_from"] == ",".join(meta.pooled_from)
    assert "BTC-USDT_1h.test_span_f1" in run.data.metrics and "test_span_f1" in run.data.metrics
    assert "bundle/bundle.json" in {a.path for a in client.list_artifacts(result.mlflow_run_id, "bundle")}
    row = pooled["row"]  # the training_runs row
    assert row is not None and (row.status, row.pair, row.timeframe) == ("completed", POOLED_PAIR, "1h")
    assert row.model_version == meta.model_version and row.mlflow_run_id == result.mlflow_run_id
    assert row.metrics_summary["pooled_from"] == meta.pooled_from


@pytest.mark.slow
def test_candidates_never_cross_a_partition_boundary(pooled: dict[str, Any]) -> None:
    """The detector is fitted on one series per member, each within that member's candles."""
    (lengths,) = pooled["series_lengths"]
    assert len(lengths) == len(PAIRS)
    assert all(0 < n < N_CANDLES for n in lengths)


@pytest.mark.slow
def test_the_existing_predictor_serves_every_member_and_the_sparse_one(pooled: dict[str, Any]) -> None:
    bundle = load_bundle(pool_dir(pooled["config"], "1h"))
    predictor = Predictor.from_bundle(bundle)
    for pair in PAIRS:
        window = pooled["candles"][pair].iloc[-700:].reset_index(drop=True)
        labelled = predictor.predict(window, batch_size=256)
        starts = [tag for tag in labelled.tags if tag.startswith("B-")]
        assert labelled.n_candles == len(window)
        assert starts, f"the pooled model finds no span in {pair}"
    # the sparse member: its 4 annotated spans lie in its first candles; the model finds spans after them
    assert pooled["annotated"][FEW] == FEW_SPANS
    _, planted = generate_partition(FEW, "1h", N_CANDLES)
    last_annotated = sorted(s.end_index for s in planted)[FEW_SPANS - 1]
    later = bundle.model.detector.predict(pooled["candles"][FEW])
    assert (later["start"] > last_annotated).sum() >= 3
