"""Celery workers that execute the pipeline's steps: ``make worker``, and the ``workers`` part of ``make up``.

``python -m scripts.stack.workers [--workers N] [--queues default,train] [--config FILE]`` writes
the workers' YAML (the executor's config block: broker, result backend, Celery settings, from
the config's ``execution.celery`` and ``CELERY_BROKER_URL`` / ``CELERY_RESULT_BACKEND``), starts
N ``dagster-celery worker start`` processes, each in a session of its own, waits until each
answers a ping through the broker, and stops them all (SIGTERM, then SIGKILL) on Ctrl-C or
SIGTERM. ``--queues train`` makes a host serve only training steps.

A worker runs one step at a time (`assets.execution.celery_app_settings`); run one worker per
core you want busy. Every worker needs the same code and config as the Dagster processes, the
broker, the data root (a shared volume on several hosts), the Dagster instance's storage
(PostgreSQL on several hosts), the MLflow server and the training_runs database.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.stack.processes import ProcessRecord, is_running, start_process, stop_groups, tail
from scripts.stack.settings import REPO, StackError

BIN = Path(sys.executable).parent
WORKER_APP = "dagster_celery.app"
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class WorkerSpec:
    name: str  # the Celery node name is ``{name}@{host}``
    queues: tuple[str, ...]

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"


def _celery_settings(config_path: Path, env: Mapping[str, str]):
    from ml_platform.config import ConfigError, load_config
    from ml_platform.config.execution import effective_execution

    try:
        return effective_execution(load_config(config_path).execution, env).celery
    except ConfigError as exc:
        raise StackError(f"pipeline config: {exc}") from None


def queue_names(config_path: Path, kinds: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The broker queue names of the queue kinds (``default``, ``train``) in the config."""
    names = _celery_settings(config_path, os.environ if env is None else env).queues.names()
    unknown = [kind for kind in kinds if kind not in names]
    if unknown or not kinds:
        raise StackError(f"queues {','.join(kinds) or '(none)'}: choose from {', '.join(names)}")
    return tuple(names[kind] for kind in kinds)


def write_worker_yaml(config_path: Path, destination: Path, env: Mapping[str, str] | None = None) -> Path:
    """The ``-y`` file of ``dagster-celery worker start``: the executor's config block for this config."""
    from assets.execution import celery_worker_yaml

    celery = _celery_settings(config_path, os.environ if env is None else env)
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(celery_worker_yaml(celery), encoding="utf-8")
    return destination


def worker_env(config_path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: the venv's bin first on PATH (the command runs ``celery``), the config, the code."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ML_PLATFORM_CONFIG"] = str(config_path)
    env["ML_PLATFORM_EXECUTION_ENGINE"] = "celery"
    pythonpath = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{pythonpath}" if pythonpath else str(REPO)
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not env.get("DAGSTER_HOME"):
        raise StackError("DAGSTER_HOME is not set: the workers write to the Dagster instance the runs use")
    return env


def worker_command(spec: WorkerSpec, worker_yaml: Path) -> list[str]:
    """``dagster-celery worker start``, the pipeline's definitions imported before the pool forks."""
    command = [str(BIN / "dagster-celery"), "worker", "start", "-A", WORKER_APP, "-y", str(worker_yaml)]
    # One -q with the names comma-separated: dagster-celery passes each -q on as a -Q, and Celery
    # keeps only the last -Q it is given.
    return [*command, "-n", spec.name, "-i", "assets.definitions", "-l", "INFO", "-q", ",".join(spec.queues)]


def worker_specs(count: int, queues: Sequence[str], prefix: str = "worker") -> list[WorkerSpec]:
    if count < 1:
        raise StackError(f"--workers {count}: start at least one worker")
    if not NAME.match(prefix):
        raise StackError(f"worker name prefix {prefix!r}: letters, digits, '_', '.', '-'")
    return [WorkerSpec(f"{prefix}{index}", tuple(queues)) for index in range(1, count + 1)]


def prepare_instance(env: Mapping[str, str]) -> None:
    """Open the Dagster instance once, so its storage exists before workers open it concurrently.

    (Workers starting together on an empty SQLite DAGSTER_HOME race to create the same tables.)
    """
    code = "from dagster import DagsterInstance\nwith DagsterInstance.get():\n    pass\n"
    result = subprocess.run([sys.executable, "-c", code], env=dict(env), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise StackError(f"the Dagster instance in {env.get('DAGSTER_HOME')} does not load:\n{result.stderr[-2000:]}")


def start_workers(
    specs: Sequence[WorkerSpec], *, worker_yaml: Path, env: Mapping[str, str], logs_dir: Path, cwd: Path = REPO
) -> list[tuple[subprocess.Popen, ProcessRecord]]:
    """Each worker in a session of its own (its process group is what is stopped)."""
    prepare_instance(env)
    started = []
    for spec in specs:
        process, record = start_process(
            f"worker-{spec.name}",
            f"worker {spec.name} ({','.join(spec.queues)})",
            worker_command(spec, worker_yaml),
            cwd=cwd,
            env=env,
            log_path=logs_dir / f"worker-{spec.name}.log",
        )
        started.append((process, record))
    return started


def celery_app(config_path: Path, env: Mapping[str, str] | None = None):
    """A Celery client app on the config's broker (for pings)."""
    from dagster_celery.make_app import make_app

    from assets.execution import celery_executor_config

    config = celery_executor_config(_celery_settings(config_path, os.environ if env is None else env))
    return make_app({"broker": config["broker"], "backend": config["backend"]})


def wait_for_workers(
    app, specs: Sequence[WorkerSpec], processes: Sequence[subprocess.Popen], logs: Sequence[str], timeout: float
) -> None:
    """Until every worker answers a ping through the broker; StackError when one exits or the time is up."""
    waiting = {spec.node for spec in specs}
    deadline = time.monotonic() + timeout
    while waiting:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise StackError(f"a worker exited with code {process.returncode}; last lines of {log}:\n{tail(log)}")
        try:
            replies = app.control.ping(destination=sorted(waiting), timeout=1.0) or []
        except Exception as exc:  # the broker is down
            raise StackError(f"no answer from the broker: {exc}") from None
        waiting -= {node for reply in replies for node in reply}
        if waiting and time.monotonic() > deadline:
            raise StackError(f"no ping answer within {timeout:.0f} s from {', '.join(sorted(waiting))}")
        if waiting:
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.stack.workers", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="how many worker processes (default 2)")
    parser.add_argument(
        "--queues", default="default,train", help="queue kinds served, comma-separated (default default,train)"
    )
    parser.add_argument(
        "--config", type=Path, default=Path(os.environ.get("ML_PLATFORM_CONFIG") or "config/pipeline.yaml")
    )
    parser.add_argument("--state-dir", type=Path, default=REPO / ".stack" / "workers", help="worker YAML and logs")
    parser.add_argument("--name", default="worker", help="worker name prefix (node names {name}{i}@host)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the workers' pings")
    args = parser.parse_args(argv)
    try:
        config = (args.config if args.config.is_absolute() else REPO / args.config).resolve()
        kinds = [kind.strip() for kind in args.queues.split(",") if kind.strip()]
        specs = worker_specs(args.workers, queue_names(config, kinds), args.name)
        env = worker_env(config)
        state_dir = args.state_dir.resolve()
        worker_yaml = write_worker_yaml(config, state_dir / "celery.yaml")
        return _run(specs, worker_yaml, env, state_dir / "logs", config, args.timeout)
    except StackError as exc:
        print(f"workers: {exc}", file=sys.stderr, flush=True)
        return 1


def _run(
    specs: list[WorkerSpec], worker_yaml: Path, env: dict[str, str], logs_dir: Path, config: Path, timeout: float
) -> int:
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    started = start_workers(specs, worker_yaml=worker_yaml, env=env, logs_dir=logs_dir)
    records = [record for _, record in started]
    try:
        for spec, (_, record) in zip(specs, started, strict=True):
            print(f"started {spec.node:<32} queues {','.join(spec.queues):<14} pid {record.pid}  log {record.log}")
        wait_for_workers(celery_app(config), specs, [p for p, _ in started], [r.log for r in records], timeout)
        print(f"{len(specs)} worker(s) answer on the broker; Ctrl-C stops them", flush=True)
        while not stopping and any(is_running(record) for record in records):
            time.sleep(1.0)
        return 0 if stopping else 1
    except KeyboardInterrupt:
        return 0
    finally:
        for result in stop_groups(records, timeout=20.0):
            print(f"  {result.record.title:<32} pid {result.record.pid:<8} {result.outcome}", flush=True)


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------------- the workers part of `make up`


def worker_parts(settings) -> list:
    """``make up`` with ``--workers N``: N workers serving both queues, healthy once each answers a ping."""
    from scripts.stack.parts import Health, Part

    if settings.workers < 1:
        return []
    env = worker_env(settings.config_path, settings.python_env())
    worker_yaml = write_worker_yaml(settings.config_path, settings.state_dir / "celery.yaml", env)
    kinds = ["default", "train"]
    specs = worker_specs(settings.workers, queue_names(settings.config_path, kinds, env))
    app = celery_app(settings.config_path, env)

    def health(spec: WorkerSpec):
        def check() -> Health:
            try:
                replies = app.control.ping(destination=[spec.node], timeout=1.0) or []
            except Exception as exc:  # the broker is down
                return Health(False, f"broker not answering ({type(exc).__name__})")
            if any(spec.node in reply for reply in replies):
                return Health(True, f"answers on the broker, queues {','.join(spec.queues)}")
            return Health(False, "no ping answer yet")

        return check

    return [
        Part(
            f"worker-{spec.name}",
            f"Celery worker {spec.name}",
            None,
            worker_command(spec, worker_yaml),
            env,
            REPO,
            health(spec),
            spec.node,
        )
        for spec in specs
    ]


def check_broker(settings) -> None:
    """StackError naming the broker when ``make up --workers N`` cannot reach it."""
    from assets.execution import BrokerUnreachable, check_reachable

    env = worker_env(settings.config_path, settings.python_env())
    celery = _celery_settings(settings.config_path, env)
    try:
        check_reachable(celery.broker, "broker")
    except BrokerUnreachable as exc:
        raise StackError(f"{exc} (the workers need it; start Redis, e.g. `redis-server --daemonize yes`)") from None
