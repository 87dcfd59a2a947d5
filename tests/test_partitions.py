"""Pairs and timeframes are validated before they can reach a file path."""

from __future__ import annotations

import pytest

from ml_platform.partitions import Partition, PartitionError


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
