"""Health of the service's dependencies: models loaded, MLflow reachable, database reachable.

Each check is bounded by `CHECK_TIMEOUT_SECONDS` and reports its own status; only the
model check decides the HTTP status (200 when the service can predict, 503 when not).
A SQLite file is opened read-only, never created by a health check.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import httpx

from serving.registry import Registry
from serving.schemas import ComponentHealth, HealthResponse
from serving.settings import Settings

CHECK_TIMEOUT_SECONDS = 2.0


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` URL (None for in-memory)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def _check_sqlite(url: str, what: str) -> ComponentHealth:
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


class HealthChecker:
    """Runs the checks; keeps one SQLAlchemy engine per server database URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _engine(self, url: str) -> Any:
        from sqlalchemy import create_engine

        with self._lock:
            if url not in self._engines:
                connect_args = {"connect_timeout": int(CHECK_TIMEOUT_SECONDS)} if url.startswith("postgresql") else {}
                self._engines[url] = create_engine(
                    url, pool_pre_ping=True, pool_size=1, max_overflow=0, connect_args=connect_args
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
            return _check_sqlite(url, "training_runs store")
        return self._check_server_db(url, "training_runs store")

    def check_mlflow(self) -> ComponentHealth:
        uri = self.settings.mlflow_tracking_uri
        scheme = urllib.parse.urlsplit(uri).scheme
        if scheme in ("http", "https"):
            try:
                response = httpx.get(uri.rstrip("/") + "/health", timeout=CHECK_TIMEOUT_SECONDS)
            except httpx.HTTPError as exc:
                return ComponentHealth(status="error", detail=f"MLflow server {uri} unreachable: {type(exc).__name__}")
            if response.status_code >= 400:
                return ComponentHealth(status="error", detail=f"MLflow server {uri} answered {response.status_code}")
            return ComponentHealth(status="ok", detail=f"MLflow server {uri}")
        if scheme == "sqlite":
            return _check_sqlite(uri, "MLflow store")
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

    async def check(self, registry: Registry) -> HealthResponse:
        """All checks, the two external ones concurrently in worker threads."""
        results: dict[str, ComponentHealth] = {}

        async def run(name: str, check: Any) -> None:
            results[name] = await anyio.to_thread.run_sync(check)

        async with anyio.create_task_group() as group:
            group.start_soon(run, "mlflow", self.check_mlflow)
            group.start_soon(run, "database", self.check_database)
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
