"""Bearer-token guard: when ``INFERENCE_API_TOKEN`` is set, every endpoint but ``/health`` needs it.

Handlers opt out with ``opt={"public": True}``. CORS preflight (OPTIONS) requests are
answered by the CORS layer before routing, so browsers can ask first.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from serving.errors import UnauthorizedError

PUBLIC = {"public": True}


def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Raise UnauthorizedError (401) unless the request carries ``Authorization: Bearer <token>``."""
    token: str | None = connection.app.state.settings.api_token
    if token is None or handler.opt.get("public") or connection.scope.get("method") == "OPTIONS":
        return
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise UnauthorizedError(
            "this service requires a token: send 'Authorization: Bearer <INFERENCE_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise UnauthorizedError(
            "the bearer token is wrong: use the value of INFERENCE_API_TOKEN the service runs with",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
