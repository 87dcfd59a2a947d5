"""The ``bundle`` model source: the champion of every ``{data.models_path}/{PAIR}_{TF}/`` folder.

The champion is the version ``champion.json`` names (``versions/{model_version}/``), or a
legacy flat ``bundle.json`` when there is no pointer (`ml_platform.bundle_store`). Scanning
reads only each folder's pointer (or ``bundle.json`` version), so polling loads only a
partition whose champion moved. A trained version that was not promoted is never offered.

Pooled models (``training.pool``) live in ``POOLED_{TF}/`` folders of the same layout. The pool's
champion serves each member partition (its bundle's ``pooled_from``) that has no champion of its
own, or every member with ``training.pool.serve: prefer``; ``/model/info`` then names the pool
(``POOLED_{TF}``) and lists its members under ``pooled_from``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ml_platform import bundle_store
from ml_platform.bundle import BundleError, load_bundle, load_meta
from ml_platform.partitions import Partition, PartitionError
from ml_platform.training.pooled_train import POOLED_PAIR
from serving.sources.base import Candidate, LoadedModel, check_partition, loaded_model


def partition_of_stem(stem: str) -> Partition | None:
    """``EURUSD_1h`` -> Partition, or None for a name that is not a valid partition stem."""
    return Partition.from_stem(stem)


def champion_metrics(partition_dir: Path, version: str) -> dict[str, object]:
    """``{"is_champion", "champion_version", "previous", "promoted_at", "reason"}`` of `version`, as of now.

    What ``/model/info`` shows under ``metrics.champion`` (a legacy flat bundle: champion, no pointer).
    """
    try:
        pointer = bundle_store.read_champion(partition_dir)
    except BundleError as exc:
        return {"is_champion": False, "champion_version": None, "error": str(exc)}
    if pointer is None:
        return {
            "is_champion": True,
            "champion_version": version,
            "previous": [],
            "promoted_at": None,
            "reason": "legacy",
        }
    return {
        "is_champion": pointer.model_version == version,
        "champion_version": pointer.model_version,
        "previous": list(pointer.previous),
        "promoted_at": pointer.promoted_at,
        "reason": pointer.reason,
    }


class BundleSource:
    """Champion bundles under ``data.models_path``."""

    kind: Literal["bundle"] = "bundle"

    def __init__(self, models_path: Path, *, pool_serve: Literal["fallback", "prefer"] = "fallback") -> None:
        self.models_path = models_path
        self.pool_serve = pool_serve

    def scan(self) -> list[Candidate]:
        if not self.models_path.is_dir():
            return []
        own: dict[Partition, Candidate] = {}
        pools: list[Candidate] = []
        for directory in sorted(self.models_path.iterdir()):
            partition = partition_of_stem(directory.name) if directory.is_dir() else None
            if partition is None:
                continue
            token = bundle_store.champion_version(directory)
            if token is None:
                continue
            champion = bundle_store.resolve_version(directory, token)
            candidate = Candidate(partition, str(champion or directory), token if champion else None)
            if partition.pair == POOLED_PAIR:
                pools.append(candidate)
            else:
                own[partition] = candidate
        for pool in pools:
            for member in self._members(pool):
                if member not in own or self.pool_serve == "prefer":
                    own[member] = Candidate(member, pool.location, pool.token)
        return [own[partition] for partition in sorted(own, key=lambda p: p.key)]

    @staticmethod
    def _members(pool: Candidate) -> list[Partition]:
        """The partitions a pool's champion was trained on (none when its bundle cannot be read: nothing to offer)."""
        if pool.token is None:
            return []
        try:
            members = load_meta(Path(pool.location)).pooled_from
        except BundleError:
            return []
        partitions = []
        for key in members:
            try:
                partitions.append(Partition.from_key(key))
            except PartitionError:  # a hand-edited bundle.json: the load would refuse it too
                continue
        return partitions

    def load(self, candidate: Candidate) -> LoadedModel:
        location = Path(candidate.location)
        if candidate.token is None:
            raise BundleError(f"{location}: champion.json names a version with no complete bundle folder")
        bundle = load_bundle(location)
        check_partition(bundle.meta, candidate.partition, candidate.location)
        partition_dir = location if location.name == candidate.partition.stem else location.parent.parent
        metrics = {**bundle.meta.metrics, "champion": champion_metrics(partition_dir, bundle.meta.model_version)}
        return loaded_model(bundle, candidate, "bundle", token=bundle.meta.model_version, metrics=metrics)

    def rollback(self, partition: Partition) -> tuple[str, str]:
        """Move the partition's ``champion.json`` back to the previous champion; return ``(from, to)`` versions.

        Raises LookupError when the partition has no pointer or no previous champion on disk.
        """
        directory = self.models_path / partition.stem
        before = bundle_store.champion_version(directory)
        try:
            pointer = bundle_store.rollback(directory, reason=f"POST /model/rollback from {before}")
        except BundleError as exc:
            raise LookupError(str(exc)) from None
        return before or "", pointer.model_version
