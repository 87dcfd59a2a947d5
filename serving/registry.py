"""The models in memory, and their hot reload.

`ModelRegistry.current` is one immutable `Registry` snapshot (partition -> `LoadedModel`,
plus the load failures). A request reads the reference once and uses that snapshot to the
end, so it never sees a half-swapped model: a reload builds a complete new snapshot and
replaces the reference in one assignment.

The models come from a `serving.sources.ModelSource` (each partition's champion bundle on
disk, or the MLflow registry's alias, ``serving.model_source``); `reload` asks it for every
partition's current version token and loads only the new or changed ones; `rollback` moves a
partition's champion back (``POST /model/rollback``) and reloads.

A partition that fails to load is logged and reported (`Registry.failures`); the others
are served. When a new version fails, the previously loaded one keeps serving; a failed
version is not retried until it changes or ``POST /model/reload`` asks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import anyio.to_thread

from ml_platform.partitions import Partition
from serving.sources import LoadedModel, ModelSource, utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadFailure:
    partition: str
    location: str
    error: str
    at: str
    token: str | None = None
    serving_version: str | None = None


@dataclass(frozen=True)
class Registry:
    """An immutable snapshot of the loaded models."""

    models: Mapping[Partition, LoadedModel] = field(default_factory=lambda: MappingProxyType({}))
    failures: tuple[LoadFailure, ...] = ()
    loaded_at: str = ""

    def get(self, partition: Partition) -> LoadedModel | None:
        return self.models.get(partition)

    @property
    def can_predict(self) -> bool:
        return bool(self.models)


@dataclass(frozen=True)
class ReloadResult:
    registry: Registry
    changed: list[str]


class ModelRegistry:
    """Holds the current `Registry`; `reload` builds the next one and swaps the reference."""

    def __init__(self, source: ModelSource) -> None:
        self.source = source
        self._current = Registry(loaded_at=utc_now())
        self._lock = threading.Lock()

    @property
    def current(self) -> Registry:
        """The snapshot to use for one whole request."""
        return self._current

    def reload_blocking(self, *, retry_failed: bool = False) -> ReloadResult:
        """Scan the source, load what is new or changed, and swap in the new snapshot."""
        with self._lock:
            old = self._current
            try:
                candidates = self.source.scan()
            except Exception as exc:  # the source itself is unreachable: keep serving what is loaded
                logger.error("cannot list models from the %s source: %s", self.source.kind, exc)
                failure = LoadFailure(
                    partition="*", location=self.source.kind, error=f"cannot list models: {exc}", at=utc_now()
                )
                self._current = Registry(old.models, (failure,), utc_now())
                return ReloadResult(self._current, [])
            failed = {f.partition: f for f in old.failures}
            models: dict[Partition, LoadedModel] = {}
            failures: list[LoadFailure] = []
            changed: list[str] = []
            for candidate in candidates:
                key = candidate.partition.key
                previous = old.get(candidate.partition)
                if previous is not None and candidate.token is not None and previous.token == candidate.token:
                    models[candidate.partition] = previous
                    continue
                known_failure = failed.get(key)
                if not retry_failed and known_failure is not None and known_failure.token == candidate.token:
                    failures.append(known_failure)
                    if previous is not None:
                        models[candidate.partition] = previous
                    continue
                try:
                    models[candidate.partition] = self.source.load(candidate)
                    changed.append(key)
                    logger.info(
                        "loaded %s model %s from %s", key, models[candidate.partition].version, candidate.location
                    )
                except Exception as exc:
                    logger.error(
                        "cannot load the %s model from %s: %s",
                        key,
                        candidate.location,
                        exc,
                        exc_info=not isinstance(exc, (LookupError, ValueError, RuntimeError)),
                    )
                    failures.append(
                        LoadFailure(
                            partition=key,
                            location=candidate.location,
                            error=str(exc),
                            at=utc_now(),
                            token=candidate.token,
                            serving_version=previous.version if previous else None,
                        )
                    )
                    if previous is not None:
                        models[candidate.partition] = previous
            removed = [p.key for p in old.models if p not in models]
            for key in removed:
                logger.info("model %s is gone from the %s source; no longer served", key, self.source.kind)
            ordered = MappingProxyType(dict(sorted(models.items(), key=lambda item: item[0].key)))
            self._current = Registry(ordered, tuple(failures), utc_now())
            return ReloadResult(self._current, changed + removed)

    async def reload(self, *, retry_failed: bool = False) -> ReloadResult:
        """`reload_blocking` in a worker thread (loading reads files and parses models)."""
        return await anyio.to_thread.run_sync(lambda: self.reload_blocking(retry_failed=retry_failed))

    async def rollback(self, partition: Partition) -> tuple[str, str, ReloadResult]:
        """Move `partition`'s champion back (`ModelSource.rollback`), then reload; return ``(from, to, result)``.

        The other worker processes pick the move up on their next poll. Raises LookupError
        when there is nothing to roll back to.
        """
        before, after = await anyio.to_thread.run_sync(lambda: self.source.rollback(partition))
        logger.info(
            "%s: champion rolled back from %s to %s (%s source)", partition.key, before, after, self.source.kind
        )
        return before, after, await self.reload(retry_failed=True)

    async def poll(self, interval: float) -> None:
        """Reload every `interval` seconds until cancelled; a failing poll is logged, not fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except Exception:
                logger.exception("model reload failed; still serving the previous models")
