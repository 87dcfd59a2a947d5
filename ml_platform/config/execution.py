"""The ``execution`` section: where the steps of a run execute (one process, or Celery workers).

``engine: in_process`` (the default, what ``make demo`` uses) runs every step of a run in
the run's own process. ``engine: celery`` sends each step to a Celery queue on the broker;
``dagster-celery worker start`` processes on any number of hosts take them from there
(`assets.execution`, DEPLOYMENT.md "Scaling out").

Three environment variables override the file, so one config serves a laptop and a cluster:
``ML_PLATFORM_EXECUTION_ENGINE`` (``in_process`` | ``celery``), and Celery's own
``CELERY_BROKER_URL`` and ``CELERY_RESULT_BACKEND``, which Celery itself also gives
precedence over any configured URL.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from ml_platform.config.base import ConfigError, Section

ENGINE_ENV_VAR = "ML_PLATFORM_EXECUTION_ENGINE"
BROKER_ENV_VAR = "CELERY_BROKER_URL"
BACKEND_ENV_VAR = "CELERY_RESULT_BACKEND"

Engine = Literal["in_process", "celery"]
ENGINES: tuple[str, ...] = ("in_process", "celery")
QueueName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
BrokerUrl = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9+]*://")]


class CeleryQueues(Section, frozen=True):
    """Broker queue names per kind of step (the assets' ``dagster-celery/queue`` tags name the kind).

    default : the light steps: raw_candles, enriched_features, annotations, labeled_windows, checks
    train : trained_model, CPU-heavy; a big host can serve this queue alone
    """

    default: QueueName = "default"
    train: QueueName = "train"

    def names(self) -> dict[str, str]:
        """Kind -> queue name."""
        return {"default": self.default, "train": self.train}


class CeleryConfig(Section, frozen=True):
    """The broker, the result backend, the queues, and when a silent worker counts as lost."""

    broker: BrokerUrl = "redis://127.0.0.1:6379/0"
    backend: BrokerUrl = "redis://127.0.0.1:6379/0"
    queues: CeleryQueues = CeleryQueues()
    # A step whose worker answers no ping for this long fails the run (the worker was killed or
    # its host is gone); re-execute the run from failure to finish on the remaining workers.
    worker_lost_seconds: Annotated[float, msgspec.Meta(ge=2)] = 15.0


class ExecutionConfig(Section, frozen=True):
    """``engine`` selects the executor; ``celery`` configures it when the engine is ``celery``."""

    engine: Engine = "in_process"
    celery: CeleryConfig = CeleryConfig()


def effective_execution(execution: ExecutionConfig, env: Mapping[str, str] | None = None) -> ExecutionConfig:
    """`execution` with ``ML_PLATFORM_EXECUTION_ENGINE``, ``CELERY_BROKER_URL``, ``CELERY_RESULT_BACKEND`` applied.

    Raises
    ------
    ConfigError
        When the engine variable names no engine, or a URL variable is no URL.
    """
    env = os.environ if env is None else env
    engine = env.get(ENGINE_ENV_VAR, "").strip() or execution.engine
    if engine not in ENGINES:
        raise ConfigError(f"{ENGINE_ENV_VAR}={engine!r}: expected one of {', '.join(ENGINES)}")
    celery = execution.celery
    overrides = {}
    for field, var in (("broker", BROKER_ENV_VAR), ("backend", BACKEND_ENV_VAR)):
        value = env.get(var, "").strip()
        if value:
            if "://" not in value:
                raise ConfigError(f"{var}={redact_url(value)!r}: expected a URL such as redis://host:6379/0")
            overrides[field] = value
    if overrides:
        celery = msgspec.structs.replace(celery, **overrides)
    return msgspec.structs.replace(execution, engine=engine, celery=celery)


def redact_url(url: str) -> str:
    """`url` with its password replaced by ``***`` (for messages and logs)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
