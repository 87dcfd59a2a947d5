"""The service's errors and their one mapping to HTTP answers.

Handlers and helpers raise a `ServiceError` subclass (or a domain error from
`ml_platform`, mapped in `DOMAIN_ERRORS`); `exception_handlers()` turns every exception into
an `ErrorResponse` JSON body. Codes follow docs/DESIGN.md: 400 malformed body, 401 missing or
wrong token, 404 unknown pair/timeframe or no model, 413 too large, 422 valid JSON that
cannot be predicted, 503 no model loaded. Bad input never becomes a 500: anything
unexpected is logged with its traceback and answered 500 without internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from ml_platform.features import FeatureError, InsufficientCandlesError
from ml_platform.inference import InferenceError, InvalidCandlesError
from ml_platform.partitions import PartitionError
from serving.schemas import ErrorResponse

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base: an error with an HTTP status, a code and a message a person can act on."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, index: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.headers = headers or {}


class BadRequestError(ServiceError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(ServiceError):
    status_code = 401
    code = "unauthorized"


class NotFoundError(ServiceError):
    status_code = 404
    code = "not_found"


class UnknownPartitionError(NotFoundError):
    code = "unknown_partition"


class NoModelError(NotFoundError):
    code = "no_model"


class NoStoredCandlesError(NotFoundError):
    code = "no_candles"


class TooLargeError(ServiceError):
    status_code = 413
    code = "too_large"


class UnprocessableError(ServiceError):
    status_code = 422
    code = "unprocessable"


class InvalidCandlesServiceError(UnprocessableError):
    code = "invalid_candles"


class NotEnoughCandlesServiceError(UnprocessableError):
    code = "not_enough_candles"


class NoModelLoadedError(ServiceError):
    status_code = 503
    code = "no_model_loaded"


# Domain errors raised by ml_platform, mapped here and nowhere else.
DOMAIN_ERRORS: dict[type[Exception], type[ServiceError]] = {
    InvalidCandlesError: InvalidCandlesServiceError,
    InsufficientCandlesError: NotEnoughCandlesServiceError,
    InferenceError: NotEnoughCandlesServiceError,
    FeatureError: UnprocessableError,
    PartitionError: UnknownPartitionError,
}

DESCRIPTIONS: dict[int, str] = {
    400: "Malformed body or parameters (not JSON, wrong types, missing fields).",
    401: "INFERENCE_API_TOKEN is set and the Authorization: Bearer token is missing or wrong.",
    404: "Unknown pair/timeframe, no model for it, or no stored candles.",
    413: "Body larger than serving.request_max_body_size, or more candles than serving.max_candles.",
    422: "Valid JSON that cannot be predicted: bad candles (index of the first), too few for the warm-up.",
    503: "No model is loaded: the service cannot predict.",
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the given status codes (all with the `ErrorResponse` body)."""
    return {
        code: ResponseSpec(data_container=ErrorResponse, description=DESCRIPTIONS[code], generate_examples=False)
        for code in codes
    }


def to_service_error(exc: Exception) -> ServiceError | None:
    """The ServiceError for a ServiceError or a mapped domain error, else None."""
    if isinstance(exc, ServiceError):
        return exc
    for domain_type in type(exc).__mro__:
        if domain_type in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[domain_type](str(exc), index=getattr(exc, "index", None))
    return None


MAX_DETAIL_CHARS = 2000
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
_CANDLE_KEY = re.compile(r"^candles\[(\d+)\]")  # a validation error's key inside a candle
_OUT_OF_RANGE = re.compile(r"^Number out of range - at `\$\[\.\.\.\]\[(\d+)\]")  # 1e999 in candles[N]


def _respond(
    status_code: int,
    code: str,
    detail: str,
    *,
    index: int | None = None,
    extra: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorResponse]:
    if len(detail) > MAX_DETAIL_CHARS:  # never echo a huge request value back whole
        detail = f"{detail[:MAX_DETAIL_CHARS]}... (message cut at {MAX_DETAIL_CHARS} characters)"
    body = ErrorResponse(status_code=status_code, error=code, detail=detail, index=index, extra=extra)
    return Response(body, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def _validation_detail(exc: ValidationException) -> tuple[str, list[dict[str, Any]] | None, int | None]:
    """('invalid request body: candles[3].time: Expected `int`, got `str`', extra, 3) from Litestar's error."""
    extra = exc.extra if isinstance(exc.extra, list) else None
    first = extra[0] if extra and isinstance(extra[0], dict) else None
    if first is None:
        return f"invalid request: {exc.detail}", extra, None
    key = str(first.get("key") or "")
    where = f"{key}: " if key else ""
    match = _CANDLE_KEY.match(key)
    return (
        f"invalid request {first.get('source', 'body')}: {where}{first.get('message', exc.detail)}",
        extra,
        int(match.group(1)) if match else None,
    )


def _out_of_range_index(message: str) -> int | None:
    """The candle index of msgspec's "Number out of range - at `$[...][3][...]`" (a number like 1e999)."""
    match = _OUT_OF_RANGE.match(message)
    return int(match.group(1)) if match else None


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorResponse]:
    """The one handler: ServiceError, mapped domain errors, Litestar's HTTP errors, anything else."""
    service_error = to_service_error(exc)
    if service_error is not None:
        return _respond(
            service_error.status_code,
            service_error.code,
            service_error.message,
            index=service_error.index,
            headers=service_error.headers,
        )
    if isinstance(exc, ValidationException):
        detail, extra, index = _validation_detail(exc)
        return _respond(400, BadRequestError.code, detail, index=index, extra=extra)
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.app.state.settings.serving.request_max_body_size
        return _respond(
            413,
            TooLargeError.code,
            f"the request body is larger than the limit of {limit} bytes (serving.request_max_body_size): "
            "send fewer candles per request, or use POST /predict/batch on stored candles",
        )
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail
        if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
            index = _out_of_range_index(str(detail))
            if index is not None:
                return _respond(
                    422,
                    InvalidCandlesServiceError.code,
                    f"candles[{index}]: a number is out of the range of finite floats ({detail}); send finite prices",
                    index=index,
                )
            detail = (
                f"the request body is not valid JSON ({detail}); note that NaN and Infinity are not JSON "
                "numbers: send finite prices"
            )
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.method} {request.url.path}: see /schema/openapi.json"
        return _respond(exc.status_code, code, str(detail), headers=exc.headers)
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return _respond(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "internal error: the service logged the details; please report it",
    )


def exception_handlers() -> dict[type[Exception] | int, Any]:
    """The app's exception handler map: everything goes through `handle_exception`."""
    return {Exception: handle_exception}
