"""raw_candles and enriched_features through a real Dagster instance: in-process and via the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, materialize

from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.features import enriched_features
from assets.partitions import add_partition_keys
from ml_platform.config import PROJECT_ROOT, load_config
from ml_platform.features import build_features
from resources.pipeline import PipelineResource
from tests.conftest import synthetic_candles


def _write_raw(config_path: Path, pair: str = "EURUSD", timeframe: str = "1h", n: int = 300) -> pd.DataFrame:
    config = load_config(config_path)
    candles = synthetic_candles(n)
    raw_dir = config.data.raw_dir
    raw_dir.mkdir(parents=True, exist_ok=True)
    candles.assign(
        timestamp=pd.to_datetime(candles["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ).drop(columns=["time"]).to_csv(raw_dir / f"{pair}_{timeframe}.csv", index=False)
    return candles


def test_materialize_one_partition_in_process(config_path: Path, tmp_path: Path) -> None:
    candles = _write_raw(config_path)
    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, ["EURUSD|1h"])  # the pair dimension is dynamic
        result = materialize(
            [raw_candles, enriched_features, *RAW_CANDLE_CHECKS, *FEATURE_CHECKS],
            partition_key="EURUSD|1h",
            resources={"pipeline": PipelineResource(config_path=str(config_path))},
            instance=instance,
        )
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == {
            "time_strictly_increasing": True,
            "no_duplicate_times": True,
            "ohlc_consistent": True,
            "no_large_gaps": True,
            "features_finite": True,
        }
        materializations = {m.asset_key: m for m in result.asset_materializations_for_node("enriched_features")}
        metadata = materializations[AssetKey("enriched_features")].metadata
        assert metadata["rows"].value == 300 - metadata["warmup_rows_dropped"].value
        preview = next(value for key, value in metadata.items() if key.startswith("preview_last_10_rows"))
        assert preview.records[-1].data["time"] == "2023-11-27T09:00:00Z"  # ISO, not 1.70195e+09
        columns = metadata["dagster/column_schema"].schema.columns
        assert [c.name for c in columns] == list(build_features(candles, load_config(config_path)).frame.columns)
        undescribed = [c.name for c in columns if not c.description]
        assert undescribed == [], f"feature columns without a description: {undescribed}"
        raw = {m.asset_key: m for m in result.asset_materializations_for_node("raw_candles")}[AssetKey("raw_candles")]
        chart = raw.metadata["close_price_chart"]
        assert chart.value.startswith("![close price](data:image/svg+xml;base64,") and len(chart.value) < 1000

    stored = pd.read_parquet(tmp_path / "candles" / "EURUSD_1h.parquet")
    pd.testing.assert_frame_equal(stored, candles)
    enriched = pd.read_parquet(tmp_path / "enriched" / "EURUSD_1h.parquet")
    pd.testing.assert_frame_equal(enriched, build_features(candles, load_config(config_path)).frame)


def test_bad_raw_file_fails_and_writes_nothing(config_path: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "EURUSD_1h.csv").write_text("timestamp,open,high,low,close\n2024-01-01T00:00:00Z,1,1,1,x\n")
    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, ["EURUSD|1h"])  # the pair dimension is dynamic
        result = materialize(
            [raw_candles],
            partition_key="EURUSD|1h",
            instance=instance,
            raise_on_error=False,
            resources={"pipeline": PipelineResource(config_path=str(config_path))},
        )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "EURUSD_1h.csv: line 2, column 'close': 'x' is not a number" in failure.to_string()
    assert not (tmp_path / "candles").exists()


def test_gap_check_warns_about_missing_candles(config_path: Path, tmp_path: Path) -> None:
    candles = _write_raw(config_path)
    gapped = candles.drop(index=range(100, 120))
    raw = tmp_path / "raw" / "EURUSD_1h.csv"
    gapped.assign(timestamp=gapped["time"]).drop(columns=["time"]).to_csv(raw, index=False)
    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, ["EURUSD|1h"])  # the pair dimension is dynamic
        result = materialize(
            [raw_candles, *RAW_CANDLE_CHECKS],
            partition_key="EURUSD|1h",
            instance=instance,
            resources={"pipeline": PipelineResource(config_path=str(config_path))},
        )
    gap = next(e for e in result.get_asset_check_evaluations() if e.check_name == "no_large_gaps")
    assert not gap.passed
    assert gap.metadata["largest_gap_in_timeframes"].value == 21.0


@pytest.mark.slow
def test_cli_materializes_a_partition(config_path: Path, tmp_path: Path) -> None:
    candles = _write_raw(config_path, pair="BTC-USDT")
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "ML_PLATFORM_CONFIG": str(config_path)}
    dagster = Path(sys.executable).parent / "dagster"
    completed = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "assets.definitions",
            "--select",
            "raw_candles,enriched_features",
            "--partition",
            "BTC-USDT|1h",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    enriched = pd.read_parquet(tmp_path / "enriched" / "BTC-USDT_1h.parquet")
    assert enriched["time"].iloc[-1] == candles["time"].iloc[-1]
    # the run is recorded in the instance the UI reads
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        assert instance.get_latest_materialization_event(AssetKey("enriched_features")) is not None
