"""Atomic writes: readers see the old file or the new one, never half of one, and can read it."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from ml_platform.storage import SHARED_FILE_MODE, write_atomic, write_parquet_atomic


def test_a_failed_write_leaves_the_previous_version_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "bundle.json"
    write_atomic(target, lambda path: path.write_text('{"version": 1}'))

    def crash(path: Path) -> None:
        path.write_text('{"version": 2, "trunc')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, crash)
    assert target.read_text() == '{"version": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.json"]


def test_written_files_are_readable_by_other_users(tmp_path: Path) -> None:
    # the inference service and the web app may run as other users than the pipeline
    json_file = write_atomic(tmp_path / "models" / "bundle.json", lambda path: path.write_text('{"a": 1}'))
    parquet_file = write_parquet_atomic(pd.DataFrame({"x": [1.0]}), tmp_path / "enriched" / "EURUSD_1h.parquet")
    for path in (json_file, parquet_file):
        assert stat.S_IMODE(path.stat().st_mode) == SHARED_FILE_MODE == 0o644, path
