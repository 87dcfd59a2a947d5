"""The ``execution`` section and its environment overrides (no broker needed)."""

from __future__ import annotations

import pytest

from ml_platform.config import ConfigError, config_from_dict
from ml_platform.config.execution import effective_execution, redact_url


def test_in_process_is_the_default_and_the_shipped_configs_load() -> None:
    from ml_platform.config import load_config
    from tests.scale_out.conftest import ROOT

    assert config_from_dict({}).execution.engine == "in_process"
    assert load_config(ROOT / "config" / "pipeline.yaml").execution.engine == "in_process"
    assert load_config(ROOT / "deploy" / "pipeline.yaml").execution.engine == "celery"


def test_the_environment_overrides_engine_broker_and_backend() -> None:
    execution = config_from_dict({}).execution
    env = {
        "ML_PLATFORM_EXECUTION_ENGINE": "celery",
        "CELERY_BROKER_URL": "redis://broker:6379/3",
        "CELERY_RESULT_BACKEND": "redis://backend:6379/4",
    }
    effective = effective_execution(execution, env)
    assert (effective.engine, effective.celery.broker, effective.celery.backend) == (
        "celery",
        "redis://broker:6379/3",
        "redis://backend:6379/4",
    )
    assert effective_execution(execution, {}) == execution
    with pytest.raises(ConfigError, match="ML_PLATFORM_EXECUTION_ENGINE='k8s'"):
        effective_execution(execution, {"ML_PLATFORM_EXECUTION_ENGINE": "k8s"})
    with pytest.raises(ConfigError, match="CELERY_BROKER_URL"):
        effective_execution(execution, {"CELERY_BROKER_URL": "redis-host"})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"engine": "threads"}, "execution.engine"),
        ({"celery": {"queues": {"train": "has space"}}}, "execution.celery.queues.train"),
        ({"celery": {"broker": "localhost:6379"}}, "execution.celery.broker"),
        ({"celery": {"worker_lost_seconds": 0.5}}, "execution.celery.worker_lost_seconds"),
        ({"celery": {"brokr": "redis://x"}}, "execution.celery.brokr: unknown key"),
    ],
)
def test_mistakes_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config_from_dict({"execution": section})


def test_passwords_are_hidden_in_messages() -> None:
    assert redact_url("redis://:s3cret@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redact_url("redis://redis:6379/0") == "redis://redis:6379/0"
