"""The app's request class: JSON bodies bounded in nesting depth and decoded strictly into the handler's type.

Litestar decodes a body to Python objects, then converts them to the handler's ``data`` type
with coercion on (``"1.1"`` would pass as a number, and a body nested 1,000 levels deep
overflows the decoder's recursion into a 500). `ServiceRequest.json` first measures the
nesting depth (400 past `MAX_JSON_DEPTH`), then decodes the bytes directly into the
handler's msgspec Struct with ``strict=True``: a string is not a number, and every error
names the field (``candles[3].close``) and what to send instead.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import numpy as np
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import Empty

from serving.errors import BadRequestError, InvalidCandlesServiceError

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted in a request body (a prediction request needs 3)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_INT_GOT_FLOAT = re.compile(r"Expected `int(?: \| null)?`, got `float`")
_CANDLE_INDEX = re.compile(r"^candles\[(\d+)\]")
_SEND_INSTEAD = {
    "int": "send an integer (epoch seconds), not a string or a fraction",
    "float": "send a JSON number, not a string",
    "str": "send a string",
    "array": "send a JSON array",
    "object": "send a JSON object",
}


def json_depth(body: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in a JSON text, outside strings (0 for a scalar).

    Linear in the body: strings are blanked with one regular expression, everything but
    brackets is dropped with ``bytes.translate``, and the depth is a cumulative sum.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return body.count(b"[") + body.count(b"{")  # an upper bound, enough to accept
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where(np.isin(codes, _OPEN), 1, -1)
    return int(np.cumsum(steps).max())


def check_depth(body: bytes) -> None:
    """BadRequestError (400) when `body` nests deeper than `MAX_JSON_DEPTH`."""
    depth = json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(
            f"the request body nests arrays and objects {depth} levels deep; at most {MAX_JSON_DEPTH} are "
            "accepted: send the documented shape (see /schema/openapi.json), e.g. "
            '{"pair": ..., "timeframe": ..., "candles": [{"time": ..., "open": ...}, ...]}'
        )


def _strict_error(exc: msgspec.ValidationError) -> Exception:
    """The 400 (422 for a number out of range) for msgspec's "Expected `float`, got `str` - at `$.candles[0].open`"."""
    match = _PATH.match(str(exc))
    message, path = (match.group("message"), match.group("path") or "") if match else (str(exc), "")
    key = path.lstrip(".")
    index_match = _CANDLE_INDEX.match(key)
    index = int(index_match.group(1)) if index_match else None
    if message.startswith("Number out of range") and index is not None:
        return InvalidCandlesServiceError(
            f"candles[{index}]: a number is out of the range of finite floats ({key}); send finite prices",
            index=index,
        )
    expected = re.match(r"Expected `(\w+)(?: \| null)?`, got", message)
    shortest = re.match(r"Expected `array` of length >= (\d+)", message)
    hint = _SEND_INSTEAD.get(expected.group(1)) if expected else None
    if shortest:
        hint = f"send at least {shortest.group(1)} item(s)" + (" (candles)" if key == "candles" else "")
    text = f"{message}: {hint}" if hint else message
    return ValidationException(
        detail=f"Validation failed for {message}", extra=[{"message": text, "key": key, "source": "body"}]
    )


def _integral_to_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_to_int(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_to_int(item) for key, item in value.items()}
    return value


def _with_integral_floats_as_ints(body: bytes, target: type) -> Any:
    """Strict conversion after turning floats without a fraction (``60.0``) into ints, as JSON Schema counts them.

    Floats for float fields convert back exactly; a string is still not a number.
    """
    try:
        return msgspec.convert(_integral_to_int(msgspec.json.decode(body)), type=target, strict=True)
    except msgspec.ValidationError as exc:
        raise _strict_error(exc) from None


class ServiceRequest(Request[Any, Any, Any]):
    """`Request` whose `json` bounds the nesting depth and decodes strictly into the handler's Struct."""

    async def json(self) -> Any:
        if self._json is Empty:
            cached = self._connection_state.json
            self._json = cached if cached is not Empty else await self._decode()
        return self._json

    async def _decode(self) -> Any:
        body = await self.body()
        if body:
            check_depth(body)
        field = self.route_handler.parsed_data_field
        target = field.annotation if field is not None else None
        if not body or not (isinstance(target, type) and issubclass(target, msgspec.Struct)):
            return await super().json()
        try:
            value = msgspec.json.decode(body, type=target, strict=True)
        except msgspec.ValidationError as exc:
            if not _INT_GOT_FLOAT.search(str(exc)):
                raise _strict_error(exc) from None
            value = _with_integral_floats_as_ints(body, target)  # JSON Schema: 60.0 is an integer
        except msgspec.DecodeError:
            return await super().json()  # not JSON: Litestar's own error (mapped in serving.errors)
        self._connection_state.json = value
        return value
