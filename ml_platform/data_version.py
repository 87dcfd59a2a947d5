"""The dataset version DVC records for a partition's training inputs, read without importing `dvc`.

A partition's inputs are its raw file ``{data.raw_path}/{PAIR}_{TF}.csv`` (or ``.parquet``)
and the annotation exports ``data.annotations_path`` (one file or a folder). When both are
tracked by DVC (``dvc add``, which ``make data-push`` runs) and the workspace holds exactly
what the ``.dvc`` files record, the dataset version is DVC's hash of them::

    dvc:{raw file md5, 16 hex}-{annotations md5, 16 hex}      e.g. dvc:a08e5cdb5b29dfa4-b91f68cd7fa9bc24

37 characters (``training_runs.dataset_version`` is String(64)); the full hashes go to the
MLflow params ``dvc_raw_md5`` and ``dvc_annotations_md5``. Otherwise `resolve_dataset_version`
falls back to the labeled file's content hash and logs why (not tracked, changed since
``dvc add``, ...). The DVC version covers the inputs only; the pipeline config that turns
them into labeled rows is ``pipeline_config_hash``, and the labeled file's own hash is the
``dataset.content_hash`` param either way.

How DVC 3 hashes, which this module reproduces (dvc-data's ``hashfile``; a test checks it
against the real ``dvc``):

- a file: the md5 of its bytes; the ``.dvc`` file says ``hash: md5``. DVC 2's
  ``md5-dos2unix`` entries (no ``hash`` line) are not read here: re-add them with DVC 3.
- a folder: ``{md5}.dir``, the md5 of its manifest, ``json.dumps`` (``sort_keys=True``) of
  ``[{"md5": ..., "relpath": ...}]`` sorted by ``relpath``, every file below the folder
  except ``.git``, ``.hg`` and ``.dvc``; the cache keeps it as
  ``.dvc/cache/files/md5/{first 2 hex}/{rest}.dir``.

The raw file is checked against its entry in the manifest from the cache, so a change to
another partition's raw file does not affect this partition's version. Without the manifest
in the cache (a fresh clone with the committed ``.dvc`` files and regenerated data), the
manifest is rebuilt from the workspace and used only if its md5 is the recorded one: the
whole folder must then match. Patterns in ``.dvcignore`` are not evaluated: when there are
any, the version falls back to the content hash.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ml_platform.config import PipelineConfig
from ml_platform.partitions import Partition

logger = logging.getLogger(__name__)

VERSION_PREFIX = "dvc:"
_SHORT_HEX = 16
_DIR_SUFFIX = ".dir"
_DEFAULT_IGNORED = frozenset({".git", ".hg", ".dvc"})  # DVC's built-in ignores (dvc/ignore.py)
_FIX = "make data-push records the current data"


class NotVersioned(Exception):
    """The inputs are not, or not exactly, what DVC tracks; the message says which and why."""


@dataclass(frozen=True)
class TrackedInput:
    """One input as DVC records it.

    path : Path
        The input, a file or a folder.
    dvc_file : Path
        The ``.dvc`` file tracking the input or a folder that contains it.
    md5 : str
        DVC's hash of the input: a file's md5, or ``{md5}.dir`` for a folder.
    """

    path: Path
    dvc_file: Path
    md5: str


@dataclass(frozen=True)
class DvcVersion:
    """What DVC records for a partition's raw file and annotation exports."""

    root: Path
    raw: TrackedInput
    annotations: TrackedInput

    @property
    def version(self) -> str:
        """``dvc:{raw md5[:16]}-{annotations md5[:16]}`` (the ``.dir`` suffix left out)."""
        return f"{VERSION_PREFIX}{_short(self.raw.md5)}-{_short(self.annotations.md5)}"

    def params(self) -> dict[str, str]:
        """The full hashes and the tracking ``.dvc`` files (relative to the DVC root), for MLflow."""
        return {
            "dvc_raw_md5": self.raw.md5,
            "dvc_annotations_md5": self.annotations.md5,
            "dvc_raw_tracked_by": _display(self.raw.dvc_file, self.root),
            "dvc_annotations_tracked_by": _display(self.annotations.dvc_file, self.root),
        }


@dataclass(frozen=True)
class DatasetVersion:
    """The version a training run records, where it came from, and the MLflow params saying so."""

    value: str
    source: Literal["dvc", "content_hash"]
    params: dict[str, str]


def resolve_dataset_version(config: PipelineConfig, partition: Partition, *, content_hash: str) -> DatasetVersion:
    """DVC's version of the partition's inputs when they are tracked and unchanged, else `content_hash`.

    Parameters
    ----------
    config : PipelineConfig
        ``data.raw_path`` and ``data.annotations_path``.
    partition : Partition
    content_hash : str
        The labeled file's hash (`ml_platform.training.dataset.dataset_version`): the fallback,
        and logged as the ``dataset.content_hash`` param either way.
    """
    try:
        dvc = partition_dvc_version(config, partition)
    except NotVersioned as exc:
        logger.info(
            "%s: dataset version %s is the labeled file's content hash, not DVC's: %s", partition.key, content_hash, exc
        )
        return DatasetVersion(
            content_hash,
            "content_hash",
            {
                "dataset.version_source": "content_hash",
                "dataset.content_hash": content_hash,
                "dataset.dvc_skipped": str(exc)[:500],
            },
        )
    logger.info(
        "%s: dataset version %s from DVC (%s, %s)",
        partition.key,
        dvc.version,
        *(_display(i.dvc_file, dvc.root) for i in (dvc.raw, dvc.annotations)),
    )
    return DatasetVersion(
        dvc.version,
        "dvc",
        {
            "dataset.version_source": "dvc",
            "dataset.content_hash": content_hash,
            **dvc.params(),
        },
    )


def partition_dvc_version(config: PipelineConfig, partition: Partition) -> DvcVersion:
    """`dvc_version` of the partition's raw file and the configured annotation exports.

    Raises
    ------
    NotVersioned
        See `dvc_version`; also when the partition has no raw file.
    """
    from ml_platform.candles import CandleDataError, find_raw_file  # here: it imports pandas, the CLI needs none

    try:
        raw_file = find_raw_file(config.data.raw_dir, partition.stem)
    except CandleDataError as exc:
        raise NotVersioned(str(exc)) from None
    return dvc_version(raw_file, config.data.annotations_dir)


def dvc_version(raw_file: str | os.PathLike[str], annotations: str | os.PathLike[str]) -> DvcVersion:
    """What DVC records for a raw file and the annotation exports, checked against the workspace.

    Raises
    ------
    NotVersioned
        Either is outside a DVC repository, missing, not tracked by a ``.dvc`` file, tracked
        with DVC 2's hashing, or differs from what its ``.dvc`` file records.
    """
    raw_path, annotations_path = _absolute(raw_file), _absolute(annotations)
    root = find_dvc_root(raw_path)
    if root is None:
        raise NotVersioned(f"{raw_path} is not in a DVC repository (no .dvc/ folder above it)")
    if find_dvc_root(annotations_path) != root:
        raise NotVersioned(f"{annotations_path} is not in the DVC repository {root}")
    digests: dict[Path, str] = {}
    return DvcVersion(root, tracked_input(raw_path, root, digests), tracked_input(annotations_path, root, digests))


def find_dvc_root(path: str | os.PathLike[str]) -> Path | None:
    """The nearest folder at or above `path` that holds a ``.dvc/`` folder, or None."""
    start = _absolute(path)
    for candidate in (start, *start.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
    return None


def tracked_input(path: Path, root: Path, digests: dict[Path, str] | None = None) -> TrackedInput:
    """`path` (a file or a folder) as DVC records it, after checking the workspace matches.

    Parameters
    ----------
    path : Path
        Absolute, inside `root`.
    root : Path
        The DVC repository.
    digests : dict, optional
        md5s already computed in this check, by path (filled in).

    Raises
    ------
    NotVersioned
    """
    digests = {} if digests is None else digests
    shown = _display(path, root)
    if not path.exists():
        raise NotVersioned(f"{shown} does not exist")
    owner, dvc_file = _tracking_file(path, root)
    recorded = _recorded_md5(dvc_file, owner, root)
    changed = f"{shown} differs from what {_display(dvc_file, root)} records (changed since `dvc add`: {_FIX})"
    if not recorded.endswith(_DIR_SUFFIX):
        if not path.is_file() or _md5(path, digests) != recorded:
            raise NotVersioned(changed)
        return TrackedInput(path, dvc_file, recorded)
    manifest = _manifest(owner, recorded, root, dvc_file, digests)
    inside = path.relative_to(owner).as_posix()
    if path.is_file():
        if inside not in manifest:
            raise NotVersioned(f"{shown} is not in {_display(dvc_file, root)} (added since `dvc add`: {_FIX})")
        if _md5(path, digests) != manifest[inside]:
            raise NotVersioned(changed)
        return TrackedInput(path, dvc_file, manifest[inside])
    prefix = "" if path == owner else f"{inside}/"
    expected = {name[len(prefix) :]: md5 for name, md5 in manifest.items() if name.startswith(prefix)}
    actual = _workspace_files(path, root)
    if set(actual) != set(expected) or any(_md5(file, digests) != expected[name] for name, file in actual.items()):
        raise NotVersioned(changed)
    return TrackedInput(path, dvc_file, recorded if path == owner else tree_md5(expected))


def tree_md5(entries: dict[str, str]) -> str:
    """DVC's hash of a folder from its files' md5s by POSIX path relative to it: ``{md5}.dir``."""
    listing = [{"md5": md5, "relpath": relpath} for relpath, md5 in sorted(entries.items())]
    return hashlib.md5(json.dumps(listing, sort_keys=True).encode("utf-8")).hexdigest() + _DIR_SUFFIX


def folder_md5(folder: str | os.PathLike[str]) -> str:
    """The ``{md5}.dir`` DVC computes for `folder` as it is now (no ``.dvcignore`` patterns)."""
    path = _absolute(folder)
    root = find_dvc_root(path) or path
    digests: dict[Path, str] = {}
    return tree_md5({name: _md5(file, digests) for name, file in _workspace_files(path, root).items()})


def file_md5(path: str | os.PathLike[str]) -> str:
    """DVC 3's hash of a file: the md5 of its bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


# --------------------------------------------------------------------------- helpers


def _tracking_file(path: Path, root: Path) -> tuple[Path, Path]:
    """The tracked path (`path` or a folder above it, below `root`) and its ``.dvc`` file."""
    for owner in (path, *path.parents):
        if owner == root or root not in owner.parents:
            break
        dvc_file = owner.with_name(owner.name + ".dvc")
        if dvc_file.is_file():
            return owner, dvc_file
    shown = _display(path, root)
    raise NotVersioned(f"{shown} is not tracked by DVC (no {shown}.dvc): make data-push tracks it")


def _recorded_md5(dvc_file: Path, owner: Path, root: Path) -> str:
    shown = _display(dvc_file, root)
    try:
        content: Any = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise NotVersioned(f"{shown} is unreadable: {exc}") from None
    outs = content.get("outs") if isinstance(content, dict) else None
    for out in outs if isinstance(outs, list) else []:
        if not isinstance(out, dict) or _absolute(dvc_file.parent / str(out.get("path", ""))) != owner:
            continue
        if out.get("hash") != "md5":
            raise NotVersioned(f"{shown} was written by DVC 2 (md5-dos2unix hashes, no `hash: md5`): {_FIX} with DVC 3")
        md5 = out.get("md5")
        if not isinstance(md5, str) or not md5:
            raise NotVersioned(f"{shown} records no md5 for {_display(owner, root)}")
        return md5
    raise NotVersioned(f"{shown} does not track {_display(owner, root)}")


def _manifest(owner: Path, recorded: str, root: Path, dvc_file: Path, digests: dict[Path, str]) -> dict[str, str]:
    """The tracked folder's files and md5s: from the cache, else rebuilt from the workspace if it matches."""
    digest = recorded[: -len(_DIR_SUFFIX)]
    cached = _cache_dir(root) / "files" / "md5" / digest[:2] / f"{digest[2:]}{_DIR_SUFFIX}"
    try:
        data = cached.read_bytes()
    except OSError:
        data = None
    if data is not None and hashlib.md5(data).hexdigest() == digest:
        return {entry["relpath"]: entry["md5"] for entry in json.loads(data)}
    if not owner.is_dir():
        raise NotVersioned(f"{_display(owner, root)} is not a folder, but {_display(dvc_file, root)} records one")
    entries = {name: _md5(file, digests) for name, file in _workspace_files(owner, root).items()}
    if tree_md5(entries) != recorded:
        raise NotVersioned(
            f"{_display(owner, root)} differs from what {_display(dvc_file, root)} records (changed since `dvc add`, "
            f"and the DVC cache has no manifest to tell which file: {_FIX})"
        )
    return entries


def read_dvc_config(root: Path, name: str = "config") -> configparser.ConfigParser | None:
    """``.dvc/{name}`` (``config`` or ``config.local``) as DVC writes it (INI); None when unreadable.

    A missing file reads as empty. DVC quotes section names with a space: ``['remote "local"']``.
    """
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read(root / ".dvc" / name, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser


def _cache_dir(root: Path) -> Path:
    """``cache.dir`` from ``.dvc/config`` / ``.dvc/config.local`` (relative to ``.dvc/``), else ``.dvc/cache``."""
    directory = root / ".dvc" / "cache"
    for name in ("config", "config.local"):
        parser = read_dvc_config(root, name)
        if parser is not None and parser.has_option("cache", "dir"):
            value = Path(parser.get("cache", "dir")).expanduser()
            directory = value if value.is_absolute() else root / ".dvc" / value
    return directory


def _workspace_files(folder: Path, root: Path) -> dict[str, Path]:
    """Every file below `folder` by POSIX path relative to it, as DVC walks it."""
    files: dict[str, Path] = {}
    if _has_patterns(root / ".dvcignore"):
        raise NotVersioned(f"{_display(root / '.dvcignore', root)} has patterns, which are not evaluated here")
    for directory, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _DEFAULT_IGNORED)
        for name in filenames:
            if name == ".git":
                continue
            file = Path(directory, name)
            if name == ".dvcignore" and _has_patterns(file):
                raise NotVersioned(f"{_display(file, root)} has patterns, which are not evaluated here")
            files[file.relative_to(folder).as_posix()] = file
    return files


def _has_patterns(dvcignore: Path) -> bool:
    try:
        lines = dvcignore.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def _md5(path: Path, digests: dict[Path, str]) -> str:
    if path not in digests:
        digests[path] = file_md5(path)
    return digests[path]


def _short(md5: str) -> str:
    return md5.removesuffix(_DIR_SUFFIX)[:_SHORT_HEX]


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(os.fspath(path)))


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
