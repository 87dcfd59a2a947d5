"""The web's partition files ({PAIR}_{TF}.json) are authoritative for their partition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_platform.labeling import AnnotationFormatError, changed_partitions, load_annotations
from ml_platform.labeling.annotations import load_partition_annotations, partition_file_key, partition_file_name


def _annotation(identifier: str, pair: str = "EURUSD", timeframe: str = "1h", start: int = 1_700_000_000) -> dict:
    return {
        "id": identifier,
        "pair": pair,
        "timeframe": timeframe,
        "label": "bull_flag",
        "start_time": start,
        "end_time": start + 7200,
        "confidence": 1.0,
        "source": "human",
    }


def _write(path: Path, annotations: list[dict], exported_at: str = "2026-01-01T00:00:00Z") -> None:
    path.write_text(json.dumps({"version": 1, "exported_at": exported_at, "annotations": annotations}))


def test_partition_file_names_round_trip() -> None:
    assert partition_file_name("BTC-USDT|4h") == "BTC-USDT_4h.json"
    assert partition_file_key(Path("x/BTC-USDT_4h.json")) == "BTC-USDT|4h"
    assert partition_file_key("sample_annotations.json") is None
    assert partition_file_key("EURUSD_2h.json") is None  # not a timeframe
    assert partition_file_key("eurusd_1h.json") is None  # not a pair


def test_a_deletion_in_the_partition_file_propagates(tmp_path: Path) -> None:
    # An older manual export (Export button) and the sample annotations still hold span "a".
    _write(tmp_path / "annotations_all.json", [_annotation("a"), _annotation("g", pair="GBPUSD")])
    _write(tmp_path / "EURUSD_1h.json", [_annotation("a"), _annotation("b", start=1_700_100_000)])
    assert [a.id for a in load_annotations(tmp_path).for_partition("EURUSD|1h")] == ["a", "b"]

    _write(tmp_path / "EURUSD_1h.json", [_annotation("b", start=1_700_100_000)], exported_at="2025-01-01T00:00:00Z")
    loaded = load_annotations(tmp_path)
    assert [a.id for a in loaded.for_partition("EURUSD|1h")] == ["b"]  # "a" is gone despite the older export
    assert [a.id for a in loaded.for_partition("GBPUSD|1h")] == ["g"]  # no partition file: other files count

    _write(tmp_path / "EURUSD_1h.json", [])
    assert load_annotations(tmp_path).for_partition("EURUSD|1h") == []


def test_a_partition_file_ignores_other_partitions_entries(tmp_path: Path) -> None:
    _write(tmp_path / "EURUSD_1h.json", [_annotation("a"), _annotation("x", pair="GBPUSD")])
    assert load_annotations(tmp_path).counts() == {"EURUSD|1h": 1}


def test_changed_partitions_sees_only_the_rewritten_partition(tmp_path: Path) -> None:
    _write(tmp_path / "EURUSD_1h.json", [_annotation("a")])
    _write(tmp_path / "GBPUSD_1h.json", [_annotation("g", pair="GBPUSD")])
    keys, cursor = changed_partitions(None, tmp_path)
    assert keys == ["EURUSD|1h", "GBPUSD|1h"]
    _write(tmp_path / "EURUSD_1h.json", [], exported_at="2026-02-01T00:00:00Z")
    keys, cursor = changed_partitions(cursor, tmp_path)
    assert keys == ["EURUSD|1h"]
    _write(tmp_path / "GBPUSD_1h.json", [_annotation("g", pair="GBPUSD")], exported_at="2027-01-01T00:00:00Z")
    assert changed_partitions(cursor, tmp_path)[0] == []  # same content, new exported_at: nothing


def test_a_malformed_partition_file_names_the_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "EURUSD_1h.json").write_text('{"version": 1,\n "annotations": [}')
    with pytest.raises(AnnotationFormatError, match=r"EURUSD_1h\.json: line 2, column"):
        load_annotations(tmp_path)


def test_one_partition_reads_only_its_own_file_when_there_is_one(tmp_path: Path) -> None:
    _write(tmp_path / "EURUSD_1h.json", [_annotation("a")])
    (tmp_path / "GBPUSD_1h.json").write_text("{not json")
    loaded = load_partition_annotations(tmp_path, "EURUSD|1h")
    assert [a.id for a in loaded.annotations] == ["a"] and loaded.files == (tmp_path / "EURUSD_1h.json",)
    with pytest.raises(AnnotationFormatError, match="GBPUSD_1h.json"):
        load_partition_annotations(tmp_path, "GBPUSD|1h")
    _write(tmp_path / "sample_annotations.json", [_annotation("s", pair="BTC-USDT")])
    with pytest.raises(AnnotationFormatError):  # no file of its own: the whole folder is read
        load_partition_annotations(tmp_path, "BTC-USDT|1h")
