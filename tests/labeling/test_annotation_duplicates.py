"""Duplicate annotation ids across exports: counted once, with a warning naming them (docs/RELIABILITY.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ml_platform.labeling import load_annotations


def test_duplicate_ids_across_files_are_counted_once_and_reported(
    kit, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kit.write_export(tmp_path / "old.json", [kit.ann("bull_flag", 1, 3, id="x")], exported_at="2026-11-01T00:00:00Z")
    kit.write_export(
        tmp_path / "new.json",
        [kit.ann("bull_flag", 1, 4, id="x"), kit.ann("double_top", 6, 9, id="y")],
        exported_at="2026-11-20T00:00:00Z",
    )
    with caplog.at_level(logging.WARNING, logger="ml_platform.labeling.annotations"):
        loaded = load_annotations(tmp_path)
    assert len(loaded) == 2 and loaded.counts() == {"EURUSD|1h": 2}
    assert loaded.duplicate_ids == ("x",)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1 annotation ids occur more than once ('x' in old.json, new.json)" in w for w in warnings)


def test_no_duplicates_no_warning(kit, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kit.write_export(tmp_path / "a.json", [kit.ann("bull_flag", 1, 3, id="x")])
    with caplog.at_level(logging.WARNING, logger="ml_platform.labeling.annotations"):
        assert load_annotations(tmp_path).duplicate_ids == ()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
