"""Running the app under uvicorn: worker processes, connection timeouts, logging (``python -m serving``).

- ``serving.workers`` processes (0 = one per core) share one listening socket. Each builds
  its own app from ``ML_PLATFORM_CONFIG`` (`app_from_environment`), so each loads the models,
  keeps its own prediction cache and polls for new models every
  ``serving.reload_interval_seconds``: every worker picks up a new champion by itself
  (``POST /model/reload`` reloads only the worker that answers it).
- Slow or idle connections are bounded. uvicorn has ``timeout_keep_alive`` (idle time after
  an answer) and h11's ``max_incomplete_event_size`` (the size of an incomplete request
  head), but no timeout on reading a request's headers: a client that opens a connection
  and sends nothing, or a header a byte at a time, holds it forever. `HeaderTimeoutProtocol`
  (uvicorn's h11 protocol) closes a connection that has no complete request head
  ``serving.header_timeout_seconds`` after it opened or after its last answer; a request
  whose head has arrived is never cut.
"""

from __future__ import annotations

import asyncio
import copy
import os
from typing import Any

import uvicorn
from litestar import Litestar
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from ml_platform.config import CONFIG_ENV_VAR
from serving.settings import Settings

MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""h11_max_incomplete_event_size: a request line plus headers larger than this is refused (431/400)."""

PROTOCOL = "serving.server:HeaderTimeoutProtocol"


def worker_count(configured: int) -> int:
    """``serving.workers``, with 0 meaning one per core."""
    return configured if configured > 0 else (os.cpu_count() or 1)


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections without a complete request head in time.

    The deadline (``config.header_timeout``, set by `uvicorn_config`) runs from the
    connection's opening and again from each answer; when it fires with no request in
    progress (nothing received, or only part of a head), the connection is closed.
    """

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        timeout = float(getattr(self.config, "header_timeout", 10.0))
        self._header_timer = self.loop.call_later(timeout, self._header_timeout)

    def _header_timeout(self) -> None:
        self._header_timer = None
        in_progress = self.cycle is not None and not self.cycle.response_complete
        if not in_progress and not self.transport.is_closing():
            self.transport.close()


def app_from_environment() -> Litestar:
    """The app of one worker: `create_app` for the config named by ``ML_PLATFORM_CONFIG``."""
    from serving.app import create_app

    return create_app()


def _log_config(log_level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the root logger (the app's own messages) on the same handler, in every worker."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["root"] = {"handlers": ["default"], "level": log_level.upper()}
    config["loggers"]["ml_platform.features"] = {"level": "WARNING"}  # "dropped N warm-up rows" per request
    return config


def uvicorn_config(settings: Settings, *, host: str, port: int, workers: int, log_level: str) -> uvicorn.Config:
    """The uvicorn Config: the app factory, `workers` processes, the connection limits of ``settings.serving``."""
    if settings.config_path is not None:
        os.environ[CONFIG_ENV_VAR] = str(settings.config_path)  # the workers' app_from_environment reads it
    serving = settings.serving
    config = uvicorn.Config(
        "serving.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=PROTOCOL,
        timeout_keep_alive=serving.keep_alive_timeout_seconds,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        log_level=log_level,
        log_config=_log_config(log_level),
        access_log=False,
    )
    config.header_timeout = serving.header_timeout_seconds  # type: ignore[attr-defined]  # read by the protocol
    return config


def serve(config: uvicorn.Config) -> None:
    """Run `config` as `uvicorn.run` does: one process, or a supervisor of ``config.workers``."""
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
