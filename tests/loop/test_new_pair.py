"""A pair added without a redeploy: its raw file alone adds it to the instance's pairs and runs its chain.

Real Dagster instances (`instance_for_test`, a DAGSTER_HOME of the test's own for the CLI), the
deployed sensors of `assets.definitions`, real materializations. The daemon's part of a tick,
adding the requested pairs before launching the runs, is done by `apply_partition_requests`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions, instance_for_test, materialize

from assets.candles import raw_candles
from assets.checks import FEATURE_CHECKS, RAW_CANDLE_CHECKS
from assets.definitions import defs
from assets.features import enriched_features
from assets.labels import labeled_windows
from assets.partitions import instance_pairs, known_pairs
from ml_platform.config import PROJECT_ROOT, load_config
from resources.pipeline import PipelineResource
from tests.conftest import synthetic_candles, write_config
from tests.loop.test_automation_loop import _added, _tick

NEW = "XRPUSD|1h"


def _project(tmp_path: Path) -> Path:
    """A config of one configured pair (EURUSD) and two timeframes, every path in tmp_path."""
    path = write_config(tmp_path, {"partitions": {"pairs": ["EURUSD"], "timeframes": ["1h", "4h"]}})
    for folder in ("raw", "annotations"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return path


def _write_raw(raw_dir: Path, stem: str, n: int = 300) -> pd.DataFrame:
    candles = synthetic_candles(n, seed=5)
    candles.assign(
        timestamp=pd.to_datetime(candles["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ).drop(columns=["time"]).to_csv(raw_dir / f"{stem}.csv", index=False)
    return candles


def _annotation(candles: pd.DataFrame, identifier: str, first: int, last: int) -> dict:
    times = candles["time"].to_numpy()
    return {
        "id": identifier,
        "pair": "XRPUSD",
        "timeframe": "1h",
        "label": "bull_flag",
        "start_time": int(times[first]),
        "end_time": int(times[last]),
        "confidence": 1.0,
        "source": "human",
    }


def _requested(result, asset: str) -> set[str]:
    return {str(key) for key in result.get_requested_partitions(AssetKey(asset))}


def test_a_new_pairs_raw_file_adds_the_pair_and_its_partition_materializes(tmp_path: Path) -> None:
    config_path = _project(tmp_path)
    resources = {"pipeline": PipelineResource(config_path=str(config_path))}
    candles = _write_raw(tmp_path / "raw", "XRPUSD_1h")  # XRPUSD is in no config
    with instance_for_test() as instance:
        before = evaluate_automation_conditions(defs=defs, instance=instance)

        tick = _tick("raw_data_sensor", instance, config_path, None)
        assert _added(tick) == ["EURUSD", "XRPUSD"]  # the configured pair seeds the set; the file adds its own
        (request,) = tick.run_requests
        assert request.partition_key == NEW and request.asset_selection == [AssetKey("raw_candles")]
        assert request.tags["dagster/partition/pair"] == "XRPUSD"
        assert instance_pairs(instance) == ["EURUSD", "XRPUSD"]
        assert known_pairs(instance, load_config(config_path)) == ["EURUSD", "XRPUSD"]

        # The sensor's run: raw_candles (and its checks) of the new partition.
        loaded = materialize(
            [raw_candles, *RAW_CANDLE_CHECKS],
            partition_key=request.partition_key,
            instance=instance,
            resources=resources,
            tags=request.tags,
        )
        assert loaded.success
        checks = {check.check_name: check.passed for check in loaded.get_asset_check_evaluations()}
        assert checks["time_strictly_increasing"] and checks["no_duplicate_times"]

        # The chain follows through the eager conditions, for that partition only.
        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
        assert _requested(after, "enriched_features") == {NEW}

        # Annotations of the added pair are known to the labelling: none skipped as an unknown pair.
        export = {"version": 1, "annotations": [_annotation(candles, "x1", 150, 154)]}
        (tmp_path / "annotations" / "XRPUSD_1h.json").write_text(json.dumps(export))
        chain = materialize(
            [enriched_features, labeled_windows, *FEATURE_CHECKS],
            partition_key=NEW,
            instance=instance,
            resources=resources,
        )
        assert chain.success
        (labels,) = chain.asset_materializations_for_node("labeled_windows")
        assert labels.metadata["invalid_annotations_skipped"].value == 0
    labeled = pd.read_parquet(tmp_path / "labeled" / "XRPUSD_1h.parquet")
    assert (labeled["tag"] == "B-bull_flag").sum() == 1


def test_annotations_of_an_added_pair_relabel_it(tmp_path: Path) -> None:
    config_path = _project(tmp_path)
    candles = _write_raw(tmp_path / "raw", "XRPUSD_1h")
    with instance_for_test() as instance:
        _tick("raw_data_sensor", instance, config_path, None)  # adds XRPUSD
        first = _tick("annotations_sensor", instance, config_path, None)
        assert first.run_requests == []
        export = {"version": 1, "annotations": [_annotation(candles, "x1", 150, 154)]}
        (tmp_path / "annotations" / "XRPUSD_1h.json").write_text(json.dumps(export))
        saved = _tick("annotations_sensor", instance, config_path, first.cursor)
        assert [r.partition_key for r in saved.run_requests] == [NEW]
        assert saved.run_requests[0].tags["dagster/partition/pair"] == "XRPUSD"

        # A pair never added (no raw file, not configured) is not a partition: its annotations request nothing.
        other = dict(_annotation(candles, "s1", 10, 12), pair="SOLUSD")
        (tmp_path / "annotations" / "SOLUSD_1h.json").write_text(json.dumps({"version": 1, "annotations": [other]}))
        assert _tick("annotations_sensor", instance, config_path, saved.cursor).run_requests == []


def test_a_bad_file_name_or_an_unconfigured_timeframe_is_reported_and_adds_no_partition(tmp_path: Path) -> None:
    config_path = _project(tmp_path)
    raw = tmp_path / "raw"
    for name in ("xrpusd_1h.csv", "XRP_USD_1h.csv", "XRPUSD_2h.csv", "XRPUSD_1d.csv", "XRPUSD.csv"):
        (raw / name).write_text("x")
    with instance_for_test() as instance:
        tick = _tick("raw_data_sensor", instance, config_path, None)
        assert tick.run_requests == []
        assert _added(tick) == ["EURUSD"]  # the configured pair only
        message = tick.skip_message
        assert "no raw file changed" in message
        assert "not a {PAIR}_{TF}.csv|.parquet partition file" in message
        for name in ("xrpusd_1h.csv", "XRP_USD_1h.csv", "XRPUSD_2h.csv", "XRPUSD.csv"):
            assert name in message
        assert "timeframe not configured (partitions.timeframes: 1h, 4h), ignored: XRPUSD_1d.csv" in message
        assert instance_pairs(instance) == ["EURUSD"]

        again = _tick("raw_data_sensor", instance, config_path, tick.cursor)
        assert again.run_requests == [] and _added(again) == [] and "XRPUSD_1d.csv" in again.skip_message


@pytest.mark.slow
def test_the_cli_materializes_an_added_pairs_partition(tmp_path: Path) -> None:
    """``dagster asset materialize --partition 'XRPUSD|1h'`` once the sensor added XRPUSD to DAGSTER_HOME's instance."""
    config_path = _project(tmp_path)
    candles = _write_raw(tmp_path / "raw", "XRPUSD_1h")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        tick = _tick("raw_data_sensor", instance, config_path, None)
        assert [r.partition_key for r in tick.run_requests] == [NEW]
    env = {**os.environ, "DAGSTER_HOME": str(home), "ML_PLATFORM_CONFIG": str(config_path)}
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "assets.definitions",
            "--select",
            "raw_candles",
            "--partition",
            NEW,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    stored = pd.read_parquet(tmp_path / "candles" / "XRPUSD_1h.parquet")
    assert stored["time"].iloc[-1] == candles["time"].iloc[-1]
