"""Atomic file writes: a crash never leaves a half-written asset behind.

Every stage writes its output to a temporary name in the destination folder and renames
it into place (`os.replace` is atomic on one file system), so readers see either the
previous complete version or the new complete version, never a mix.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

SHARED_FILE_MODE = 0o644
"""Mode of every written file: what a plain open() gives under the usual umask 022."""


@contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; on success rename it over `destination`.

    On an exception the temporary file is removed and `destination` is left untouched.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(handle)
    temp_path = Path(temp_name)
    # mkstemp creates the file owner-only (0600); an asset or bundle must stay readable by the
    # inference service and the web app when they run as other users (shared volumes).
    os.chmod(temp_path, SHARED_FILE_MODE)
    try:
        yield temp_path
        os.replace(temp_path, destination)
    finally:
        temp_path.unlink(missing_ok=True)


def write_atomic(destination: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call `write(temp_path)` and rename the result to `destination`; return `destination`."""
    with atomic_path(destination) as temp_path:
        write(temp_path)
    return Path(destination)


def write_parquet_atomic(frame: pd.DataFrame, destination: str | os.PathLike[str]) -> Path:
    """Write `frame` (without its index) as Parquet, atomically."""
    return write_atomic(destination, lambda path: frame.to_parquet(path, index=False))


def write_json_atomic(payload: Any, destination: str | os.PathLike[str]) -> Path:
    """Write `payload` as indented UTF-8 JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=False) + "\n"
    return write_atomic(destination, lambda path: path.write_text(text, encoding="utf-8"))
