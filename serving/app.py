"""The Litestar app factory: `create_app(settings)` builds a new, independent app each call.

No module-level state: the registry, candle store and health checker live on
``app.state`` of the app that created them, so test clients never share models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from serving.auth import require_token
from serving.candle_store import CandleStore
from serving.controllers import DataController, HealthController, ModelController, PredictController
from serving.controllers.review import ReviewController
from serving.errors import exception_handlers
from serving.health import HealthChecker
from serving.registry import ModelRegistry
from serving.request import ServiceRequest
from serving.settings import Settings, load_settings
from serving.sources import source_for

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    """Load every model before serving; poll for new ones every serving.reload_interval_seconds."""
    settings: Settings = app.state.settings
    registry: ModelRegistry = app.state.models
    result = await registry.reload()
    logger.info(
        "serving %d models (%s); %d failed to load",
        len(result.registry.models),
        ", ".join(p.key for p in result.registry.models) or "none",
        len(result.registry.failures),
    )
    interval = settings.serving.reload_interval_seconds
    poller = asyncio.create_task(registry.poll(interval)) if interval > 0 else None
    try:
        yield
    finally:
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        app.state.health.close()


def create_app(settings: Settings | None = None) -> Litestar:
    """A new app for `settings` (default: `load_settings()` from ``ML_PLATFORM_CONFIG``)."""
    settings = settings or load_settings()
    serving = settings.serving
    models = ModelRegistry(source_for(settings))
    state = State(
        {
            "settings": settings,
            "models": models,
            "candles": CandleStore(settings.config.data),
            "health": HealthChecker(settings, models),
        }
    )
    return Litestar(
        route_handlers=[PredictController, DataController, ModelController, HealthController, ReviewController],
        guards=[require_token],
        request_class=ServiceRequest,
        state=state,
        lifespan=[_lifespan],
        exception_handlers=exception_handlers(),
        request_max_body_size=serving.request_max_body_size,
        cors_config=CORSConfig(
            allow_origins=list(serving.cors_allow_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        ),
        openapi_config=OpenAPIConfig(
            title="Candle pattern inference",
            version=API_VERSION,
            description="Per-candle pattern labels and spans from the models the pipeline trained "
            "(docs/DESIGN.md, 'Inference HTTP API'). Errors are ErrorResponse JSON.",
            path="/schema",
            render_plugins=[JsonRenderPlugin(), SwaggerRenderPlugin()],
        ),
    )
