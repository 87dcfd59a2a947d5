"""Automation on a real Dagster instance: defaults, the schedules, the eager chain, raw-data and annotations sensors."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import yaml
from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    evaluate_automation_conditions,
    instance_for_test,
)

from assets.automation import ADDED_PAIRS_SCHEDULE, build_pair_schedules, pair_cron, pipeline_job
from assets.definitions import build_definitions, defs
from assets.partitions import add_pairs, add_partition_keys, instance_pairs
from ml_platform.config import DataConfig, load_config
from resources.pipeline import PipelineResource

KEY = "EURUSD|1h"
CHAIN = ("enriched_features", "labeled_windows", "trained_model")


def _config(tmp_path: Path) -> Path:
    raw = {
        "data": DataConfig.paths_under(tmp_path),
        "partitions": {"pairs": ["EURUSD", "BTC-USDT"], "timeframes": ["1h", "4h"]},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    for folder in ("raw", "annotations"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return path


def _tick(name: str, instance: DagsterInstance, config_path: Path, cursor: str | None):
    """One tick of the deployed sensor `name`; its dynamic partitions requests applied, as the daemon does."""
    sensor = defs.get_unresolved_sensor_def(name)
    resources = {"pipeline": PipelineResource(config_path=str(config_path))}
    # entered, as the daemon does: the context then releases what it opened (its resources, its logger)
    with build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), cursor=cursor, resources=resources, definitions=defs
    ) as context:
        result = sensor.evaluate_tick(context)
    apply_partition_requests(instance, result.dynamic_partitions_requests)
    return result


def apply_partition_requests(instance: DagsterInstance, requests) -> None:
    """Add the pairs of a tick's ``AddDynamicPartitionsRequest``s (the daemon does this before launching its runs)."""
    for request in requests or []:
        assert isinstance(request, AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)


def _added(result) -> list[str]:
    return [key for request in result.dynamic_partitions_requests or [] for key in request.partition_keys]


def test_every_sensor_and_schedule_starts_running() -> None:
    repository = defs.get_repository_def()
    sensors = {sensor.name: sensor.default_status for sensor in repository.sensor_defs}
    assert {"annotations_sensor", "raw_data_sensor", "automation_condition_sensor"} <= set(sensors)
    assert set(sensors.values()) == {DefaultSensorStatus.RUNNING}
    schedules = repository.schedule_defs
    assert schedules and {s.default_status for s in schedules} == {DefaultScheduleStatus.RUNNING}


def test_one_staggered_schedule_per_pair_runs_the_whole_chain(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    schedules = build_pair_schedules(config)
    assert [s.name for s in schedules] == ["backfill_EURUSD", "backfill_BTC_USDT", ADDED_PAIRS_SCHEDULE]
    assert [s.cron_schedule for s in schedules] == ["0 2 * * *", "10 2 * * *", "20 2 * * *"]
    assert pair_cron(6 * 22) == "0 0 * * *"  # wraps around midnight
    assert {s.job_name for s in schedules} == {pipeline_job.name}
    selected = {
        key.to_user_string()
        for key in build_definitions(config).resolve_job_def(pipeline_job.name).asset_layer.executable_asset_keys
    }
    assert {"raw_candles", *CHAIN} <= selected
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 26, 2, 10))
    requests = list(schedules[1](context))
    assert [r.partition_key for r in requests] == ["BTC-USDT|1h", "BTC-USDT|4h"]
    assert [r.run_key for r in requests] == [
        "backfill_BTC_USDT-2026-11-26:BTC-USDT|1h",
        "backfill_BTC_USDT-2026-11-26:BTC-USDT|4h",
    ]


def test_pairs_added_to_the_instance_have_a_backfill_schedule_of_their_own(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path))
    added = build_pair_schedules(config)[-1]
    with instance_for_test() as instance:
        add_pairs(instance, ["EURUSD", "BTC-USDT"])  # configured: their own schedules backfill them
        tick = datetime(2026, 11, 26, 2, 20)
        # entered, as the daemon does: the context opens its own instance from the ref, and only
        # leaving the block closes it (left open, it stays the process's current defs-state storage)
        with build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            skipped = added(context)
        assert isinstance(skipped, SkipReason) and "no pair added" in str(skipped.skip_message)

        add_pairs(instance, ["XRPUSD", "SOL-USDT"])  # e.g. by raw_data_sensor, from new raw files
        with build_schedule_context(instance=instance, scheduled_execution_time=tick) as context:
            requests = added(context)
        assert [r.partition_key for r in requests] == ["XRPUSD|1h", "XRPUSD|4h", "SOL-USDT|1h", "SOL-USDT|4h"]
        assert requests[0].run_key == f"{ADDED_PAIRS_SCHEDULE}-2026-11-26:XRPUSD|1h"


def test_new_candles_request_the_whole_chain_of_that_partition_only() -> None:
    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, [KEY])
        for asset in ("annotations",):
            instance.report_runless_asset_event(AssetMaterialization(asset_key=asset))
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        for asset in ("raw_candles", *CHAIN):
            instance.report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=KEY))
        quiet = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert all(KEY not in _requested(quiet, asset) for asset in CHAIN)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="raw_candles", partition=KEY))
        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        for asset in CHAIN:  # requested in the same tick: one run, in dependency order
            assert _requested(after, asset) == {KEY}, asset


def test_labels_follow_the_candles_without_the_annotations_asset_ever_materialized() -> None:
    with DagsterInstance.ephemeral() as instance:
        add_partition_keys(instance, [KEY])
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        for asset in ("raw_candles", *CHAIN):
            instance.report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=KEY))
        quiet = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        instance.report_runless_asset_event(AssetMaterialization(asset_key="enriched_features", partition=KEY))
        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        assert _requested(after, "labeled_windows") == {KEY}
        assert _requested(after, "trained_model") == {KEY}


def test_raw_data_sensor_requests_new_and_changed_files_and_names_bad_ones(tmp_path: Path) -> None:
    config_path = _config(tmp_path)
    raw = tmp_path / "raw"
    (raw / "EURUSD_1h.csv").write_text("time,open,high,low,close,volume\n")
    (raw / "eurusd_1h.csv").write_text("x")  # not a valid pair
    (raw / "EURUSD_2h.csv").write_text("x")  # not a valid timeframe
    (raw / "EURUSD_1d.csv").write_text("x")  # valid but not a configured timeframe
    (raw / "notes.txt").write_text("x")  # not a raw file at all
    with instance_for_test() as instance:
        first = _tick("raw_data_sensor", instance, config_path, None)  # never loaded: requested
        assert [r.partition_key for r in first.run_requests] == [KEY]
        assert first.run_requests[0].asset_selection == [AssetKey("raw_candles")]
        assert _added(first) == ["EURUSD", "BTC-USDT"]  # the config seeds the instance's pairs
        assert set(json.loads(first.cursor)) == {"EURUSD_1h.csv"}

        same = _tick("raw_data_sensor", instance, config_path, first.cursor)
        assert same.run_requests == [] and _added(same) == []
        assert "no raw file changed" in same.skip_message
        assert "eurusd_1h.csv" in same.skip_message and "EURUSD_2h.csv" in same.skip_message
        assert "timeframe not configured" in same.skip_message and "EURUSD_1d.csv" in same.skip_message

        (raw / "EURUSD_1h.csv").write_text("time,open,high,low,close,volume\n1,1,1,1,1,1\n")  # new candles
        (raw / "BTC-USDT_4h.parquet").write_bytes(b"new")  # a new file of a configured partition
        changed = _tick("raw_data_sensor", instance, config_path, same.cursor)
        assert sorted(r.partition_key for r in changed.run_requests) == ["BTC-USDT|4h", KEY]
        assert len({r.run_key for r in changed.run_requests}) == 2

        # The daemon lost its cursor (or the sensor was switched on anew): only files newer than their load count.
        instance.report_runless_asset_event(AssetMaterialization(asset_key="raw_candles", partition=KEY))
        old = (raw / "BTC-USDT_4h.parquet").stat().st_mtime - 3600
        os.utime(raw / "BTC-USDT_4h.parquet", (old, old))
        restarted = _tick("raw_data_sensor", instance, config_path, None)
        assert [r.partition_key for r in restarted.run_requests] == ["BTC-USDT|4h"]  # never loaded
        assert instance_pairs(instance) == ["EURUSD", "BTC-USDT"]  # no file turned into a pair


def _write_partition_file(folder: Path, annotations: list[dict], exported_at: str) -> None:
    document = {"version": 1, "exported_at": exported_at, "annotations": annotations}
    (folder / "EURUSD_1h.json").write_text(json.dumps(document))


def _annotation(identifier: str, start: int) -> dict:
    return {
        "id": identifier,
        "pair": "EURUSD",
        "timeframe": "1h",
        "label": "bull_flag",
        "start_time": start,
        "end_time": start + 7200,
        "confidence": 1.0,
        "source": "human",
    }


def test_annotations_sensor_two_quick_saves_one_run_and_a_malformed_file_is_reported(tmp_path: Path) -> None:
    config_path = _config(tmp_path)
    folder = tmp_path / "annotations"
    with instance_for_test() as instance:
        first = _tick("annotations_sensor", instance, config_path, None)
        assert first.run_requests == []
        _write_partition_file(folder, [_annotation("a", 1_700_000_000)], "2026-01-01T00:00:01Z")
        _write_partition_file(
            folder, [_annotation("a", 1_700_000_000), _annotation("b", 1_700_100_000)], "2026-01-01T00:00:02Z"
        )
        saved = _tick("annotations_sensor", instance, config_path, first.cursor)
        assert [r.partition_key for r in saved.run_requests] == [KEY]  # two saves, one run

        (folder / "EURUSD_1h.json").write_text('{"version": 1,\n  "annotations": [oops]}')
        broken = _tick("annotations_sensor", instance, config_path, saved.cursor)
        assert broken.run_requests == [] and "EURUSD_1h.json: line 2, column" in broken.skip_message
        assert broken.cursor in (None, saved.cursor)  # the cursor stays: nothing is lost

        _write_partition_file(folder, [_annotation("b", 1_700_100_000)], "2026-01-01T00:00:03Z")  # "a" deleted
        deleted = _tick("annotations_sensor", instance, config_path, saved.cursor)
        assert [r.partition_key for r in deleted.run_requests] == [KEY]


def _requested(result, asset: str) -> set[str]:
    return {str(key) for key in result.get_requested_partitions(AssetKey(asset))}
