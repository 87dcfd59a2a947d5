"""GET /model/info, GET /model/labels, POST /model/reload."""

from __future__ import annotations

import os

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency

from serving.controllers.dependencies import MODEL
from serving.errors import error_responses
from serving.model_service import ModelService
from serving.schemas import LabelInfo, ModelInfoResponse, ReloadResponse


class ModelController(Controller):
    path = "/model"
    tags = ["model"]
    dependencies = MODEL

    @get("/info", operation_id="modelInfo", responses=error_responses(401))
    async def info(self, model_service: NamedDependency[ModelService]) -> Response[ModelInfoResponse]:
        """Loaded models (name, version, source, inputs, per-class metrics from training) and load failures.

        Each worker process answers for the models it has loaded; the ``X-Worker-Pid`` header says which.
        """
        return Response(model_service.info(), headers={"X-Worker-Pid": str(os.getpid())})

    @get("/labels", operation_id="modelLabels", responses=error_responses(401))
    async def labels(self, model_service: NamedDependency[ModelService]) -> list[LabelInfo]:
        """Name and colour of every label a loaded model can emit (configured colours, else stable generated ones)."""
        return model_service.labels()

    @post("/reload", operation_id="modelReload", status_code=200, responses=error_responses(401))
    async def reload(self, model_service: NamedDependency[ModelService]) -> ReloadResponse:
        """Look for new or changed models now (also retries failed ones) and swap them in atomically."""
        return await model_service.reload()
