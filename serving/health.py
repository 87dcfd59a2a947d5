"""Health of the service's dependencies: models loaded, MLflow reachable, database reachable.

Each check reports its own status; only the model check decides the HTTP status (200 when
the service can predict, 503 when not). A SQLite file is opened read-only, never created by
a health check.

A dependency that accepts connections but never answers cannot stall ``/health``:

- each external check has a hard deadline (`CHECK_TIMEOUT_SECONDS`): the answer is
  "did not answer within 2 s" at the deadline, whatever the driver does (its thread is
  abandoned and ends on the driver's own timeouts, all at most the deadline: libpq's
  ``connect_timeout``, PostgreSQL's ``statement_timeout``, httpx's timeouts; no pool to
  queue on: each check opens and closes its own connection);
- the external results are cached for `CACHE_SECONDS` and concurrent probes share one
  check in flight, so N probes cost one check (and at most one thread per dependency).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import httpx

from serving.registry import ModelRegistry, Registry
from serving.schemas import ComponentHealth, HealthResponse
from serving.settings import Settings

CHECK_TIMEOUT_SECONDS = 2.0
CACHE_SECONDS = 3.0


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL (None for in-memory)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def _check_sqlite(url: str, what: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> ComponentHealth:
    path = _sqlite_path(url)
    if path is None:
        return ComponentHealth(status="ok", detail=f"{what}: in-memory SQLite")
    if not Path(path).is_file():
        return ComponentHealth(
            status="error",
            detail=f"{what}: SQLite file {path} does not exist yet (nothing was recorded: run the pipeline)",
        )
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=CHECK_TIMEOUT_SECONDS)
        try:
            connection.execute("SELECT 1").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return ComponentHealth(status="error", detail=f"{what}: cannot read SQLite file {path}: {exc}")
    return ComponentHealth(status="ok", detail=f"{what}: SQLite {path}")


def _redact(url: str) -> str:
    """The URL without its password."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
    return url


def _connect_args(url: str, timeout: float) -> dict[str, Any]:
    """Driver timeouts no longer than `timeout`: connect (libpq counts whole seconds, 2 at least) and statement."""
    if url.startswith("postgresql"):
        return {"connect_timeout": max(1, int(timeout)), "options": f"-c statement_timeout={int(timeout * 1000)}"}
    if url.startswith("mysql"):
        return {"connect_timeout": max(1, int(timeout)), "read_timeout": max(1, int(timeout))}
    return {}


class HealthChecker:
    """Runs the checks (on the current snapshot of `models`); keeps one SQLAlchemy engine per server database URL.

    `timeout` is each external check's deadline; `cache_seconds` how long their results are reused.
    """

    def __init__(
        self,
        settings: Settings,
        models: ModelRegistry,
        *,
        timeout: float = CHECK_TIMEOUT_SECONDS,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.settings = settings
        self.models = models
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.checks_run = 0  # external check rounds actually run (the rest were served from the cache)
        self._engines: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, ComponentHealth]] | None = None
        self._inflight: asyncio.Task[dict[str, ComponentHealth]] | None = None

    def _engine(self, url: str) -> Any:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        with self._lock:
            if url not in self._engines:
                # NullPool: a check never waits for a pooled connection held by a stalled one
                # (the 30 s default pool timeout overrode the check's deadline).
                self._engines[url] = create_engine(
                    url, poolclass=NullPool, connect_args=_connect_args(url, self.timeout)
                )
            return self._engines[url]

    def _check_server_db(self, url: str, what: str) -> ComponentHealth:
        from sqlalchemy import text

        try:
            with self._engine(url).connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any driver error means "not reachable"; the detail says which
            return ComponentHealth(
                status="error",
                detail=f"{what}: {_redact(url)} unreachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
            )
        return ComponentHealth(status="ok", detail=f"{what}: {_redact(url)}")

    def check_database(self) -> ComponentHealth:
        url = self.settings.database_url
        if url.startswith("sqlite"):
            return _check_sqlite(url, "training_runs store", self.timeout)
        return self._check_server_db(url, "training_runs store")

    def check_mlflow(self) -> ComponentHealth:
        uri = self.settings.mlflow_tracking_uri
        scheme = urllib.parse.urlsplit(uri).scheme
        if scheme in ("http", "https"):
            try:
                response = httpx.get(uri.rstrip("/") + "/health", timeout=self.timeout)
            except httpx.HTTPError as exc:
                return ComponentHealth(status="error", detail=f"MLflow server {uri} unreachable: {type(exc).__name__}")
            if response.status_code >= 400:
                return ComponentHealth(status="error", detail=f"MLflow server {uri} answered {response.status_code}")
            return ComponentHealth(status="ok", detail=f"MLflow server {uri}")
        if scheme == "sqlite":
            return _check_sqlite(uri, "MLflow store", self.timeout)
        if scheme in ("", "file"):
            path = Path(urllib.parse.urlsplit(uri).path if scheme == "file" else uri)
            if path.is_dir():
                return ComponentHealth(status="ok", detail=f"MLflow file store {path}")
            return ComponentHealth(status="error", detail=f"MLflow file store {path} does not exist")
        return self._check_server_db(uri, "MLflow store")

    @staticmethod
    def check_models(registry: Registry) -> ComponentHealth:
        count, failed = len(registry.models), len(registry.failures)
        failures = f"; {failed} failed to load (see /model/info)" if failed else ""
        if count:
            return ComponentHealth(status="ok", detail=f"{count} model{'s' if count != 1 else ''} loaded{failures}")
        return ComponentHealth(status="error", detail=f"no model loaded{failures}")

    async def _with_deadline(self, check: Any, what: str) -> ComponentHealth:
        """`check()` in a worker thread, or an error at the deadline (the thread is left to end on its own)."""
        with anyio.move_on_after(self.timeout):
            result: ComponentHealth = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
            return result
        return ComponentHealth(
            status="error", detail=f"{what} did not answer within {self.timeout:g} s (health check deadline)"
        )

    async def _external(self) -> dict[str, ComponentHealth]:
        """MLflow and the database, concurrently, each within its deadline."""
        results: dict[str, ComponentHealth] = {}

        async def run(name: str, check: Any, what: str) -> None:
            results[name] = await self._with_deadline(check, what)

        self.checks_run += 1
        async with anyio.create_task_group() as group:
            group.start_soon(run, "mlflow", self.check_mlflow, f"MLflow {_redact(self.settings.mlflow_tracking_uri)}")
            group.start_soon(run, "database", self.check_database, f"database {_redact(self.settings.database_url)}")
        self._cached = (time.monotonic(), results)
        return results

    async def external(self) -> dict[str, ComponentHealth]:
        """The cached external results if fresh, else the check in flight (shared by all callers), else a new one."""
        if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = self._inflight = loop.create_task(self._external())
        return await asyncio.shield(task)

    async def check(self) -> HealthResponse:
        """All checks: the model's now, the external ones cached or within their deadline."""
        registry = self.models.current
        results = await self.external()
        model = self.check_models(registry)
        can_predict = registry.can_predict
        degraded = any(results[name].status == "error" for name in results) or bool(registry.failures)
        status: Literal["ok", "degraded", "unavailable"] = (
            "unavailable" if not can_predict else ("degraded" if degraded else "ok")
        )
        return HealthResponse(
            status=status, can_predict=can_predict, model=model, mlflow=results["mlflow"], database=results["database"]
        )

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
