"""The stack's parts: the command each runs and the health check `up` waits for.

=====================  ==========================================================  ==================================
part                   command                                                     healthy when
=====================  ==========================================================  ==================================
mlflow                 ``mlflow server`` (PostgreSQL store, proxied artifacts)     ``GET /health`` is 200
dagster-webserver      ``dagster-webserver -w workspace.yaml``                     ``GET /server_info`` is 200 and the
                                                                                   code location loaded
dagster-daemon         ``dagster-daemon run -w workspace.yaml``                    every required daemon has a healthy
                                                                                   heartbeat (GraphQL ``daemonHealth``)
inference              ``python -m serving``                                       ``GET /health`` answers (200: a model
                                                                                   is loaded; 503: none yet)
web                    ``next start``                                              ``GET /api/span-annotations`` is 200
worker-workerN         ``dagster-celery worker start`` (``--workers N``)           it answers a ping through the broker
=====================  ==========================================================  ==================================
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.stack.settings import HOST, REPO, WEB, StackError, StackSettings

BIN = Path(sys.executable).parent
NEXT_BIN = WEB / "node_modules" / "next" / "dist" / "bin" / "next"


class PartFailed(RuntimeError):
    """A part answered in a way that waiting longer will not fix (e.g. its code location failed to load)."""


@dataclass(frozen=True)
class Health:
    ready: bool
    detail: str


@dataclass(frozen=True)
class Part:
    name: str
    title: str
    port: int | None  # None: listens on no port of its own
    command: list[str]
    env: dict[str, str]
    cwd: Path
    health: Callable[[], Health]
    url: str


# --------------------------------------------------------------------------- HTTP


def http(method: str, url: str, body: dict | None = None, *, timeout: float = 5.0) -> tuple[int, str] | None:
    """``(status, body)`` of a request, None when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"} if data is not None else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def graphql(base_url: str, query: str, variables: dict | None = None, *, timeout: float = 10.0) -> dict | None:
    """The ``data`` of a Dagster GraphQL query, None when the webserver does not answer (errors raise)."""
    answer = http("POST", f"{base_url}/graphql", {"query": query, "variables": variables or {}}, timeout=timeout)
    if answer is None or answer[0] >= 500:
        return None
    payload = json.loads(answer[1])
    if payload.get("errors"):
        raise PartFailed(f"GraphQL error: {payload['errors'][0].get('message')}")
    return payload["data"]


# --------------------------------------------------------------------------- health checks


def _mlflow_health(url: str) -> Callable[[], Health]:
    def check() -> Health:
        answer = http("GET", f"{url}/health")
        if answer is None:
            return Health(False, "not answering yet")
        return Health(answer[0] == 200, f"GET /health: {answer[0]}")

    return check


WORKSPACE_QUERY = """{ workspaceOrError { __typename
  ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message causes { className message } } } } }
  ... on PythonError { message } } }"""

DAEMON_QUERY = """{ instance { daemonHealth { allDaemonStatuses {
  daemonType required healthy lastHeartbeatErrors { message } } } } }"""


def _webserver_health(url: str) -> Callable[[], Health]:
    def check() -> Health:
        answer = http("GET", f"{url}/server_info")
        if answer is None or answer[0] != 200:
            return Health(False, "not answering yet")
        data = graphql(url, WORKSPACE_QUERY)
        if data is None:
            return Health(False, "GraphQL not answering yet")
        workspace = data["workspaceOrError"]
        if workspace["__typename"] == "PythonError":
            raise PartFailed(f"the workspace failed to load: {workspace['message']}")
        entries = workspace["locationEntries"]
        for entry in entries:
            location = entry["locationOrLoadError"]
            if location and location["__typename"] == "PythonError":
                causes = "".join(
                    f"\n  caused by {cause['className']}: {cause['message'].strip()}"
                    for cause in location.get("causes") or []
                )
                raise PartFailed(
                    f"code location {entry['name']!r} failed to load: {location['message'].strip()}{causes}"
                )
        loading = [entry["name"] for entry in entries if entry["loadStatus"] != "LOADED"]
        if loading or not entries:
            return Health(False, f"loading code location {', '.join(loading) or '…'}")
        return Health(True, f"code location {', '.join(entry['name'] for entry in entries)} loaded")

    return check


def _daemon_health(webserver_url: str) -> Callable[[], Health]:
    def check() -> Health:
        data = graphql(webserver_url, DAEMON_QUERY)
        if data is None:
            return Health(False, "webserver not answering")
        statuses = [status for status in data["instance"]["daemonHealth"]["allDaemonStatuses"] if status["required"]]
        waiting = [status["daemonType"] for status in statuses if not status["healthy"]]
        if waiting:
            errors = [
                error["message"].strip().splitlines()[-1]
                for status in statuses
                for error in status["lastHeartbeatErrors"]
            ]
            last_error = f" (last error: {errors[-1]})" if errors else ""
            return Health(False, f"waiting for {', '.join(waiting)}{last_error}")
        return Health(True, f"{len(statuses)} daemons healthy ({', '.join(s['daemonType'] for s in statuses)})")

    return check


def _inference_health(url: str, dagster_url: str) -> Callable[[], Health]:
    def check() -> Health:
        answer = http("GET", f"{url}/health")
        if answer is None:
            return Health(False, "not answering yet")
        status, body = answer
        if status == 200:
            return Health(True, "ready: a model is loaded")
        try:
            detail = json.loads(body).get("model", {}).get("detail", "")
        except (ValueError, AttributeError):
            detail = body[:200]
        if status == 503:
            return Health(
                True, f"no model yet ({detail}): materialize trained_model from the Dagster UI, {dagster_url}/assets"
            )
        return Health(False, f"GET /health: {status} {detail}")

    return check


def _web_health(url: str) -> Callable[[], Health]:
    def check() -> Health:
        answer = http("GET", f"{url}/api/span-annotations", timeout=10.0)
        if answer is None:
            return Health(False, "not answering yet")
        if answer[0] == 200:
            return Health(True, "ready")
        return Health(False, f"GET /api/span-annotations: {answer[0]} {answer[1][:300]}")

    return check


# --------------------------------------------------------------------------- the parts


def _executable(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise StackError(f"{path} is missing: run `make install`")
    return str(path)


def build_parts(settings: StackSettings) -> list[Part]:
    """The parts in start order (their health checks are awaited in this order too)."""
    from scripts.stack.workers import worker_parts

    ports = settings.ports
    python_env = settings.python_env()
    dagster_url = settings.http(ports.dagster)
    mlflow_url, inference_url, web_url = settings.mlflow_url, settings.http(ports.inference), settings.http(ports.web)
    node = shutil.which("node")
    if node is None:
        raise StackError("node is not on PATH: the web app needs Node 20")
    workspace = str(REPO / "workspace.yaml")
    return [
        Part(
            "mlflow",
            "MLflow server",
            ports.mlflow,
            [
                _executable("mlflow"),
                "server",
                "--backend-store-uri",
                settings.server.url(settings.databases.mlflow, "postgresql+psycopg2"),
                "--artifacts-destination",
                str(settings.artifacts_dir),
                "--serve-artifacts",
                "--host",
                HOST,
                "--port",
                str(ports.mlflow),
                "--workers",
                "1",
            ],
            python_env,
            REPO,
            _mlflow_health(mlflow_url),
            mlflow_url,
        ),
        Part(
            "dagster-webserver",
            "Dagster webserver",
            ports.dagster,
            [
                _executable("dagster-webserver"),
                "-w",
                workspace,
                "-h",
                HOST,
                "-p",
                str(ports.dagster),
            ],
            python_env,
            REPO,
            _webserver_health(dagster_url),
            dagster_url,
        ),
        Part(
            "dagster-daemon",
            "Dagster daemon",
            None,
            [
                _executable("dagster-daemon"),
                "run",
                "-w",
                workspace,
            ],
            python_env,
            REPO,
            _daemon_health(dagster_url),
            dagster_url,
        ),
        Part(
            "inference",
            "inference service",
            ports.inference,
            [
                sys.executable,
                "-m",
                "serving",
                "--host",
                HOST,
                "--port",
                str(ports.inference),
            ],
            python_env,
            REPO,
            _inference_health(inference_url, dagster_url),
            inference_url,
        ),
        Part(
            "web",
            "web app",
            ports.web,
            [
                node,
                str(NEXT_BIN),
                "start",
                "-H",
                HOST,
                "-p",
                str(ports.web),
            ],
            settings.web_env(),
            WEB,
            _web_health(web_url),
            web_url,
        ),
        *worker_parts(settings),  # --workers N: Celery workers (scripts/stack/workers.py)
    ]
