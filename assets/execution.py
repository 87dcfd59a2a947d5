"""Where a run's steps execute: the run's own process, or Celery workers on any number of hosts.

`build_executor` reads the ``execution`` section (`ml_platform.config.execution`, with its
environment overrides) and returns Dagster's `in_process_executor` or a Celery executor
configured with the broker, the result backend and the queues. The assets say which kind of
queue their step belongs on with `queue_tags` (``dagster-celery/queue``: ``default`` for the
light steps, ``train`` for training); the executor maps the kind to the configured queue name.

On top of dagster-celery's executor, `ScaleOutCeleryExecutor`:

- checks the broker (and a separate result backend) before the first step is sent, so a run
  against a broker that is down fails at once with the broker's URL (password hidden), instead
  of after kombu's retries with a bare "connection refused";
- watches the workers running the run's steps (Celery's STARTED state names the worker; a ping
  every few seconds), and fails a step whose worker has not answered for
  ``worker_lost_seconds``: a worker killed mid-step (or a host that is gone) fails the run
  instead of leaving it waiting forever. Re-execute the run from failure to finish it on the
  remaining workers. Every asset writes through `ml_platform.storage` (temporary file, then
  rename), so the killed step leaves no half-written output.

Workers run ``dagster-celery worker start -A dagster_celery.app -y <celery.yaml>`` (the YAML is
`celery_worker_yaml`'s; ``make worker``, ``make up``, the compose ``worker`` service) with the
settings below: one step at a time per worker process, no prefetching (a worker busy training
never holds a step another worker could start), tasks acknowledged on receipt (a killed worker's
step is not redelivered to run again an hour later, after its run has been failed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import ExecutorDefinition, executor, in_process_executor, multiple_process_executor_requirements
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

from ml_platform.config import PipelineConfig
from ml_platform.config.execution import CeleryConfig, effective_execution, redact_url

QUEUE_KINDS = ("default", "train")
BROKER_CHECK_SECONDS = 5.0


def queue_tags(kind: str) -> dict[str, str]:
    """The op tags that send an asset's step to the ``kind`` queue (``default`` or ``train``)."""
    if kind not in QUEUE_KINDS:
        raise ValueError(f"queue kind {kind!r}: expected one of {', '.join(QUEUE_KINDS)}")
    return {DAGSTER_CELERY_QUEUE_TAG: kind}


def celery_app_settings(celery: CeleryConfig) -> dict[str, Any]:
    """The Celery settings the executor and every worker share (``config_source``)."""
    return {
        "task_default_queue": celery.queues.default,  # steps without a queue tag (the asset checks)
        "task_track_started": True,  # the STARTED state names the worker running a step
        "task_acks_late": False,
        "worker_prefetch_multiplier": 1,
        "worker_disable_prefetch": True,
        "worker_concurrency": 1,
        "broker_connection_retry_on_startup": True,
        "result_expires": 86400,  # the result backend's keys expire a day after the step
    }


def celery_executor_config(celery: CeleryConfig) -> dict[str, Any]:
    """The ``celery_executor`` config block: also the body of the workers' ``-y`` YAML."""
    return {"broker": celery.broker, "backend": celery.backend, "config_source": celery_app_settings(celery)}


def celery_worker_yaml(celery: CeleryConfig) -> str:
    """The YAML ``dagster-celery worker start -y`` reads: the executor's own config block."""
    import yaml

    return yaml.safe_dump({"execution": {"config": celery_executor_config(celery)}}, sort_keys=False)


class BrokerUnreachable(RuntimeError):
    """The Celery broker or result backend does not answer."""


def check_reachable(url: str, what: str, *, timeout: float = BROKER_CHECK_SECONDS) -> None:
    """Connect to `url` once; raise `BrokerUnreachable` naming the URL when that fails."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    except Exception as exc:  # kombu raises the transport's own errors
        raise BrokerUnreachable(
            f"the Celery {what} {redact_url(url)} is not reachable ({type(exc).__name__}: {exc}): start it, or "
            "point execution.celery in the pipeline config (or CELERY_BROKER_URL / CELERY_RESULT_BACKEND) "
            "at a running one"
        ) from None


class WorkerLost(RuntimeError):
    """The worker running a step stopped answering."""


class WorkerWatch:
    """Which worker runs each in-flight step, and whether it still answers pings."""

    def __init__(self, lost_after: float) -> None:
        self.lost_after = lost_after
        self.ping_every = max(1.0, min(5.0, lost_after / 4))
        self.app: Any = None
        self._last_seen: dict[str, float] = {}
        self._last_ping = 0.0

    def track(self, app: Any, result: Any, step_key: str) -> WatchedResult:
        self.app = app
        return WatchedResult(result, step_key, self)

    def worker_of(self, result: Any) -> str | None:
        """The worker's name once the step has started (Celery's STARTED state carries it)."""
        if result.state != "STARTED" or not isinstance(result.info, dict):
            return None
        return result.info.get("hostname")

    def lost(self, hostname: str) -> float | None:
        """Seconds since `hostname` last answered, when that exceeds ``lost_after``; else None."""
        now = time.monotonic()
        self._last_seen.setdefault(hostname, now)
        if now - self._last_ping >= self.ping_every:
            self._ping(now)
        silent = now - self._last_seen[hostname]
        return silent if silent > self.lost_after else None

    def _ping(self, now: float) -> None:
        self._last_ping = now
        hosts = list(self._last_seen)
        try:
            replies = self.app.control.ping(destination=hosts, timeout=1.0)
        except Exception:  # the broker itself is gone: the steps' results will say so
            return
        for reply in replies or []:
            for hostname in reply:
                if hostname in self._last_seen:
                    self._last_seen[hostname] = time.monotonic()


class WatchedResult:
    """A step's Celery `AsyncResult` that is also ready, with an error, when its worker is lost."""

    def __init__(self, result: Any, step_key: str, watch: WorkerWatch) -> None:
        self.result, self.step_key, self.watch = result, step_key, watch
        self._lost: str | None = None

    def ready(self) -> bool:
        if self.result.ready():
            return True
        hostname = self.watch.worker_of(self.result)
        if hostname is not None:
            silent = self.watch.lost(hostname)
            if silent is not None:
                self._lost = (
                    f"worker {hostname} stopped answering while running step {self.step_key} (no reply for "
                    f"{silent:.0f} s: killed, or its host is gone). Nothing it was writing was put in place. "
                    "Re-execute the run from failure to finish it on the remaining workers."
                )
                return True
        return False

    def get(self) -> Any:
        if self._lost is not None:
            raise WorkerLost(self._lost)
        return self.result.get()

    def revoke(self) -> None:
        self.result.revoke()


class ScaleOutCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor with queue kinds mapped to queue names, a broker check, a worker watch."""

    def __init__(self, *, queues: Mapping[str, str], worker_lost_seconds: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queues = dict(queues)
        self.worker_lost_seconds = worker_lost_seconds

    def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
        from dagster_celery.core_execution_loop import core_celery_execution_loop

        check_reachable(self.broker, "broker")
        if self.backend != self.broker and self.backend.startswith(("redis://", "rediss://", "amqp://", "pyamqp://")):
            check_reachable(self.backend, "result backend")
        watch = WorkerWatch(self.worker_lost_seconds)

        def submit(app: Any, context: Any, step: Any, queue: str, priority: int, known_state: Any) -> WatchedResult:
            result = _submit_task(app, context, step, self.queues.get(queue, queue), priority, known_state)
            return watch.track(app, result, step.key)

        yield from core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


def scale_out_celery_executor(celery: CeleryConfig) -> ExecutorDefinition:
    """A ``celery`` executor definition, already configured from `celery`."""

    @executor(name="celery", config_schema=CELERY_CONFIG, requirements=multiple_process_executor_requirements())
    def _celery(init_context: Any) -> ScaleOutCeleryExecutor:
        config = init_context.executor_config
        return ScaleOutCeleryExecutor(
            queues=celery.queues.names(),
            worker_lost_seconds=celery.worker_lost_seconds,
            broker=config.get("broker"),
            backend=config.get("backend"),
            config_source=config.get("config_source"),
            include=config.get("include"),
            retries=RetryMode.from_config(config["retries"]),
        )

    return _celery.configured(celery_executor_config(celery), name="celery")


def build_executor(config: PipelineConfig, env: Mapping[str, str] | None = None) -> ExecutorDefinition:
    """The executor the ``execution`` section (and ``ML_PLATFORM_EXECUTION_ENGINE``) selects."""
    execution = effective_execution(config.execution, env)
    if execution.engine == "celery":
        return scale_out_celery_executor(execution.celery)
    return in_process_executor


def worker_main(argv: list[str] | None = None) -> int:
    """``python -m assets.execution [--queues default,train] [--name NAME]``: one worker on this host.

    Writes the worker YAML for the config (``ML_PLATFORM_CONFIG``, with the environment
    overrides) under ``$DAGSTER_HOME`` and replaces itself with ``dagster-celery worker start``,
    listening on the configured queue names of the kinds given. What a container or a plain host
    runs; needs only the installed package (the compose ``worker`` service).
    """
    import argparse
    import os
    import socket
    import tempfile

    from ml_platform.config import load_config

    parser = argparse.ArgumentParser(prog="python -m assets.execution", description=worker_main.__doc__)
    parser.add_argument("--queues", default="default,train", help="queue kinds served (default default,train)")
    parser.add_argument("--name", default=f"worker-{socket.gethostname()}", help="worker name (node {name}@host)")
    args = parser.parse_args(argv)
    celery = effective_execution(load_config().execution).celery
    names = celery.queues.names()
    kinds = [kind.strip() for kind in args.queues.split(",") if kind.strip()]
    if not kinds or any(kind not in names for kind in kinds):
        parser.error(f"--queues {args.queues}: choose from {', '.join(names)}")
    home = os.environ.get("DAGSTER_HOME") or parser.error("DAGSTER_HOME is not set")
    os.makedirs(home, exist_ok=True)
    handle, worker_yaml = tempfile.mkstemp(prefix="celery-worker-", suffix=".yaml", dir=home)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(celery_worker_yaml(celery))
    queues = ",".join(names[kind] for kind in kinds)
    command = ["dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", worker_yaml]
    command += ["-n", args.name, "-i", "assets.definitions", "-l", "INFO", "-q", queues]
    print(f"worker {args.name}: queues {queues} on {redact_url(celery.broker)}", flush=True)
    os.execvp(command[0], command)
    return 1  # not reached


if __name__ == "__main__":
    raise SystemExit(worker_main())
