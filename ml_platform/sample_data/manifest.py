"""The sample-data generator never replaces a raw file it did not write.

The generator records each raw file it writes, with its SHA-256, in the ground truth file it
writes anyway (``data.ground_truth_path``: ``generator.raw_files = {file name: sha256}``; no extra
file in the data tree). Before writing, `check_overwrite` refuses any existing target that is not in the manifest or
whose content changed since (the user's own candles, or sample candles the user edited); the
error names the files and the flag that allows it (``--force``; ``make demo FORCE=1`` /
``make sample-data FORCE=1``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

RAW_FILES_KEY = "raw_files"


class SampleDataOverwriteError(RuntimeError):
    """A raw file the generator would replace was not written by it (or was changed since)."""


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(ground_truth: Path) -> dict[str, str]:
    """``{raw file name: sha256}`` the generator recorded in `ground_truth` (empty when none or unreadable)."""
    try:
        value = json.loads(ground_truth.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    generator = value.get("generator") if isinstance(value, dict) else None
    files = generator.get(RAW_FILES_KEY) if isinstance(generator, dict) else None
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def check_overwrite(targets: Mapping[Path, bytes], ground_truth: Path, *, force: bool = False) -> None:
    """Raise `SampleDataOverwriteError` if an existing target was not written by the generator.

    A target is the generator's when the manifest records it with its current hash, or when it
    already holds exactly the bytes about to be written (sample data from before the manifest).

    Parameters
    ----------
    targets : mapping of Path to bytes
        The raw files about to be written (inside `raw_dir`) and their new content.
    ground_truth : Path
        ``data.ground_truth_path``, where the generator records what it wrote.
    force : bool, default False
        Allow the overwrite (``--force``).
    """
    if force:
        return
    manifest = read_manifest(ground_truth)
    foreign = [
        path
        for path, data in targets.items()
        if path.exists()
        and manifest.get(path.name) != file_sha256(path)
        and hashlib.sha256(data).hexdigest() != file_sha256(path)
    ]
    if foreign:
        names = ", ".join(str(path) for path in foreign)
        raise SampleDataOverwriteError(
            f"refusing to overwrite {names}: not written by the sample-data generator (or changed since; "
            f"its record is {ground_truth}). Rerun with --force (make demo FORCE=1, make sample-data "
            "FORCE=1) to replace them, or give the sample data a data root of its own (a config whose data.raw_path "
            "points elsewhere, via --config or ML_PLATFORM_CONFIG)."
        )


def recorded_files(written: Mapping[Path, bytes], ground_truth: Path) -> dict[str, str]:
    """The ``raw_files`` record after writing `written`: the previous record plus the new hashes, sorted."""
    manifest = read_manifest(ground_truth)
    manifest.update({path.name: hashlib.sha256(data).hexdigest() for path, data in written.items()})
    return dict(sorted(manifest.items()))
