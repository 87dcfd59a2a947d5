"""GET /model/info, GET /model/labels, POST /model/reload."""

from __future__ import annotations

from litestar import Controller, Request, get, post

from serving import service
from serving.errors import error_responses
from serving.registry import Registry
from serving.schemas import LabelInfo, ModelInfoResponse, ReloadResponse
from serving.settings import Settings


class ModelController(Controller):
    path = "/model"
    tags = ["model"]

    @get("/info", operation_id="modelInfo", responses=error_responses(401))
    async def info(self, settings: Settings, registry: Registry) -> ModelInfoResponse:
        """Loaded models (name, version, source, inputs, per-class metrics from training) and load failures."""
        return service.model_info(settings, registry)

    @get("/labels", operation_id="modelLabels", responses=error_responses(401))
    async def labels(self, settings: Settings, registry: Registry) -> list[LabelInfo]:
        """Name and colour of every label a loaded model can emit (configured colours, else stable generated ones)."""
        return service.labels(settings, registry)

    @post("/reload", operation_id="modelReload", status_code=200, responses=error_responses(401))
    async def reload(self, request: Request) -> ReloadResponse:
        """Look for new or changed models now (also retries failed ones) and swap them in atomically."""
        result = await request.app.state.models.reload(retry_failed=True)
        return ReloadResponse(
            loaded=[p.key for p in result.registry.models],
            changed=result.changed,
            failures=service.failures(result.registry),
        )
