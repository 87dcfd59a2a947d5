"""Versioned model bundles per partition, and the champion pointer that says which one is served.

Layout of one partition folder, ``{data.models_path}/{PAIR}_{TF}/``::

    versions/{model_version}/bundle.json      one complete bundle per trained model (`ml_platform.bundle`)
    versions/{model_version}/model-….ubj|.skops
    champion.json                             the pointer: which version is served (`ChampionPointer`)

- `write_version` writes a bundle into ``versions/.tmp-{model_version}/`` (`save_bundle`,
  every file fsynced), then renames the folder to ``versions/{model_version}`` and fsyncs
  ``versions/``: a version folder either is complete or does not exist under its final name.
  It first sweeps stale temp entries (``.tmp-*`` and the ``.*.tmp`` files of an interrupted
  atomic write) left by a killed run in the partition folder and in ``versions/``.
- `promote` replaces ``champion.json`` atomically (`replace_durably`) and only names a
  complete version folder; the previous champions are listed newest first (at most
  `PREVIOUS_KEPT`), so `rollback` can move the pointer back.
- `prune` keeps the newest `keep` version folders (by name: model versions start with their
  UTC timestamp) plus the champion and every previous champion the pointer lists.
- Backward compatible: a flat bundle (``{PAIR}_{TF}/bundle.json``, the layout before
  versions) with no ``champion.json`` is the champion (`champion_dir`) until a version is
  promoted; it stays on disk and can be rolled back to.

Nothing here imports dagster or litestar.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ml_platform.bundle import BUNDLE_FILE, BundleError, BundleMeta, bundle_version, load_meta, save_bundle
from ml_platform.storage import SHARED_FILE_MODE, fsync_directory, fsync_file, replace_durably

VERSIONS_DIR = "versions"
CHAMPION_FILE = "champion.json"
TEMP_PREFIX = ".tmp-"
PREVIOUS_KEPT = 5
"""How many previous champions the pointer remembers (what `rollback` can walk back through)."""


class ChampionPointer(msgspec.Struct, kw_only=True):
    """What ``champion.json`` holds.

    model_version : str
        The served version: ``versions/{model_version}/`` (or the legacy flat bundle with that version).
    previous : list of str
        Earlier champions, newest first (at most `PREVIOUS_KEPT`).
    promoted_at : str
        ISO-8601 UTC of the move.
    reason : str
        Why the pointer moved (``promoted: validation f1_macro …``, ``rollback from …``).
    registered_version : str or None
        The MLflow registered version of the champion, when known.
    """

    format_version: int = 1
    model_version: str
    previous: list[str] = msgspec.field(default_factory=list)
    promoted_at: str
    reason: str
    registered_version: str | None = None


def versions_dir(partition_dir: Path) -> Path:
    """``{partition_dir}/versions``."""
    return Path(partition_dir) / VERSIONS_DIR


def version_dir(partition_dir: Path, model_version: str) -> Path:
    """``{partition_dir}/versions/{model_version}``."""
    return versions_dir(partition_dir) / model_version


def sweep_stale(partition_dir: Path) -> list[Path]:
    """Remove what an interrupted write left: ``.tmp-*`` entries and ``.*.tmp`` files; return them.

    Looks in the partition folder and in ``versions/`` (not deeper). Call it only while no
    other process writes this partition (training runs one per partition at a time).
    """
    removed: list[Path] = []
    for folder in (Path(partition_dir), versions_dir(partition_dir)):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            name = entry.name
            if not (name.startswith(TEMP_PREFIX) or (name.startswith(".") and name.endswith(".tmp"))):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def write_version(
    partition_dir: Path,
    meta: BundleMeta,
    model: Any,
    *,
    before_publish: Callable[[], None] | None = None,
) -> Path:
    """Write a complete bundle folder ``versions/{meta.model_version}/`` and return it.

    Sweeps stale temp entries first. `before_publish` (a test hook) runs after the files are
    in the temp folder and before its rename. Raises BundleError when the version exists.
    """
    partition_dir = Path(partition_dir)
    sweep_stale(partition_dir)
    root = versions_dir(partition_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / meta.model_version
    if final.exists():
        raise BundleError(f"{final}: bundle version {meta.model_version} already exists")
    temp = root / f"{TEMP_PREFIX}{meta.model_version}"
    try:
        save_bundle(temp, meta, model)
        for path in sorted(temp.rglob("*"), reverse=True):  # files and nested folders (a span model's), deepest first
            fsync_file(path)
        fsync_directory(temp)
        if before_publish is not None:
            before_publish()
        replace_durably(temp, final)  # the folder as a whole: fsync it, rename it, fsync versions/
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return final


def update_meta(directory: Path, **changes: Any) -> BundleMeta:
    """Rewrite ``bundle.json`` of a bundle folder atomically with `changes` (e.g. ``registered_version``)."""
    meta = msgspec.structs.replace(load_meta(directory), **changes)
    _write_json(Path(directory) / BUNDLE_FILE, msgspec.json.format(msgspec.json.encode(meta), indent=2) + b"\n")
    return meta


def read_champion(partition_dir: Path) -> ChampionPointer | None:
    """The partition's ``champion.json``, or None when there is none.

    Raises BundleError naming the file when it exists but cannot be decoded.
    """
    path = Path(partition_dir) / CHAMPION_FILE
    try:
        return msgspec.json.decode(path.read_bytes(), type=ChampionPointer)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BundleError(f"{path}: not a valid {CHAMPION_FILE}: {exc}") from None


def resolve_version(partition_dir: Path, model_version: str) -> Path | None:
    """The folder of `model_version`: ``versions/{v}``, or the legacy flat bundle when it holds `v`; else None."""
    candidate = version_dir(partition_dir, model_version)
    if (candidate / BUNDLE_FILE).is_file():
        return candidate
    if bundle_version(partition_dir) == model_version:
        return Path(partition_dir)
    return None


def champion_dir(partition_dir: Path) -> Path | None:
    """The bundle folder to serve: the pointer's version, else a legacy flat bundle, else None."""
    pointer = read_champion(partition_dir)
    if pointer is None:
        return Path(partition_dir) if (Path(partition_dir) / BUNDLE_FILE).is_file() else None
    return resolve_version(partition_dir, pointer.model_version)


def champion_version(partition_dir: Path) -> str | None:
    """The champion's model version, cheaply (no model file is read): for polling."""
    try:
        pointer = read_champion(partition_dir)
    except BundleError:
        return None
    if pointer is not None:
        return pointer.model_version
    return bundle_version(partition_dir)


def champion_score(partition_dir: Path, metric: str = "f1_macro") -> float | None:
    """The current champion's validation `metric` (from its ``bundle.json``).

    None when there is no champion, or when it has no such metric (a model of another labeling
    mode: a span model's ``span_f1`` is not comparable with a per-candle ``f1_macro``).
    """
    try:
        directory = champion_dir(partition_dir)
        if directory is None:
            return None
        value = load_meta(directory).metrics.get("validation", {}).get(metric)
    except BundleError:
        return None
    return float(value) if value is not None else None


def not_worse(partition_dir: Path, score: float, metric: str = "f1_macro") -> bool:
    """The promotion rule without a registry: `score` >= the champion's validation `metric` (a tie promotes).

    A champion without that metric (another labeling mode) never blocks the new model.
    """
    held = champion_score(partition_dir, metric)
    return held is None or float(score) >= held


def promote(
    partition_dir: Path, model_version: str, *, reason: str, registered_version: str | None = None
) -> ChampionPointer:
    """Point ``champion.json`` at the complete version folder `model_version`; return the new pointer.

    The former champion (the pointer's, or a legacy flat bundle's version) heads ``previous``.
    Raises BundleError when `model_version` has no complete bundle folder.
    """
    partition_dir = Path(partition_dir)
    if resolve_version(partition_dir, model_version) is None:
        raise BundleError(f"{version_dir(partition_dir, model_version)}: no complete bundle to promote")
    current = read_champion(partition_dir)
    if current is not None:
        chain = [current.model_version, *current.previous]
    else:
        legacy = bundle_version(partition_dir)
        chain = [legacy] if legacy else []
    previous = [v for v in dict.fromkeys(chain) if v != model_version][:PREVIOUS_KEPT]
    pointer = ChampionPointer(
        model_version=model_version,
        previous=previous,
        promoted_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        reason=reason,
        registered_version=registered_version,
    )
    _write_json(partition_dir / CHAMPION_FILE, msgspec.json.format(msgspec.json.encode(pointer), indent=2) + b"\n")
    return pointer


def rollback(partition_dir: Path, *, reason: str = "") -> ChampionPointer:
    """Move the pointer back to the newest previous champion whose bundle folder still exists.

    The version rolled back from is dropped from the chain (a second rollback goes further back).
    Raises BundleError when there is no pointer or no previous champion on disk.
    """
    partition_dir = Path(partition_dir)
    current = read_champion(partition_dir)
    if current is None:
        raise BundleError(f"{partition_dir / CHAMPION_FILE}: no champion pointer, nothing to roll back")
    for index, version in enumerate(current.previous):
        if resolve_version(partition_dir, version) is None:
            continue
        registered = _registered_version(resolve_version(partition_dir, version) or partition_dir)
        pointer = ChampionPointer(
            model_version=version,
            previous=current.previous[index + 1 :],
            promoted_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            reason=reason or f"rollback from {current.model_version}",
            registered_version=registered,
        )
        _write_json(partition_dir / CHAMPION_FILE, msgspec.json.format(msgspec.json.encode(pointer), indent=2) + b"\n")
        return pointer
    raise BundleError(
        f"{partition_dir / CHAMPION_FILE}: champion {current.model_version} has no previous champion on disk "
        "to roll back to"
    )


def prune(partition_dir: Path, keep: int) -> list[str]:
    """Delete version folders beyond the newest `keep`, never the champion or a listed previous champion.

    Returns the removed versions.
    """
    root = versions_dir(partition_dir)
    if not root.is_dir():
        return []
    pointer = read_champion(partition_dir)
    protected = set() if pointer is None else {pointer.model_version, *pointer.previous}
    versions = sorted(
        (entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
        reverse=True,
    )
    removed = [version for version in versions[keep:] if version not in protected]
    for version in removed:
        shutil.rmtree(root / version, ignore_errors=True)
    if removed:
        fsync_directory(root)
    return removed


def _registered_version(folder: Path) -> str | None:
    """``registered_version`` of the ``bundle.json`` in `folder` itself (no champion pointer followed)."""
    try:
        return msgspec.json.decode((folder / BUNDLE_FILE).read_bytes(), type=BundleMeta).registered_version
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _write_json(path: Path, data: bytes) -> None:
    handle, temp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, SHARED_FILE_MODE)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        replace_durably(temp_name, path)
    finally:
        Path(temp_name).unlink(missing_ok=True)
