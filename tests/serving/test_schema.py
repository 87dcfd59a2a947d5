"""Schemathesis against the app's own OpenAPI, every check (`--checks all`), schema-valid and schema-invalid requests.

Every operation with parameters or a body gets `MAX_EXAMPLES` schema-valid and `MAX_EXAMPLES`
schema-invalid requests, the others their one request (derandomized, so runs repeat): at least
1,000 cases in all. ``call_and_validate()`` without
``checks`` runs every built-in check (the Python API's ``--checks all``): no 5xx, documented
status codes, content types and bodies, schema-invalid data refused with a 4xx, and valid data
accepted. The one adjustment: `positive_data_acceptance` is replaced by
`valid_data_is_accepted`, which also lets a schema-valid request through with a 413/422 that
names a rule JSON Schema cannot state (high >= low, increasing times, spacing of the
timeframe, the warm-up, the per-request candle limit, start <= end), and fails on anything
else, in particular any 400 (what the schema allows, the service must parse).

The examples are drawn with Hypothesis directly rather than through schemathesis' pytest
plugin, whose lazy-fixture loader does not run under pytest 9.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ml_platform.config import load_config
from serving import Settings, create_app
from tests.serving.conftest import PAIR, TIMEFRAME

MAX_EXAMPLES = 175  # per operation with inputs and generation mode (x 2 modes): well over CASES_AT_LEAST in all
CASES_AT_LEAST = 1000

# A schema-valid request may still break a rule JSON Schema cannot express; these errors say which.
DOMAIN_REFUSALS = {
    409: {"review_queue_not_built", "nothing_to_roll_back"},  # state, not shape: no queue file yet, no earlier champion
    413: {"too_large"},  # more candles than serving.max_candles (a config value)
    422: {"invalid_candles", "not_enough_candles", "unprocessable"},
}


def _served_partition(case: schemathesis.Case) -> schemathesis.Case:
    """Half the examples ask for the partition that has a model and candles, to reach past the 404."""
    for container in (case.body, case.query):
        if isinstance(container, dict) and "pair" in container:
            container.update(pair=PAIR, timeframe=TIMEFRAME)
            if isinstance(container.get("batch_size"), int):
                container["batch_size"] = max(container["batch_size"], 100)  # keep chunk counts small
    return case


def valid_data_is_accepted(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case):
    """`positive_data_acceptance`, plus the 413/422 of `DOMAIN_REFUSALS` (with a reason) for schema-valid data."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if 200 <= status < 300 or status in (401, 404):
        return None
    if status in DOMAIN_REFUSALS:
        body = response.json()
        assert body["error"] in DOMAIN_REFUSALS[status], f"schema-valid request refused: {status} {body}"
        return None
    raise AssertionError(f"schema-valid request refused with {status}: {response.text[:500]}")


def test_api_conforms_to_its_openapi(config_file: Path, bundle_path: Path) -> None:
    app = create_app(Settings.from_config(load_config(config_file), env={}))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    cases = 0
    try:
        for operation in operations:
            has_inputs = bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))
            modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_inputs else (GenerationMode.POSITIVE,)
            for mode in modes:
                strategy = operation.as_strategy(generation_mode=mode)

                # The served partition only for valid data: it would overwrite a mutated pair in invalid data.
                served = strategy.map(_served_partition) if mode.is_positive else strategy

                @given(case=st.one_of(strategy, served))
                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                def check(case: schemathesis.Case) -> None:
                    nonlocal cases
                    cases += 1
                    case.call_and_validate(
                        excluded_checks=[positive_data_acceptance], additional_checks=[valid_data_is_accepted]
                    )

                check()
    finally:
        asgi.shutdown_lifespans()
    assert cases >= CASES_AT_LEAST
