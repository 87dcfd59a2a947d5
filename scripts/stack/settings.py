"""Where the stack lives and how its parts find each other: one typed object built from the CLI and environment.

Every option has an environment variable (read only here) and a default:

=================  =======================  ============================================
option             environment              default
=================  =======================  ============================================
--state-dir        STACK_STATE_DIR          ``.stack`` in the repository
--config           ML_PLATFORM_CONFIG       ``config/pipeline.yaml``
--postgres-url     STACK_POSTGRES_URL       ``postgresql://postgres@127.0.0.1:5432/postgres``
--dagster-db       STACK_DAGSTER_DB         ``dagster``
--mlflow-db        STACK_MLFLOW_DB          ``mlflow``
--runs-db          STACK_RUNS_DB            ``training_runs``
--annotations-db   STACK_ANNOTATIONS_DB     ``annotations``
--dagster-port     STACK_DAGSTER_PORT       3000
--mlflow-port      STACK_MLFLOW_PORT        5000
--inference-port   STACK_INFERENCE_PORT     8000
--web-port         STACK_WEB_PORT           3001
--timeout          STACK_TIMEOUT            180 (seconds per part's health check)
--web-build        STACK_WEB_BUILD          ``auto`` (build when the sources are newer than .next)
--workers          STACK_WORKERS            0 (N > 0: N Celery workers run the steps, scripts/stack/workers.py)
=================  =======================  ============================================
"""

from __future__ import annotations

import argparse
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
HOST = "127.0.0.1"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StackError(RuntimeError):
    """Something `up`/`down` cannot do; the message says what to do about it."""


@dataclass(frozen=True)
class Ports:
    dagster: int = 3000
    mlflow: int = 5000
    inference: int = 8000
    web: int = 3001


@dataclass(frozen=True)
class Databases:
    """PostgreSQL database names, created by `up` when missing."""

    dagster: str = "dagster"
    mlflow: str = "mlflow"
    training_runs: str = "training_runs"
    annotations: str = "annotations"

    def names(self) -> list[str]:
        return [self.dagster, self.mlflow, self.training_runs, self.annotations]


@dataclass(frozen=True)
class Server:
    """The PostgreSQL server (from the admin URL): where the databases live."""

    host: str
    port: int
    user: str
    password: str
    admin_database: str

    @classmethod
    def from_url(cls, url: str) -> Server:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise StackError(f"--postgres-url {url!r}: expected postgresql://user[:password]@host:port/database")
        return cls(
            host=parsed.hostname or HOST,
            port=parsed.port or 5432,
            user=urllib.parse.unquote(parsed.username or "postgres"),
            password=urllib.parse.unquote(parsed.password or ""),
            admin_database=parsed.path.lstrip("/") or "postgres",
        )

    def url(self, database: str, scheme: str = "postgresql") -> str:
        """``scheme://user[:password]@host:port/database``."""
        auth = urllib.parse.quote(self.user, safe="")
        if self.password:
            auth += ":" + urllib.parse.quote(self.password, safe="")
        return f"{scheme}://{auth}@{self.host}:{self.port}/{database}"

    def redacted(self, database: str, scheme: str = "postgresql") -> str:
        return (
            self.url(database, scheme).replace(f":{urllib.parse.quote(self.password, safe='')}@", ":***@")
            if self.password
            else self.url(database, scheme)
        )


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path
    config_path: Path
    server: Server
    databases: Databases
    ports: Ports
    timeout: float = 180.0
    web_build: str = "auto"
    workers: int = 0  # Celery workers; 0: every step in its run's process

    # ------------------------------------------------------------------ paths
    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster"

    @property
    def artifacts_dir(self) -> Path:
        return self.state_dir / "mlflow-artifacts"

    # ------------------------------------------------------------------ URLs
    def http(self, port: int) -> str:
        return f"http://{HOST}:{port}"

    @property
    def mlflow_url(self) -> str:
        return self.http(self.ports.mlflow)

    @property
    def runs_database_url(self) -> str:
        """`training_runs` for the pipeline and the service (SQLAlchemy with psycopg2)."""
        return self.server.url(self.databases.training_runs, "postgresql+psycopg2")

    # ------------------------------------------------------------------ environments
    def python_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Dagster, the MLflow server and the inference service: config, tracking server, run store, Dagster storage."""
        env = dict(os.environ if base is None else base)
        pythonpath = env.get("PYTHONPATH", "")
        env.update(
            {
                "ML_PLATFORM_CONFIG": str(self.config_path),
                "PYTHONPATH": f"{REPO}{os.pathsep}{pythonpath}" if pythonpath else str(REPO),
                "MLFLOW_TRACKING_URI": self.mlflow_url,
                "DATABASE_URL": self.runs_database_url,
                "DAGSTER_HOME": str(self.dagster_home),
                "DAGSTER_PG_HOST": self.server.host,
                "DAGSTER_PG_PORT": str(self.server.port),
                "DAGSTER_PG_USER": self.server.user,
                "DAGSTER_PG_PASSWORD": self.server.password,
                "DAGSTER_PG_DB": self.databases.dagster,
                # MLflow's job runner (GenAI evaluation jobs) is not used: no huey consumer, no /dev/shm queue
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            }
        )
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # XGBoost's OpenMP threads: see the Makefile
        if self.workers > 0:  # the runs send their steps to the workers
            env["ML_PLATFORM_EXECUTION_ENGINE"] = "celery"
        return env

    def annotations_dir(self) -> Path:
        """``data.annotations_path`` of the stack's config (absolute): where the web app writes its exports."""
        from ml_platform.config import load_config

        return load_config(self.config_path).data.annotations_dir.resolve()

    def web_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The Next.js app: the service behind its /api proxy, the annotation store (node-postgres URL) and
        ``ANNOTATIONS_EXPORT_DIR`` (the config's ``data.annotations_path``)."""
        env = dict(os.environ if base is None else base)
        env.update(
            {
                "INFERENCE_API_URL": self.http(self.ports.inference),
                "ANNOTATIONS_DATABASE_URL": self.server.url(self.databases.annotations, "postgres"),
                # every save rewrites {PAIR}_{TF}.json where the pipeline (annotations_sensor) reads it
                "ANNOTATIONS_EXPORT_DIR": str(self.annotations_dir()),
                "NEXT_TELEMETRY_DISABLED": "1",
            }
        )
        return env


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a whole number") from None


def add_options(parser: argparse.ArgumentParser, env: Mapping[str, str] | None = None) -> None:
    """The options of `up`, `down` and `status`, defaults from the environment (see the module doc)."""
    env = os.environ if env is None else env
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(env.get("STACK_STATE_DIR") or REPO / ".stack"),
        help="state file, logs, Dagster home, MLflow artifacts (STACK_STATE_DIR, default .stack)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(env.get("ML_PLATFORM_CONFIG") or "config/pipeline.yaml"),
        help="pipeline config (default ML_PLATFORM_CONFIG or config/pipeline.yaml)",
    )
    parser.add_argument(
        "--postgres-url",
        default=env.get("STACK_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="a database on the PostgreSQL server the stack uses, to create its databases from "
        f"(STACK_POSTGRES_URL, default {DEFAULT_POSTGRES_URL})",
    )
    defaults = Databases()
    for name, var, default in [
        ("dagster", "STACK_DAGSTER_DB", defaults.dagster),
        ("mlflow", "STACK_MLFLOW_DB", defaults.mlflow),
        ("runs", "STACK_RUNS_DB", defaults.training_runs),
        ("annotations", "STACK_ANNOTATIONS_DB", defaults.annotations),
    ]:
        parser.add_argument(
            f"--{name}-db", default=env.get(var) or default, help=f"database name ({var}, default {default})"
        )
    ports = Ports()
    for name, var, default in [
        ("dagster", "STACK_DAGSTER_PORT", ports.dagster),
        ("mlflow", "STACK_MLFLOW_PORT", ports.mlflow),
        ("inference", "STACK_INFERENCE_PORT", ports.inference),
        ("web", "STACK_WEB_PORT", ports.web),
    ]:
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=_env_int(env, var, default),
            help=f"port on {HOST} ({var}, default {default})",
        )
    parser.add_argument(
        "--timeout",
        type=float,
        default=_env_int(env, "STACK_TIMEOUT", 180),
        help="seconds each part may take to pass its health check (STACK_TIMEOUT, default 180)",
    )
    parser.add_argument(
        "--web-build",
        choices=["auto", "always", "never"],
        default=env.get("STACK_WEB_BUILD") or "auto",
        help="next build: when the sources are newer than web/.next (auto), always, never "
        "(STACK_WEB_BUILD, default auto)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=_env_int(env, "STACK_WORKERS", 0),
        help="Celery workers running the pipeline's steps, over the broker of execution.celery "
        "(STACK_WORKERS, default 0: steps run in their run's process)",
    )


def settings_from_args(args: argparse.Namespace) -> StackSettings:
    """Validated settings: database names are identifiers, ports distinct and in range, paths absolute."""
    databases = Databases(
        dagster=args.dagster_db, mlflow=args.mlflow_db, training_runs=args.runs_db, annotations=args.annotations_db
    )
    for name in databases.names():
        if not DB_NAME.match(name):
            raise StackError(f"database name {name!r}: use lower-case letters, digits and _ (at most 63)")
    ports = Ports(dagster=args.dagster_port, mlflow=args.mlflow_port, inference=args.inference_port, web=args.web_port)
    values = [ports.dagster, ports.mlflow, ports.inference, ports.web]
    if len(set(values)) != len(values) or not all(0 < port < 65536 for port in values):
        raise StackError(f"ports must be distinct and in 1-65535, got {ports}")
    if not 0 <= args.workers <= 32:
        raise StackError(f"--workers {args.workers}: between 0 and 32")
    config = args.config if args.config.is_absolute() else REPO / args.config
    return StackSettings(
        state_dir=args.state_dir.resolve(),
        config_path=config.resolve(),
        server=Server.from_url(args.postgres_url),
        databases=databases,
        ports=ports,
        timeout=args.timeout,
        web_build=args.web_build,
        workers=args.workers,
    )
