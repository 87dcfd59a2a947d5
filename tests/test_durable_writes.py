"""Atomic writes are durable: fsync the file, rename, fsync the folder (docs/RELIABILITY.md, finding 5)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from ml_platform import storage


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every fsync (with what the descriptor is: file or dir) and rename, in order."""
    recorded: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor: int) -> None:
        kind = "dir" if os.path.isdir(f"/proc/self/fd/{descriptor}") else "file"
        recorded.append(("fsync", kind))
        real_fsync(descriptor)

    def replace(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
        recorded.append(("replace", Path(destination).name))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return recorded


def test_write_parquet_atomic_fsyncs_file_then_folder(tmp_path: Path, calls: list[tuple[str, str]]) -> None:
    destination = tmp_path / "sub" / "frame.parquet"
    storage.write_parquet_atomic(pd.DataFrame({"a": [1, 2]}), destination)
    assert calls == [("fsync", "file"), ("replace", "frame.parquet"), ("fsync", "dir")]
    assert pd.read_parquet(destination)["a"].tolist() == [1, 2]


def test_a_failed_write_leaves_nothing_and_syncs_nothing(tmp_path: Path, calls: list[tuple[str, str]]) -> None:
    def fail(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        storage.write_atomic(tmp_path / "x.txt", fail)
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_every_rename_into_place_goes_through_replace_durably() -> None:
    root = Path(__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for folder in ("ml_platform", "serving", "scripts")
        for path in (root / folder).rglob("*.py")
        if "os.replace(" in path.read_text(encoding="utf-8") and path.name != "storage.py"
    ]
    assert offenders == [], f"use ml_platform.storage.replace_durably (fsync file, rename, fsync folder): {offenders}"
