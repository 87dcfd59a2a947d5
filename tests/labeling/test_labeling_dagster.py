"""The Dagster wiring on a real (temporary) instance: annotations, labeled_windows, the deployed sensor."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance, TableMetadataValue, build_sensor_context, instance_for_test, materialize

from assets.definitions import defs
from assets.labels import annotations as annotations_asset
from assets.labels import labeled_windows
from assets.partitions import add_partition_keys
from ml_platform.candles import write_candles
from ml_platform.config import load_config
from ml_platform.features import build_features
from ml_platform.labeling import changed_partitions
from ml_platform.partitions import Partition
from resources.pipeline import PipelineResource


def _config_file(tmp_path: Path, **labeling) -> Path:
    data = {
        name: str(tmp_path / folder)
        for name, folder in (
            ("raw_path", "raw"),
            ("raw_store", "candles"),
            ("enriched_path", "enriched"),
            ("labeled_path", "labeled"),
            ("models_path", "models"),
            ("annotations_path", "annotations"),
        )
    }
    raw = {
        "data": data,
        "partitions": {"pairs": ["EURUSD", "BTC-USDT"], "timeframes": ["1h"]},
        "labeling": {"cdl": {"patterns": ["CDLENGULFING", "CDLDOJI"]}, **labeling},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _prepare_upstream(kit, config_path: Path, n: int = 200) -> pd.DataFrame:
    """raw_candles and enriched_features files for EURUSD|1h, as the upstream assets write them."""
    config = load_config(config_path)
    candles = kit.candles(n, seed=2)
    write_candles(candles, config.data.partition_file("candles", Partition("EURUSD", "1h")))
    enriched = build_features(candles, config).frame
    path = config.data.partition_file("features", Partition("EURUSD", "1h"))
    path.parent.mkdir(parents=True)
    enriched.to_parquet(path, index=False)
    return enriched


def _materialize(instance, config_path: Path, assets=None, **kwargs):
    if kwargs.get("partition_key"):  # the pair dimension is dynamic: its pair must be in the instance
        add_partition_keys(instance, [kwargs["partition_key"]])
    return materialize(
        assets or [labeled_windows],
        instance=instance,
        resources={"pipeline": PipelineResource(config_path=str(config_path))},
        **kwargs,
    )


def test_labeled_windows_materializes_one_partition_with_statistics(kit, tmp_path: Path) -> None:
    config_path = _config_file(tmp_path)
    enriched = _prepare_upstream(kit, config_path)
    warmup = 200 - len(enriched)
    kit.write_export(
        tmp_path / "annotations" / "export.json",
        [
            kit.ann("bull_flag", warmup + 10, warmup + 14, id="a"),
            kit.ann("double_top", warmup + 30, warmup + 33, id="b", confidence=0.2),
            kit.ann("triangle", warmup + 40, warmup + 41, id="c"),
            kit.ann("bull_flag", 5, 6, id="d", pair="BTC-USDT"),
        ],
    )
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, config_path, partition_key="EURUSD|1h")
        assert result.success
        materialization = result.asset_materializations_for_node("labeled_windows")[0]
    assert materialization.partition == "EURUSD|1h"
    metadata = materialization.metadata
    statistics = metadata["label_statistics"]
    assert [c.name for c in statistics.schema.columns] == ["label", "spans", "samples", "share_pct", "avg_span_candles"]
    bull_flag = next(r.data for r in statistics.records if r.data["label"] == "bull_flag")
    assert bull_flag["spans"] == 1 and bull_flag["samples"] == 5
    assert metadata["invalid_annotations_skipped"].value == 1
    assert metadata["below_min_confidence"].value == 1
    assert metadata["skipped_annotations"].records[0].data["id"] == "c"
    # bull_flag, double_top ... and bullish_/bearish_engulfing, doji share no name: agreement is meaningless
    assert "human_programmatic_agreement" not in metadata and "cohens_kappa" not in metadata
    measures = {r.data["measure"]: r.data for r in metadata["labeling_measures"].records}
    assert "share no name" in measures["human vs programmatic agreement"]["meaning"]
    assert metadata["annotations_hash"].value != "none"
    preview = metadata["labels_preview"].records[0].data
    assert str(preview["time"]).endswith("Z") and "T" in str(preview["time"])  # ISO times, not 1.7e+09
    schema = metadata["dagster/column_schema"].schema
    described = {c.name: c.description for c in schema.columns}
    assert described["tag"].startswith("BIO tag") and described["rsi_14"].startswith("TA-Lib RSI")

    labeled = pd.read_parquet(tmp_path / "labeled" / "EURUSD_1h.parquet")
    assert list(labeled.columns[: enriched.shape[1]]) == list(enriched.columns) and len(labeled) == len(enriched)
    assert labeled["tag"].iloc[10:15].tolist() == ["B-bull_flag"] + ["I-bull_flag"] * 4
    assert "label_known" in labeled


def test_window_mode_writes_one_row_per_window(kit, tmp_path: Path) -> None:
    config_path = _config_file(
        tmp_path,
        mode="window",
        cdl={"enabled": False},
        window={"size": 10, "context_padding": 2, "negative_ratio": 2.0},
    )
    enriched = _prepare_upstream(kit, config_path)
    warmup = 200 - len(enriched)
    kit.write_export(tmp_path / "annotations" / "export.json", [kit.ann("bull_flag", warmup + 20, warmup + 24)])
    with DagsterInstance.ephemeral() as instance:
        assert _materialize(instance, config_path, partition_key="EURUSD|1h").success
    labeled = pd.read_parquet(tmp_path / "labeled" / "EURUSD_1h.parquet")
    assert labeled["label"].value_counts().to_dict() == {"O": 2, "bull_flag": 1}
    assert labeled.columns[:4].tolist() == ["label", "source", "start_time", "end_time"]
    assert labeled.shape[1] == 4 + 10 * (enriched.shape[1] - 1)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"version": 1, "annotations": [\n  {"id": "a",}\n]}',
            "export.json: line 2, column 14: not valid JSON: trailing comma in object",
        ),
        ('{"version": 1, "annotations": {"id": "a"}}', "export.json: at $.annotations: Expected `array`, got `object`"),
    ],
    ids=["not-json", "wrong-shape"],
)
def test_bad_annotations_fail_the_run_and_write_nothing(kit, tmp_path: Path, content: str, expected: str) -> None:
    config_path = _config_file(tmp_path)
    _prepare_upstream(kit, config_path)
    export = tmp_path / "annotations" / "export.json"
    export.parent.mkdir()
    export.write_text(content)
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, config_path, partition_key="EURUSD|1h", raise_on_error=False)
    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert f"{tmp_path / 'annotations'}/{expected}" in error
    assert not (tmp_path / "labeled").exists()


def test_strict_mode_fails_on_an_invalid_annotation_and_writes_nothing(kit, tmp_path: Path) -> None:
    config_path = _config_file(tmp_path, strict=True)
    _prepare_upstream(kit, config_path)
    kit.write_export(tmp_path / "annotations" / "export.json", [kit.ann("bull_flag", 60, 58, id="backwards")])
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, config_path, partition_key="EURUSD|1h", raise_on_error=False)
    assert not result.success
    assert "backwards (EURUSD|1h): end_time" in result.get_step_failure_events()[0].step_failure_data.error.to_string()
    assert not (tmp_path / "labeled").exists()


def test_the_annotations_asset_reports_counts_and_hash(kit, tmp_path: Path) -> None:
    config_path = _config_file(tmp_path)
    kit.write_export(
        tmp_path / "annotations" / "export.json",
        [
            kit.ann("bull_flag", 1, 3, id="a"),
            kit.ann("O", 8, 9, id="b"),
            kit.ann("bull_flag", 1, 3, id="c", pair="BTC-USDT"),
            kit.ann("bull_flag", 1, 3, id="d", pair="XRPUSD"),
        ],
    )
    with DagsterInstance.ephemeral() as instance:
        result = _materialize(instance, config_path, assets=[annotations_asset])
        assert result.success
        materialization = result.asset_materializations_for_node("annotations")[0]
    metadata = materialization.metadata
    assert metadata["counts"].value == {"BTC-USDT|1h": 1, "EURUSD|1h": 2, "XRPUSD|1h": 1}
    table = metadata["per_partition"]  # a table, not Markdown: the "|" in the keys cannot break it
    assert isinstance(table, TableMetadataValue)
    names = [column.name for column in table.schema.columns]
    assert names == ["partition", "pair", "timeframe", "annotations", "configured"]
    rows = {record.data["partition"]: record.data for record in table.records}
    assert rows["EURUSD|1h"] == {
        "partition": "EURUSD|1h",
        "pair": "EURUSD",
        "timeframe": "1h",
        "annotations": 2,
        "configured": True,
    }
    assert rows["XRPUSD|1h"]["configured"] is False
    assert metadata["invalid"].value == 1  # XRPUSD is not a configured pair
    assert len(metadata["content_hash"].value) == 64
    assert materialization.tags["dagster/data_version"] == metadata["content_hash"].value


def _tick(instance, config_path: Path, cursor: str | None):
    """One tick of the sensor `assets.definitions` deploys, reading the config at `config_path`.

    Its requests to add pairs (the configured ones the instance lacks) are applied, as the daemon does.
    """
    sensor = defs.get_unresolved_sensor_def("annotations_sensor")
    resources = {"pipeline": PipelineResource(config_path=str(config_path))}
    # entered, as the daemon does: the context then releases what it opened (its resources, its logger)
    with build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), cursor=cursor, resources=resources, definitions=defs
    ) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    return result


def test_the_sensor_requests_only_the_partitions_whose_annotations_changed(kit, tmp_path: Path) -> None:
    config_path = _config_file(tmp_path)
    export = tmp_path / "annotations" / "export.json"
    eurusd = [kit.ann("bull_flag", 10, 14, id="e1"), kit.ann("O", 30, 31, id="e2")]
    btc = [kit.ann("double_top", 5, 9, id="b1", pair="BTC-USDT")]
    kit.write_export(export, eurusd + btc)
    with instance_for_test() as instance:
        first = _tick(instance, config_path, None)  # switched on for the first time: nothing changed
        assert first.run_requests == [] and "no partition's annotations changed" in first.skip_message
        assert sorted(json.loads(first.cursor)) == ["BTC-USDT|1h", "EURUSD|1h"]
        assert defs.get_unresolved_sensor_def("annotations_sensor").job_name == "relabel_and_retrain"

        same = _tick(instance, config_path, first.cursor)
        assert same.run_requests == [] and "no partition's annotations changed" in same.skip_message

        kit.write_export(export, eurusd + btc, exported_at="2027-01-01T00:00:00Z")  # re-export, same content
        assert _tick(instance, config_path, first.cursor).run_requests == []

        kit.write_export(export, [eurusd[0], kit.ann("O", 30, 32, id="e2")] + btc)  # one EURUSD span edited
        edited = _tick(instance, config_path, first.cursor)
        assert [r.partition_key for r in edited.run_requests] == ["EURUSD|1h"]
        assert edited.run_requests[0].tags["retrain_reason"] == "annotations changed"

        kit.write_export(export, [eurusd[0], kit.ann("O", 30, 32, id="e2")])  # every BTC-USDT annotation deleted
        deleted = _tick(instance, config_path, edited.cursor)
        assert [r.partition_key for r in deleted.run_requests] == ["BTC-USDT|1h"]

        export.write_text("{broken")
        broken = _tick(instance, config_path, deleted.cursor)
        assert broken.run_requests == [] and "annotations not readable" in broken.skip_message
        assert "export.json: line 1" in broken.skip_message
        assert broken.cursor == deleted.cursor  # nothing is lost: the next good export is compared to it


def test_changed_partitions_is_reusable_without_dagster(kit, tmp_path: Path) -> None:
    kit.write_export(tmp_path / "e.json", [kit.ann("bull_flag", 1, 2, id="x")])
    keys, cursor = changed_partitions(None, tmp_path, ["EURUSD|1h", "BTC-USDT|1h"])
    assert keys == ["EURUSD|1h"] and list(json.loads(cursor)) == ["EURUSD|1h"]
    assert changed_partitions(cursor, tmp_path, ["EURUSD|1h"])[0] == []
    assert changed_partitions("not json", tmp_path)[0] == ["EURUSD|1h"]


def test_the_first_tick_requests_what_changed_since_the_last_labelling(kit, tmp_path: Path) -> None:
    """The initial cursor is what each partition's latest labeled_windows was built from (its annotations_hash)."""
    config_path = _config_file(tmp_path)
    _prepare_upstream(kit, config_path)
    export = tmp_path / "annotations" / "export.json"
    kit.write_export(
        export, [kit.ann("bull_flag", 10, 14, id="e1"), kit.ann("double_top", 5, 9, id="b1", pair="BTC-USDT")]
    )
    with instance_for_test() as instance:
        assert _materialize(instance, config_path, partition_key="EURUSD|1h").success
        assert _tick(instance, config_path, None).run_requests == []  # labelled from exactly these annotations

        kit.write_export(
            export, [kit.ann("bull_flag", 10, 15, id="e1"), kit.ann("double_top", 5, 9, id="b1", pair="BTC-USDT")]
        )
        changed = _tick(instance, config_path, None)  # edited while the sensor was off
        assert [r.partition_key for r in changed.run_requests] == ["EURUSD|1h"]
