"""Schemathesis against the app's own OpenAPI: no 5xx, answers that match the documented schemas.

Every operation gets `MAX_EXAMPLES` generated requests (derandomized, so runs repeat).
The examples are drawn with Hypothesis directly rather than through schemathesis' pytest
plugin, whose lazy-fixture loader does not run under pytest 9.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ml_platform.config import load_config
from serving import Settings, create_app
from tests.serving.conftest import PAIR, TIMEFRAME

MAX_EXAMPLES = 30  # per operation: bounded, the suite stays quick
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _served_partition(case: schemathesis.Case) -> schemathesis.Case:
    """Half the examples ask for the partition that has a model and candles, to reach past the 404."""
    for container in (case.body, case.query):
        if isinstance(container, dict) and "pair" in container:
            container.update(pair=PAIR, timeframe=TIMEFRAME)
            if isinstance(container.get("batch_size"), int):
                container["batch_size"] = max(container["batch_size"], 100)  # keep chunk counts small
    return case


def test_api_conforms_to_its_openapi(config_file: Path, bundle_path: Path) -> None:
    app = create_app(Settings.from_config(load_config(config_file), env={}))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    try:
        for operation in operations:
            strategy = operation.as_strategy()

            @given(case=st.one_of(strategy, strategy.map(_served_partition)))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS)

            check()
    finally:
        asgi.shutdown_lifespans()
