"""GET /health: open without a token, for load balancers and `make demo`."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from serving.auth import PUBLIC
from serving.controllers.dependencies import HEALTH
from serving.health import HealthChecker
from serving.schemas import HealthResponse

_UNAVAILABLE = ResponseSpec(
    data_container=HealthResponse,
    generate_examples=False,
    description="No model is loaded: the service cannot predict (same body).",
)


class HealthController(Controller):
    tags = ["health"]
    dependencies = HEALTH

    @get("/health", operation_id="health", opt=PUBLIC, responses={503: _UNAVAILABLE})
    async def health(self, health_checker: NamedDependency[HealthChecker]) -> Response[HealthResponse]:
        """Model loaded, MLflow reachable, database reachable, each with its status; 200 if it can predict, else 503."""
        report = await health_checker.check()
        return Response(report, status_code=200 if report.can_predict else 503)
