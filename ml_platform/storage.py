"""Atomic file writes: a crash never leaves a half-written asset behind.

Every stage writes its output to a temporary name in the destination folder and renames
it into place (`os.replace` is atomic on one file system), so readers see either the
previous complete version or the new complete version, never a mix.

Durable too: `replace_durably` fsyncs the file before the rename and the folder after it,
so after a power loss the destination is the old or the new complete file, never an empty
or truncated one (a rename can reach the disk before the data it names).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

SHARED_FILE_MODE = 0o644
"""Mode of every written file: what a plain open() gives under the usual umask 022."""


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush `path`'s data to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (a rename into it) to the disk; a no-op where folders cannot be opened (Windows)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself is still atomic
    finally:
        os.close(descriptor)


def replace_durably(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """fsync `source`, `os.replace` it over `destination`, fsync the destination's folder."""
    fsync_file(source)
    os.replace(source, destination)
    fsync_directory(Path(destination).parent)


@contextmanager
def atomic_path(destination: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `destination`; on success rename it over `destination`.

    On an exception the temporary file is removed and `destination` is left untouched. The
    file is fsynced before the rename and the folder after it (`replace_durably`).
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
        replace_durably(temp_path, destination)
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
