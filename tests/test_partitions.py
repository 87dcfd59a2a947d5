"""Pairs and timeframes are validated before they can reach a file path; the Dagster partitions over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_platform.partitions import TIMEFRAMES, Partition, PartitionError


@pytest.mark.parametrize("key", ["EURUSD|1h", "BTC-USDT|4h", "US30|1d", "A1-B2-C3|1w"])
def test_valid_keys(key: str) -> None:
    partition = Partition.from_key(key)
    assert partition.key == key
    assert partition.stem == key.replace("|", "_")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("../etc|1h", "pair '../etc' is not valid"),
        ("eurusd|1h", "pair 'eurusd' is not valid"),
        ("EUR/USD|1h", "pair 'EUR/USD' is not valid"),
        ("EURUSD-|1h", "pair 'EURUSD-' is not valid"),
        ("EURUSD|2h", "timeframe '2h' is not valid"),
        ("EURUSD|1h/../../x", "timeframe '1h/../../x' is not valid"),
        ("EURUSD", "not of the form 'PAIR|TIMEFRAME'"),
    ],
)
def test_invalid_keys_are_rejected(key: str, message: str) -> None:
    with pytest.raises(PartitionError, match=message.replace("(", r"\(").replace("|", r"\|")):
        Partition.from_key(key)


def test_the_dagster_partitions_read_no_config_and_keep_their_keys() -> None:
    """A dynamic ``pair`` dimension, every supported timeframe; keys read ``PAIR|TF``."""
    from dagster import DagsterInstance, DynamicPartitionsDefinition, MultiPartitionKey

    from assets.partitions import PAIR_TIMEFRAME_PARTITIONS, add_partition_keys, build_partitions

    assert build_partitions() is PAIR_TIMEFRAME_PARTITIONS
    dimensions = {d.name: d.partitions_def for d in PAIR_TIMEFRAME_PARTITIONS.partitions_defs}
    assert isinstance(dimensions["pair"], DynamicPartitionsDefinition) and dimensions["pair"].name == "pair"
    assert dimensions["timeframe"].get_partition_keys() == list(TIMEFRAMES)
    with DagsterInstance.ephemeral() as instance:
        assert PAIR_TIMEFRAME_PARTITIONS.get_partition_keys(dynamic_partitions_store=instance) == []
        assert add_partition_keys(instance, ["BTC-USDT|4h", "BTC-USDT|1h"]) == ["BTC-USDT"]
        keys = PAIR_TIMEFRAME_PARTITIONS.get_partition_keys(dynamic_partitions_store=instance)
        assert keys[:2] == ["BTC-USDT|1m", "BTC-USDT|5m"] and "BTC-USDT|4h" in keys and len(keys) == len(TIMEFRAMES)
    key = PAIR_TIMEFRAME_PARTITIONS.get_partition_key_from_str("EURUSD|1h")
    assert isinstance(key, MultiPartitionKey) and key.keys_by_dimension == {"pair": "EURUSD", "timeframe": "1h"}
    tags = PAIR_TIMEFRAME_PARTITIONS.get_tags_for_partition_key("GBPUSD|4h")
    assert tags["dagster/partition/pair"] == "GBPUSD" and tags["dagster/partition/timeframe"] == "4h"


def test_pairs_are_added_once_validated_and_seeded_from_dagster_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from assets.partitions import add_pairs, instance_pairs, known_pairs, seed_dagster_home
    from ml_platform.config import load_config
    from tests.conftest import write_config

    config = load_config(write_config(tmp_path, {"partitions": {"pairs": ["EURUSD", "BTC-USDT"]}}))
    with DagsterInstance.ephemeral() as instance:
        assert add_pairs(instance, ["XRPUSD", "EURUSD", "XRPUSD"]) == ["XRPUSD", "EURUSD"]
        assert add_pairs(instance, ["EURUSD"]) == []  # already there: nothing to do
        assert known_pairs(instance, config) == ["EURUSD", "BTC-USDT", "XRPUSD"]  # configured first
        with pytest.raises(PartitionError, match="pair 'xrp/usd' is not valid"):
            add_pairs(instance, ["xrp/usd"])
        assert instance_pairs(instance) == ["XRPUSD", "EURUSD"]

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert seed_dagster_home(config) == []  # no instance to seed
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert seed_dagster_home(config) == ["EURUSD", "BTC-USDT"]
    assert seed_dagster_home(config) == []
    with DagsterInstance.get() as instance:
        assert instance_pairs(instance) == ["EURUSD", "BTC-USDT"]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "missing"))
    assert seed_dagster_home(config) == []  # logged, never raised: the code still loads


def test_a_config_with_the_added_pairs_knows_them() -> None:
    from ml_platform.config import PipelineConfig
    from resources.pipeline import with_pairs

    config = PipelineConfig()
    extended = with_pairs(config, ["XRPUSD", "EURUSD", "XRPUSD"])
    assert extended.partitions.pairs == [*config.partitions.pairs, "XRPUSD"]
    assert extended.partitions.timeframes == config.partitions.timeframes
    assert with_pairs(config, config.partitions.pairs) is config
    with pytest.raises(PartitionError):
        with_pairs(config, ["../x"])
