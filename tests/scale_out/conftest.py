"""Real Redis, real PostgreSQL, real worker processes: the fixtures of the scale-out tests.

Isolation from other test sessions on the same machine: a Redis database of its own (the first
empty one of 1-15, claimed with a SET NX key and flushed at the end), queue names with a
per-session prefix, throwaway PostgreSQL databases for the Dagster instance and training_runs,
and worker process groups killed in the finalizers (SIGTERM, then SIGKILL).

Layout: the *shared* data root (what NFS / a ReadWriteMany volume holds in a deployment), a
*launcher* folder (its DAGSTER_HOME and config: where runs are started) and a *worker* folder
(the workers' working directory, DAGSTER_HOME and their own copy of the config). The workers
share nothing with the launcher but the data root and the databases.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
PAIRS, TIMEFRAMES = ["EURUSD", "GBPUSD"], ["1h", "4h"]
CANDLES = 3000
LOCK_KEY = "scale-out-tests:lock"


@pytest.fixture(scope="session")
def session_id() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def redis_db(session_id: str) -> Iterator[int]:
    """A Redis database of this session's own, emptied at the end."""
    import redis

    claimed = None
    try:
        for db in range(1, 16):
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db, socket_timeout=5)
            if client.dbsize() == 0 and client.set(LOCK_KEY, session_id, nx=True):
                claimed = client
                break
            client.close()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_HOST}:{REDIS_PORT} does not answer ({exc}): the scale-out tests need it")
    if claimed is None:
        pytest.fail("no empty Redis database in 1-15 for this session")
    try:
        yield claimed.connection_pool.connection_kwargs["db"]
    finally:
        claimed.flushdb()
        claimed.close()


def _postgres_admin():
    import psycopg2

    server = urllib.parse.urlsplit(POSTGRES_URL)
    connect = {
        "host": server.hostname,
        "port": server.port or 5432,
        "user": urllib.parse.unquote(server.username or "postgres"),
        "password": urllib.parse.unquote(server.password or ""),
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    admin = psycopg2.connect(**connect)
    admin.autocommit = True
    return admin, connect


@pytest.fixture(scope="session")
def databases(session_id: str) -> Iterator[dict[str, str]]:
    """Throwaway PostgreSQL databases: the Dagster instance's (DAGSTER_PG_* settings) and training_runs (URL)."""
    admin, connect = _postgres_admin()
    names = {"dagster": f"scale_out_dagster_{session_id}", "runs": f"scale_out_runs_{session_id}"}
    try:
        with admin.cursor() as cursor:
            for name in names.values():
                cursor.execute(f'CREATE DATABASE "{name}"')
        auth = urllib.parse.quote(connect["user"], safe="")
        if connect["password"]:
            auth += ":" + urllib.parse.quote(connect["password"], safe="")
        yield {
            "DAGSTER_PG_HOST": connect["host"],
            "DAGSTER_PG_PORT": str(connect["port"]),
            "DAGSTER_PG_USER": connect["user"],
            "DAGSTER_PG_PASSWORD": connect["password"],
            "DAGSTER_PG_DB": names["dagster"],
            "DATABASE_URL": f"postgresql+psycopg2://{auth}@{connect['host']}:{connect['port']}/{names['runs']}",
        }
    finally:
        with admin.cursor() as cursor:
            for name in names.values():
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@dataclass
class Site:
    """One side of the deployment: a folder with its DAGSTER_HOME, config and environment."""

    folder: Path
    config: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class ScaleOut:
    shared: Path  # the data root: the only folder launcher and workers share
    launcher: Site
    worker: Site
    redis_db: int
    prefix: str  # queue and worker name prefix of this session

    def config_for(self, site: Site, *, queues: str = "", lost: float = 6.0) -> Path:
        """A config at `site` with this session's broker and queue names (`queues`: a suffix for a second set)."""
        broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.redis_db}"
        name = f"{self.prefix}{queues}"
        write_config(
            self.shared,
            {
                "partitions": {"pairs": PAIRS, "timeframes": TIMEFRAMES},
                "execution": {
                    "engine": "celery",
                    "celery": {
                        "broker": broker,
                        "backend": broker,
                        "queues": {"default": f"{name}-default", "train": f"{name}-train"},
                        "worker_lost_seconds": lost,
                    },
                },
                "mlflow": {"register": False},
            },
        )
        destination = site.folder / f"pipeline{queues}.yaml"
        shutil.move(self.shared / "pipeline.yaml", destination)
        return destination


def _site_env(folder: Path, config: Path, databases: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "ML_PLATFORM_", "DAGSTER_"))}
    env.update(databases)
    env.update(
        {
            "DAGSTER_HOME": str(folder / "home"),
            "ML_PLATFORM_CONFIG": str(config),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "OMP_WAIT_POLICY": "PASSIVE",
            "MLFLOW_TRACKING_URI": f"sqlite:///{folder.parent / 'shared' / 'mlflow.db'}",
        }
    )
    (folder / "home").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.postgres.yaml", folder / "home" / "dagster.yaml")
    return env


@pytest.fixture(scope="session")
def scale_out(
    tmp_path_factory: pytest.TempPathFactory, redis_db: int, databases: dict[str, str], session_id: str
) -> ScaleOut:
    """The shared data root with sample data for 4 partitions, the launcher's and the workers' folders."""
    base = tmp_path_factory.mktemp("scale_out")
    shared, launcher, worker = base / "shared", base / "launcher", base / "worker"
    for folder in (shared, launcher, worker):
        folder.mkdir()
    setup = ScaleOut(shared, Site(launcher, launcher), Site(worker, worker), redis_db, f"so{session_id}")
    for site in (setup.launcher, setup.worker):
        site.config = setup.config_for(site)
        site.env = _site_env(site.folder, site.config, databases)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ml_platform.sample_data",
            "--config",
            str(setup.launcher.config),
            "--candles",
            str(CANDLES),
        ],
        env=setup.launcher.env,
        cwd=launcher,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return setup


@dataclass
class Workers:
    nodes: list[str]
    records: list
    logs: list[str]

    def log_text(self) -> str:
        return "\n".join(Path(log).read_text(errors="replace")[-4000:] for log in self.logs)


@pytest.fixture
def start_workers(scale_out: ScaleOut) -> Iterator[Callable[..., Workers]]:
    """Start named workers in the worker folder (each its own process group); all stopped at teardown."""
    from scripts.stack.processes import stop_groups
    from scripts.stack.workers import (
        WorkerSpec,
        celery_app,
        queue_names,
        start_workers,
        wait_for_workers,
        write_worker_yaml,
    )

    started: list = []

    def start(names_and_kinds: dict[str, list[str]], *, config: Path | None = None) -> Workers:
        config = config or scale_out.worker.config
        env = {**scale_out.worker.env, "ML_PLATFORM_CONFIG": str(config)}
        worker_yaml = write_worker_yaml(config, scale_out.worker.folder / f"celery-{config.stem}.yaml", env)
        specs = [
            WorkerSpec(f"{scale_out.prefix}-{name}", queue_names(config, kinds, env))
            for name, kinds in names_and_kinds.items()
        ]
        pairs = start_workers(
            specs,
            worker_yaml=worker_yaml,
            env=env,
            logs_dir=scale_out.worker.folder / "logs",
            cwd=scale_out.worker.folder,
        )
        records = [record for _, record in pairs]
        started.extend(records)
        workers = Workers([spec.node for spec in specs], records, [record.log for record in records])
        try:
            wait_for_workers(celery_app(config, env), specs, [p for p, _ in pairs], workers.logs, timeout=180)
        except Exception as exc:
            pytest.fail(f"the workers did not start: {exc}")
        return workers

    yield start
    results = stop_groups(started, timeout=15.0)
    left = [result.record.title for result in results if result.outcome.startswith("still")]
    assert not left, f"workers left running: {left}"


def materialize(
    site: Site, partition: str, *, selection: str = "*", env: dict[str, str] | None = None, config: Path | None = None
) -> subprocess.Popen:
    """``dagster asset materialize`` of one partition, started from the launcher's folder (not waited for)."""
    run_env = {**site.env, **(env or {})}
    if config is not None:
        run_env["ML_PLATFORM_CONFIG"] = str(config)
    return subprocess.Popen(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "assets.definitions",
            "--select",
            selection,
            "--partition",
            partition,
        ],
        cwd=site.folder,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@contextmanager
def dagster_instance(env: Mapping[str, str]) -> Iterator:
    """The Dagster instance of `env` (its ``DAGSTER_*`` variables: home, PostgreSQL), opened in this process."""
    from dagster import DagsterInstance

    keys = [k for k in env if k.startswith("DAGSTER_")]
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys})
    try:
        with DagsterInstance.get() as instance:
            yield instance
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def step_workers(instance, run_id: str) -> dict[str, str]:
    """Step key -> the Celery worker that executed it (dagster-celery's "in celery worker" engine events)."""
    found = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event and event.event_type_value == "ENGINE_EVENT" and "in celery worker" in (record.message or ""):
            found[event.step_key] = event.engine_event_data.metadata["Celery worker"].value
    return found


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.3) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
