"""GET /model/info, GET /model/labels, POST /model/reload, POST /model/rollback."""

from __future__ import annotations

import os
from typing import Annotated, ClassVar, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency

from ml_platform.partitions import Partition, PartitionError
from serving.controllers.dependencies import MODEL
from serving.errors import DESCRIPTIONS, ServiceError, UnknownPartitionError, error_responses
from serving.model_service import ModelService, failures
from serving.schemas import LabelInfo, LoadFailure, ModelInfoResponse, ReloadResponse, Schema

DESCRIPTIONS.setdefault(409, "Nothing to roll back to: no champion pointer, or no previous champion left.")


class NothingToRollBackError(ServiceError):
    status_code: ClassVar[int] = 409
    code = "nothing_to_roll_back"


class RollbackRequest(Schema):
    """The partition whose champion moves back."""

    pair: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    timeframe: Annotated[str, msgspec.Meta(min_length=1, max_length=8)]


class RollbackResponse(Schema):
    """Where the champion moved, and what this worker serves after reloading."""

    partition: Annotated[str, msgspec.Meta(description="PAIR|TF.")]
    source: Literal["bundle", "mlflow"]
    from_version: Annotated[
        str, msgspec.Meta(description="The champion before: a bundle model_version or an MLflow registered version.")
    ]
    to_version: Annotated[str, msgspec.Meta(description="The champion now (same kind of version as from_version).")]
    served_version: Annotated[
        str | None, msgspec.Meta(description="The model_version this worker serves after reloading.")
    ]
    failures: list[LoadFailure]


class ModelController(Controller):
    path = "/model"
    tags = ["model"]
    dependencies = MODEL

    @get("/info", operation_id="modelInfo", responses=error_responses(401))
    async def info(self, model_service: NamedDependency[ModelService]) -> Response[ModelInfoResponse]:
        """Loaded models (name, version, source, inputs, per-class metrics from training) and load failures.

        Each model's ``metrics.champion`` says whether it is the partition's champion (``is_champion``,
        ``champion_version``; bundles also ``previous``, ``promoted_at``, ``reason``) as of its load.
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

    @post("/rollback", operation_id="modelRollback", status_code=200, responses=error_responses(400, 401, 404, 409))
    async def rollback(self, data: RollbackRequest, model_service: NamedDependency[ModelService]) -> RollbackResponse:
        """Move a partition's champion back to the previous one, and serve it.

        Bundles: ``champion.json`` moves to the newest previous champion still on disk. MLflow: the
        alias moves back to the version that held it before. This worker reloads at once; the others
        on their next poll (``serving.reload_interval_seconds``).
        """
        try:
            partition = Partition(data.pair, data.timeframe)
        except PartitionError as exc:
            raise UnknownPartitionError(str(exc)) from None
        try:
            before, after, result = await model_service.models.rollback(partition)
        except LookupError as exc:
            raise NothingToRollBackError(str(exc.args[0] if exc.args else exc)) from None
        served = result.registry.get(partition)
        return RollbackResponse(
            partition=partition.key,
            source=model_service.models.source.kind,
            from_version=before,
            to_version=after,
            served_version=served.version if served else None,
            failures=failures(result.registry),
        )
