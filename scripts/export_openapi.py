"""The inference service's OpenAPI schema as JSON, built from the app without serving it.

    python -m scripts.export_openapi [--out PATH]

Builds the Litestar app (`serving.app.create_app`) over the default pipeline config and an
empty environment, so the schema never depends on who runs it; no server starts, no model is
loaded, no database is opened. Writes the JSON to stdout, or to PATH.

One correction to what Litestar derives: a struct field with a default is optional in its
schema, which is right for what a client sends but not for what the service answers, since
msgspec encodes every field of a struct (unless ``omit_defaults`` or ``UNSET``). So in the
schemas used only in responses every always-encoded field is listed as required. A struct used
in both directions (`Candle`) keeps the request's view.

`make api-types` turns this into web/src/types/api.gen.ts with openapi-typescript;
`make check-api-types` fails when that file no longer matches (web/scripts/api-types.mjs).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import msgspec

REF_PREFIX = "#/components/schemas/"


def _refs(node: Any) -> Iterator[str]:
    """The component names `node` references directly (``$ref``), anywhere inside it."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref.removeprefix(REF_PREFIX)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(roots: list[Any], components: dict[str, Any]) -> set[str]:
    """Every component the `roots` reference, directly or through other components."""
    seen: set[str] = set()
    todo = [name for root in roots for name in _refs(root)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components.get(name, {})))
    return seen


def _directions(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The components reachable from request parts (body, parameters) and from responses."""
    components = schema.get("components", {}).get("schemas", {})
    requests: list[Any] = []
    responses: list[Any] = []
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            requests += [operation.get("requestBody", {}), operation.get("parameters", [])]
            responses.append(operation.get("responses", {}))
    return _reachable(requests, components), _reachable(responses, components)


def _always_encoded(struct: type[msgspec.Struct]) -> list[str]:
    """The JSON names of the fields msgspec writes for every instance of `struct`."""
    if struct.__struct_config__.omit_defaults:
        return [f.encode_name for f in msgspec.structs.fields(struct) if f.required]
    return [f.encode_name for f in msgspec.structs.fields(struct) if not _may_be_unset(f.type)]


def _may_be_unset(annotation: Any) -> bool:
    """Whether a field's type admits `msgspec.UNSET` (such a field is left out when unset)."""
    return annotation is msgspec.UnsetType or any(_may_be_unset(arg) for arg in get_args(annotation))


def _response_structs() -> dict[str, type[msgspec.Struct]]:
    """The body structs of serving/schemas.py by name (the component names Litestar gives them)."""
    from serving import schemas

    return {
        name: value
        for name, value in vars(schemas).items()
        if isinstance(value, type) and issubclass(value, msgspec.Struct) and value is not schemas.Schema
    }


def require_fields_always_sent(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark as required, in response-only component schemas, every field the service always sends."""
    components = schema.get("components", {}).get("schemas", {})
    structs = _response_structs()
    requests, responses = _directions(schema)
    for name in sorted(responses - requests):
        component = components[name]
        properties = component.get("properties", {})
        if set(component.get("required", [])) == set(properties):
            continue
        if name not in structs:
            raise SystemExit(f"component {name!r} has optional properties but is not a struct of serving/schemas.py")
        component["required"] = sorted(set(properties) & set(_always_encoded(structs[name])))
    return schema


def openapi_schema() -> dict[str, Any]:
    """The app's OpenAPI document (a JSON-ready dict), with the response fields always sent required."""
    from ml_platform.config import DEFAULT_CONFIG_PATH
    from serving.app import create_app
    from serving.settings import load_settings

    app = create_app(load_settings(DEFAULT_CONFIG_PATH, env={}))
    return require_fields_always_sent(app.openapi_schema.to_schema())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(openapi_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
