"""The compose stack, checked without a Docker engine: what users and the parts rely on.

- `docker-compose config` (Debian's docker-compose 1.29, apt-installed when missing; `config`
  needs no engine) accepts docker-compose.yml, and its resolved form has the six services, their
  health checks and start order, the web pointing at the inference service, one data volume
  shared by the pipeline and the service, and every setting the code reads.
- dagster.postgres.yaml loads as a real Dagster instance on the local PostgreSQL (a throwaway
  database): PostgreSQL storage through psycopg2, and a queued run coordinator that lets one run
  per pair through, using the tags Dagster puts on a run of a pair x timeframe partition.
- deploy/pipeline.yaml loads, keeps its data on the data volume, and trains like config/pipeline.yaml.
- The Dockerfiles install from the pins `make test` uses and run as a non-root user.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INSTANCE_CONFIG = ROOT / "dagster.postgres.yaml"
DEPLOY_CONFIG = ROOT / "deploy" / "pipeline.yaml"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"

SERVICES = {"postgres", "mlflow", "dagster-webserver", "dagster-daemon", "inference", "web", "redis", "worker"}
# The services that run pipeline code: the Dagster services and the Celery workers (the steps).
PIPELINE_SERVICES = ("dagster-webserver", "dagster-daemon", "worker")
# Settings docker-compose.yml reads from the environment or .env; all have defaults there.
STACK_SETTINGS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "INFERENCE_API_TOKEN", "MLFLOW_SERVER_ALLOWED_HOSTS")
PAIR_TAG = "dagster/partition/pair"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


# --------------------------------------------------------------------------- docker-compose


def _compose_version(executable: str) -> tuple[int, ...]:
    out = subprocess.run([executable, "version", "--short"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else (0, 0)


@pytest.fixture(scope="session")
def docker_compose() -> str:
    """The docker-compose executable; installed with apt-get (Debian's 1.29) when missing."""
    found = shutil.which("docker-compose")
    if found is None:
        if shutil.which("apt-get") is None:
            pytest.fail(
                "docker-compose is not installed and there is no apt-get to install it: "
                "install docker-compose 1.27 or later"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "docker-compose"]
        result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=540)
        if result.returncode != 0:  # a fresh machine may have no package lists yet
            subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env, timeout=300)
            result = subprocess.run(install, capture_output=True, text=True, env=env, timeout=540)
        found = shutil.which("docker-compose")
        if result.returncode != 0 or found is None:
            pytest.fail(
                f"could not install docker-compose with `{' '.join(install)}` (exit {result.returncode}; "
                f"it needs root and a Debian package mirror):\n{result.stderr[-2000:]}"
            )
    version = _compose_version(found)
    if version < (1, 27):
        pytest.fail(
            f"{found} is version {'.'.join(map(str, version))}: docker-compose.yml uses the Compose "
            "Specification (no `version:` key, depends_on conditions), read from docker-compose 1.27 on"
        )
    return found


def _run_compose(docker_compose: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The stack's own settings are left out of the environment, so the defaults are what is checked.
    env = {k: v for k, v in os.environ.items() if k not in STACK_SETTINGS and not k.startswith("COMPOSE_")}
    return subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def stack(docker_compose: str) -> dict[str, Any]:
    """docker-compose.yml as docker-compose resolves it: anchors merged, variables substituted."""
    result = _run_compose(docker_compose, "config")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def _service(stack: dict[str, Any], name: str) -> dict[str, Any]:
    return stack["services"][name]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Named volume -> mount path (short `name:/path[:mode]` or long syntax)."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            kind = "bind" if source.startswith(("/", ".")) else "volume"
        else:
            source, target, kind = volume.get("source"), volume["target"], volume.get("type", "volume")
        if kind == "volume":
            mounts[source] = target
    return mounts


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def test_compose_file_is_valid_and_needs_no_settings(docker_compose: str) -> None:
    result = _run_compose(docker_compose, "config", "-q")
    assert result.returncode == 0, f"docker-compose config -q failed:\n{result.stderr}"
    # Every ${VAR} has a default: the stack starts without an .env file.
    assert "is not set" not in result.stderr, result.stderr


def test_the_services(stack: dict[str, Any]) -> None:
    assert set(stack["services"]) == SERVICES


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("postgres", None),
        ("redis", None),
        ("mlflow", "/health"),
        ("dagster-webserver", "/server_info"),
        ("inference", "/health"),
        ("web", "/"),
    ],
)
def test_health_checks(stack: dict[str, Any], name: str, path: str | None) -> None:
    check = _service(stack, name).get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    test = " ".join(check["test"]) if isinstance(check["test"], list) else check["test"]
    if path is not None:
        assert f"127.0.0.1:{_published_port(stack, name)}{path}'" in test, test


def _published_port(stack: dict[str, Any], name: str) -> int:
    """The container port of the service's one published port."""
    (port,) = _service(stack, name)["ports"]
    return int(port["target"]) if isinstance(port, dict) else int(str(port).split(":")[-1].split("/")[0])


def _depends_on(stack: dict[str, Any], name: str) -> dict[str, str]:
    depends = _service(stack, name).get("depends_on") or {}
    if isinstance(depends, list):  # the short form has no conditions
        return {dependency: "service_started" for dependency in depends}
    return {dependency: spec.get("condition", "service_started") for dependency, spec in depends.items()}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mlflow", {"postgres": "service_healthy"}),
        # Every part that sends steps to the broker or takes them from it waits for its health check.
        ("dagster-webserver", {"postgres": "service_healthy", "mlflow": "service_healthy", "redis": "service_healthy"}),
        ("dagster-daemon", {"postgres": "service_healthy", "mlflow": "service_healthy", "redis": "service_healthy"}),
        ("worker", {"postgres": "service_healthy", "mlflow": "service_healthy", "redis": "service_healthy"}),
        ("inference", {"postgres": "service_healthy", "mlflow": "service_healthy"}),
        # The service is unhealthy until a model is trained; the web works without it.
        ("web", {"postgres": "service_healthy", "inference": "service_started"}),
    ],
)
def test_start_order(stack: dict[str, Any], name: str, expected: dict[str, str]) -> None:
    assert _depends_on(stack, name) == expected


def test_the_web_calls_the_inference_service(stack: dict[str, Any]) -> None:
    web = _environment(_service(stack, "web"))
    url = urllib.parse.urlsplit(web["INFERENCE_API_URL"])
    assert url.hostname == "inference"
    assert url.port == int(_option(_command(_service(stack, "inference")), "--port"))
    assert web["INFERENCE_API_TOKEN"] == _environment(_service(stack, "inference"))["INFERENCE_API_TOKEN"]
    assert int(web["PORT"]) == _published_port(stack, "web")


def test_one_data_volume_shared_by_the_pipeline_and_the_service(stack: dict[str, Any]) -> None:
    users = {name: _volume_mounts(_service(stack, name)) for name in (*PIPELINE_SERVICES, "inference")}
    shared = set.intersection(*(set(mounts) for mounts in users.values()))
    assert len(shared) == 1, f"expected one named volume mounted by {list(users)}, found {shared or 'none'}"
    (volume,) = shared
    assert volume in stack["volumes"]
    assert {mounts[volume] for mounts in users.values()} == {"/data"}


def _database(url: str) -> tuple[str, str, str]:
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme, parsed.hostname or "", parsed.path.lstrip("/")


def test_every_setting_the_code_reads_is_set(stack: dict[str, Any]) -> None:
    from ml_platform.config import CONFIG_ENV_VAR
    from ml_platform.db import DATABASE_URL_ENV
    from ml_platform.training.tracking import TRACKING_URI_ENV
    from serving.settings import TOKEN_ENV_VAR

    python = {CONFIG_ENV_VAR, DATABASE_URL_ENV, TRACKING_URI_ENV}
    instance_settings = _env_names(yaml.safe_load(INSTANCE_CONFIG.read_text()))
    for name in PIPELINE_SERVICES:
        missing = (python | instance_settings | {"DAGSTER_HOME"}) - set(_environment(_service(stack, name)))
        assert not missing, f"{name} lacks {sorted(missing)}"
    missing = (python | {TOKEN_ENV_VAR}) - set(_environment(_service(stack, "inference")))
    assert not missing, f"inference lacks {sorted(missing)}"
    web_settings = {
        line.split("=", 1)[0]
        for line in (ROOT / "web" / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z_]+=", line)
    }
    missing = (web_settings | {"PORT"}) - set(_environment(_service(stack, "web")))
    assert not missing, f"web lacks {sorted(missing)}"


def _env_names(node: Any) -> set[str]:
    """The `env: NAME` values of a Dagster instance config."""
    if isinstance(node, dict):
        names = {node["env"]} if set(node) == {"env"} else set()
        return names.union(*(_env_names(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_env_names(value) for value in node))
    return set()


def test_databases_and_urls(stack: dict[str, Any]) -> None:
    created = set(re.findall(r"^CREATE DATABASE (\w+);", INIT_SQL.read_text(), flags=re.MULTILINE))
    used = {}
    for name in (*PIPELINE_SERVICES, "inference"):
        env = _environment(_service(stack, name))
        used[f"{name} DATABASE_URL"] = _database(env["DATABASE_URL"])
        assert env["MLFLOW_TRACKING_URI"] == f"http://mlflow:{_published_port(stack, 'mlflow')}"
        if name in PIPELINE_SERVICES:
            assert (env["DAGSTER_PG_HOST"], env["DAGSTER_PG_PORT"]) == ("postgres", "5432")
            used[f"{name} DAGSTER_PG_DB"] = ("postgresql+psycopg2", "postgres", env["DAGSTER_PG_DB"])
    used["web ANNOTATIONS_DATABASE_URL"] = _database(_environment(_service(stack, "web"))["ANNOTATIONS_DATABASE_URL"])
    used["mlflow --backend-store-uri"] = _database(_option(_command(_service(stack, "mlflow")), "--backend-store-uri"))

    # SQLAlchemy (Python) needs the psycopg2 driver named; node-postgres takes postgres://.
    for what, (scheme, host, database) in used.items():
        expected_scheme = "postgres" if what.startswith("web") else "postgresql+psycopg2"
        assert (scheme, host) == (expected_scheme, "postgres"), f"{what}: {scheme}://{host}"
        assert database in created, f"{what}: database {database!r} is not created by {INIT_SQL.name}"
    assert {database for _, _, database in used.values()} == created


def test_mlflow_serves_artifacts_from_its_volume(stack: dict[str, Any]) -> None:
    mlflow = _service(stack, "mlflow")
    command = _command(mlflow)
    assert "--serve-artifacts" in command
    assert _option(command, "--artifacts-destination") in _volume_mounts(mlflow).values()
    assert _option(command, "--host") == "0.0.0.0"
    # MLflow 3 answers only allowed Host headers: the other services call it as mlflow:<port>.
    allowed = _environment(mlflow)["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert f"mlflow:{_published_port(stack, 'mlflow')}" in allowed


def test_the_stack_uses_the_images_targets(stack: dict[str, Any]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = set(re.findall(r"^FROM \S+ AS (\S+)", dockerfile, flags=re.MULTILINE | re.IGNORECASE))
    for name in ("mlflow", *PIPELINE_SERVICES):
        assert _service(stack, name)["build"]["target"] == "pipeline"
    assert _service(stack, "inference")["build"]["target"] == "service"
    assert {"pipeline", "service"} <= targets
    assert Path(_service(stack, "web")["build"]["context"]).resolve() == ROOT / "web"
    # The Dagster instance the pipeline image bakes in is where DAGSTER_HOME points.
    home = _environment(_service(stack, "dagster-daemon"))["DAGSTER_HOME"]
    assert re.search(
        rf"^COPY .*dagster\.postgres\.yaml {re.escape(home)}/dagster\.yaml$", dockerfile, flags=re.MULTILINE
    )
    config = _environment(_service(stack, "inference"))["ML_PLATFORM_CONFIG"]
    assert re.search(rf"^COPY deploy/pipeline\.yaml {re.escape(config)}$", dockerfile, flags=re.MULTILINE)


def test_workers_scale_and_use_the_stacks_broker(stack: dict[str, Any]) -> None:
    """`--scale worker=N` works (no fixed name or port), and the workers serve the deployed queues."""
    from ml_platform.config import load_config

    worker = _service(stack, "worker")
    assert "container_name" not in worker and not worker.get("ports"), "a fixed name or port prevents --scale"
    command = _command(worker)
    assert command[:3] == ["python", "-m", "assets.execution"], command
    execution = load_config(DEPLOY_CONFIG).execution
    assert execution.engine == "celery"
    kinds = _option(command, "--queues").split(",")
    assert set(kinds) == set(execution.celery.queues.names()), "the workers serve every queue kind"
    for url in (execution.celery.broker, execution.celery.backend):
        assert urllib.parse.urlsplit(url).hostname == "redis", url
    redis_check = " ".join(_service(stack, "redis")["healthcheck"]["test"])
    assert "redis-cli ping" in redis_check


# --------------------------------------------------------------------------- Dockerfiles


def _instructions(path: Path) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    return [
        " ".join(part.strip() for part in chunk.split("\\\n"))
        for chunk in re.split(r"(?<!\\)\n", "\n".join(lines))
        if chunk.strip()
    ]


def test_python_images_install_from_the_pins() -> None:
    instructions = _instructions(ROOT / "Dockerfile")
    assert instructions[0].startswith("FROM python:3.11-slim")
    installs = [
        part.strip()
        for line in instructions
        if line.startswith("RUN")
        for part in line[3:].split("&&")
        if re.match(r"(python -m )?pip install", part.strip())
    ]
    assert installs, "no pip install in the Dockerfile"
    for command in installs:
        assert "-c constraints.txt" in command, f"not constrained by constraints.txt: {command}"
    assert any(command.endswith(" .") for command in installs), "the project itself is never installed"
    # Non-root in every image that runs.
    for target in ("pipeline", "service"):
        stage = _stage(instructions, target)
        users = [line.split()[1] for line in stage if line.startswith("USER")]
        assert users and users[-1] not in ("root", "0"), f"the {target} image runs as root"


def _stage(instructions: list[str], target: str) -> list[str]:
    start = next(i for i, line in enumerate(instructions) if re.match(rf"FROM \S+ AS {target}$", line, re.IGNORECASE))
    later = (i for i in range(start + 1, len(instructions)) if instructions[i].startswith("FROM"))
    end = next(later, len(instructions))
    return instructions[start:end]


def test_web_image_builds_with_npm() -> None:
    instructions = _instructions(ROOT / "web" / "Dockerfile")
    assert instructions[0].startswith("FROM node:20")
    text = "\n".join(instructions)
    assert "npm ci" in text and "npm run build" in text
    assert [line for line in instructions if line.startswith("USER")][-1] != "USER root"
    assert "type" not in json.loads((ROOT / "web" / "package.json").read_text()), (
        'web/package.json must have no "type" field'
    )


@pytest.mark.parametrize(
    ("ignore_file", "dockerfile", "must_ignore"),
    [
        (".dockerignore", "Dockerfile", [".venv", "data", ".dagster", ".git", "web/node_modules", "web/.next"]),
        ("web/.dockerignore", "web/Dockerfile", ["node_modules", ".next", ".data"]),
    ],
)
def test_dockerignore(ignore_file: str, dockerfile: str, must_ignore: list[str]) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ignore_file).read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        return any(
            fnmatch.fnmatch("/".join(parts[:n]), pattern.removeprefix("**/"))
            or fnmatch.fnmatch(parts[n - 1], pattern.removeprefix("**/"))
            for pattern in patterns
            for n in range(1, len(parts) + 1)
        )

    for path in must_ignore:
        assert ignored(path), f"{ignore_file} does not exclude {path}"
    # Everything the Dockerfile copies from the build context stays in it.
    copied = [
        source
        for line in _instructions(ROOT / dockerfile)
        if line.startswith("COPY") and "--from=" not in line
        for source in line.split()[1:-1]
        if not source.startswith("--")
    ]
    assert copied
    for source in copied:
        assert not ignored(source), f"{dockerfile} copies {source}, which {ignore_file} excludes"


# --------------------------------------------------------------------------- deploy/pipeline.yaml


def test_the_stack_pipeline_config(stack: dict[str, Any]) -> None:
    from ml_platform.config import load_config

    deployed, shipped = load_config(DEPLOY_CONFIG), load_config(ROOT / "config" / "pipeline.yaml")
    data_volume_path = "/data/"
    for field in ("raw_path", "raw_store", "enriched_path", "labeled_path", "models_path", "annotations_path"):
        assert getattr(deployed.data, field).startswith(data_volume_path), f"data.{field} is not on the data volume"
    assert deployed.dvc.remote_path.startswith(data_volume_path)
    assert urllib.parse.urlsplit(deployed.mlflow.tracking_uri).hostname == "mlflow"
    assert deployed.mlflow.artifact_location == "", "artifacts go through the MLflow server"
    assert _database(deployed.database.url) == ("postgresql+psycopg2", "postgres", "training_runs")
    assert deployed.serving.host == "0.0.0.0"
    # The stack trains the same models as `make demo`.
    for section in ("features", "labeling", "training"):
        assert getattr(deployed, section) == getattr(shipped, section), (
            f"deploy/pipeline.yaml's {section} differs from config/pipeline.yaml's: copy the section"
        )
    assert deployed.data.validation == shipped.data.validation


# --------------------------------------------------------------------------- the Dagster instance


@pytest.fixture
def dagster_database() -> Iterator[dict[str, str]]:
    """A throwaway database on the local PostgreSQL, as the DAGSTER_PG_* settings that reach it."""
    import psycopg2

    server = urllib.parse.urlsplit(POSTGRES_URL)
    connect = {
        "host": server.hostname,
        "port": server.port or 5432,
        "user": server.username or "postgres",
        "password": urllib.parse.unquote(server.password or ""),
        "dbname": "postgres",
        "connect_timeout": 5,
    }
    name = f"dagster_compose_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(**connect)
    admin.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield {
            "DAGSTER_PG_HOST": connect["host"],
            "DAGSTER_PG_PORT": str(connect["port"]),
            "DAGSTER_PG_USER": connect["user"],
            "DAGSTER_PG_PASSWORD": connect["password"],  # may be empty
            "DAGSTER_PG_DB": name,
        }
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_instance_config_runs_on_postgres_with_one_run_per_pair(
    dagster_database: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._utils.tags import TagConcurrencyLimitsCounter
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from assets.partitions import build_partitions
    from ml_platform.config import load_config

    for key, value in dagster_database.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copy(INSTANCE_CONFIG, tmp_path / "dagster.yaml")

    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://")
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": PAIR_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits

        # Runs of the stack's partitions carry the tags Dagster gives a partition key. With a
        # EURUSD run in progress (stored, and read back as the daemon does), the queue holds back
        # the next EURUSD run but not a GBPUSD one.
        partitions = build_partitions(load_config(DEPLOY_CONFIG))

        def run(key: str, status: DagsterRunStatus) -> DagsterRun:
            return DagsterRun(
                job_name="retrain_job",
                run_id=str(uuid.uuid4()),
                status=status,
                tags=dict(partitions.get_tags_for_partition_key(key)),
            )

        running = instance.add_run(run("EURUSD|1h", DagsterRunStatus.STARTED))
        assert running.tags[PAIR_TAG] == "EURUSD"
        in_progress = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        assert [r.run_id for r in in_progress] == [running.run_id]
        counter = TagConcurrencyLimitsCounter(limits, list(in_progress))
        assert counter.is_blocked(run("EURUSD|4h", DagsterRunStatus.NOT_STARTED))
        assert not counter.is_blocked(run("GBPUSD|1h", DagsterRunStatus.NOT_STARTED))
    finally:
        instance.dispose()
