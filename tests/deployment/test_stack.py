"""`make up` / `make down` (scripts/stack): the platform as local processes.

The slow test runs the real thing: `python -m scripts.stack up` on a one-partition project
with throwaway PostgreSQL databases and free ports, a materialization launched the way the
Dagster UI's Materialize button launches it (queued, started by the daemon), the model in
the MLflow server's registry, a prediction through the web app's proxy, then `down`. The
fast tests cover the refusals and the process-group bookkeeping.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from ml_platform.config import load_config
from ml_platform.training.tracking import artifact_location
from scripts.e2e_fixture import fixture_config
from scripts.stack.__main__ import main as stack_main
from scripts.stack.parts import http
from scripts.stack.postgres import drop_databases
from scripts.stack.processes import (
    ProcessRecord,
    StateFile,
    group_members,
    port_taken,
    records_to_json,
    start_process,
    start_time,
    stop_groups,
)
from scripts.stack.settings import REPO, Server, StackSettings, add_options, settings_from_args

POSTGRES_URL = os.environ.get("STACK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PAIR, TIMEFRAME = "EURUSD", "1h"
PARTITION = f"{PAIR}|{TIMEFRAME}"
ASSETS = ["raw_candles", "enriched_features", "annotations", "labeled_windows", "trained_model"]
ASSET_JOB = "__ASSET_JOB"  # the hidden job of every asset, which the UI's Materialize button launches
# The stack sets these for its parts; the execution variables would override the test's config.
STACK_SETS = (
    "DATABASE_URL",
    "MLFLOW_TRACKING_URI",
    "DAGSTER_HOME",
    "ML_PLATFORM_EXECUTION_ENGINE",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


# --------------------------------------------------------------------------- HTTP and GraphQL


def request(method: str, url: str, body: dict | None = None, *, timeout: float = 30.0) -> tuple[int, dict | str]:
    """`http` of the stack's health checks, failing when nothing answers; JSON answers decoded."""
    answer = http(method, url, body, timeout=timeout)
    assert answer is not None, f"{method} {url}: nothing answers"
    status, text = answer
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def graphql(dagster_url: str, query: str, variables: dict | None = None) -> dict:
    status, payload = request("POST", f"{dagster_url}/graphql", {"query": query, "variables": variables or {}})
    assert status == 200 and isinstance(payload, dict) and not payload.get("errors"), payload
    return payload["data"]


ASSET_NODES_QUERY = """query LaunchAssetLoaderQuery($assetKeys: [AssetKeyInput!]!) {
  assetNodes(assetKeys: $assetKeys) { assetKey { path } jobNames
    repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name jobNames } } } } }"""

PARTITION_TAGS_QUERY = """query ConfigPartitionSelectionQuery($repositorySelector: RepositorySelector!,
    $partitionSetName: String!, $partitionName: String!) {
  partitionSetOrError(repositorySelector: $repositorySelector, partitionSetName: $partitionSetName) {
    __typename ... on PartitionSet { partition(partitionName: $partitionName) { name mode
      tagsOrError { __typename ... on PartitionTags { results { key value } } ... on PythonError { message } }
      runConfigOrError { __typename ... on PartitionRunConfig { yaml } ... on PythonError { message } } } } } }"""

LAUNCH_MUTATION = """mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) { __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConfigValidationInvalid { errors { message } } } }"""

RUN_QUERY = """query RunQuery($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { status tags { key value } } } }"""

RUN_EVENTS_QUERY = """query RunEvents($runId: ID!) { logsForRun(runId: $runId, limit: 5000) { __typename
  ... on EventConnection { events { __typename
    ... on MessageEvent { message level }
    ... on ExecutionStepFailureEvent { error { message stack } }
    ... on RunFailureEvent { error { message } } } } } }"""


def launch_like_the_ui(dagster_url: str, assets: list[str], partition: str) -> str:
    """Materialize `assets` for one partition as the UI's Materialize button does ("Launch 1 run").

    Like LaunchAssetExecutionButton and LaunchAssetChoosePartitionsDialog: the assets' common
    job (``__ASSET_JOB``), the partition's tags from the partition set
    (``dagster/partition`` and one ``dagster/partition/<dimension>`` per dimension), the
    assets' checks, then ``launchPipelineExecution``. With the QueuedRunCoordinator the run
    is QUEUED and the daemon starts it. Returns the run id.
    """
    nodes = graphql(dagster_url, ASSET_NODES_QUERY, {"assetKeys": [{"path": [key]} for key in assets]})["assetNodes"]
    assert len(nodes) == len(assets) and all(ASSET_JOB in node["jobNames"] for node in nodes), nodes
    repository = {
        "repositoryLocationName": nodes[0]["repository"]["location"]["name"],
        "repositoryName": nodes[0]["repository"]["name"],
    }
    partition_set = graphql(
        dagster_url,
        PARTITION_TAGS_QUERY,
        {
            "repositorySelector": repository,
            "partitionSetName": f"{ASSET_JOB}_partition_set",
            "partitionName": partition,
        },
    )["partitionSetOrError"]
    assert partition_set["__typename"] == "PartitionSet", partition_set
    tags = partition_set["partition"]["tagsOrError"]["results"]
    checks = [
        {"assetKey": {"path": node["assetKey"]["path"]}, "name": check["name"]}
        for node in nodes
        for check in node["assetChecksOrError"]["checks"]
        if ASSET_JOB in check["jobNames"]
    ]
    params = {
        "mode": partition_set["partition"]["mode"],
        "runConfigData": partition_set["partition"]["runConfigOrError"]["yaml"],
        "executionMetadata": {"tags": tags},
        "selector": {
            **repository,
            "pipelineName": ASSET_JOB,
            "assetSelection": [node["assetKey"] for node in nodes],
            "assetCheckSelection": checks,
        },
    }
    launched = graphql(dagster_url, LAUNCH_MUTATION, {"executionParams": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    assert launched["run"]["status"] == "QUEUED", launched  # the webserver only enqueues; the daemon starts it
    return launched["run"]["runId"]


def wait_for_run(dagster_url: str, run_id: str, *, timeout: float, daemon_log: Path) -> tuple[list[str], dict]:
    """The statuses seen until the run ends, and the run; on failure, its error events and the daemon log."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        run = graphql(dagster_url, RUN_QUERY, {"runId": run_id})["runOrError"]
        if not seen or seen[-1] != run["status"]:
            seen.append(run["status"])
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if seen[-1] != "SUCCESS":
        events = graphql(dagster_url, RUN_EVENTS_QUERY, {"runId": run_id})["logsForRun"].get("events", [])
        errors = [
            event.get("error", {}).get("message") or event.get("message")
            for event in events
            if event["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent", "EngineEvent")
            or event.get("level") == "ERROR"
        ]
        from scripts.stack.processes import tail

        pytest.fail(
            f"run {run_id} ended {seen} (timeout {timeout:.0f} s)\nerrors:\n"
            + "\n".join(map(str, errors))
            + f"\ndaemon log:\n{tail(daemon_log, 60)}"
        )
    return seen, run


# --------------------------------------------------------------------------- the stack


class Stack:
    """`python -m scripts.stack` on a throwaway project: state, databases and ports of its own."""

    def __init__(
        self,
        tmp_path: Path,
        config_path: Path,
        *,
        extra_options: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        tag = f"stack_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.databases = {
            "dagster": f"{tag}_dagster",
            "mlflow": f"{tag}_mlflow",
            "runs": f"{tag}_runs",
            "annotations": f"{tag}_annotations",
        }
        dagster, mlflow, inference, web = free_ports(4)
        self.ports = {"dagster": dagster, "mlflow": mlflow, "inference": inference, "web": web}
        self.state_dir = tmp_path / "state"
        self.config_path = config_path
        self.extra_options = list(extra_options or [])  # e.g. --workers 2
        self.extra_env = dict(extra_env or {})  # e.g. what `make` exports

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part]}"

    def options(self) -> list[str]:
        options = [
            "--state-dir",
            str(self.state_dir),
            "--config",
            str(self.config_path),
            "--postgres-url",
            POSTGRES_URL,
        ]
        options += [item for name, db in self.databases.items() for item in (f"--{name}-db", db)]
        options += [item for name, port in self.ports.items() for item in (f"--{name}-port", str(port))]
        return options + self.extra_options

    def settings(self) -> StackSettings:
        """What `python -m scripts.stack up <options>` works with (paths, databases, each part's environment)."""
        parser = argparse.ArgumentParser()
        add_options(parser, env=self.env())
        return settings_from_args(parser.parse_args(self.options()))

    def env(self) -> dict[str, str]:
        """This process's environment without what the stack sets itself (or what would override the config)."""
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for name in STACK_SETS:
            env.pop(name, None)
        return {**env, **self.extra_env}

    def run(self, command: str, *, timeout: float) -> subprocess.CompletedProcess:
        env = self.env()
        return subprocess.run(
            [sys.executable, "-m", "scripts.stack", command, *self.options()],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def records(self) -> list[ProcessRecord]:
        return StateFile(self.state_dir / "state.json").records()


def one_partition_project(tmp_path: Path) -> Path:
    """The browser tests' fixture config (one partition, a small fast model), sample data only: nothing trained."""
    return stack_project(tmp_path)


def stack_project(
    tmp_path: Path, *, pair: str = PAIR, timeframes: tuple[str, ...] = (TIMEFRAME,), overrides: dict | None = None
) -> Path:
    """The browser tests' fixture config (a small fast model) for `pair` x `timeframes`, with `overrides`
    (top-level sections replaced), and its sample data (3,000 candles per partition): nothing trained."""
    out = tmp_path / "project"
    out.mkdir()
    raw = fixture_config(out, pair, timeframes[0], "xgboost")
    raw["partitions"]["timeframes"] = list(timeframes)
    raw.update(overrides or {})
    config_path = out / "pipeline.yaml"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    from ml_platform.sample_data import write_sample_data

    write_sample_data(load_config(config_path), n_candles=3000)
    return config_path


def _output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_up_materialize_through_the_daemon_predict_through_the_web_then_down(tmp_path: Path) -> None:
    stack = Stack(tmp_path, one_partition_project(tmp_path))
    config = load_config(stack.config_path)
    server = Server.from_url(POSTGRES_URL)
    records: list[ProcessRecord] = []
    try:
        started = time.monotonic()
        up = stack.run("up", timeout=480)
        assert up.returncode == 0, _output(up)
        print(f"up took {time.monotonic() - started:.0f} s\n{up.stdout}")
        records = stack.records()
        assert [record.name for record in records] == [
            "mlflow",
            "dagster-webserver",
            "dagster-daemon",
            "inference",
            "web",
        ]
        assert all(start_time(record.pid) == record.start_time for record in records)
        assert "no model yet" in up.stdout  # nothing was trained: the service answers 503 and up says so

        # A second `up` refuses: a stack is recorded as running.
        again = stack.run("up", timeout=60)
        assert again.returncode == 1 and "already running" in again.stderr, _output(again)

        # Materialize one partition the way the UI's button does; the daemon dequeues and starts the run.
        run_id = launch_like_the_ui(stack.url("dagster"), ASSETS, PARTITION)
        seen, run = wait_for_run(
            stack.url("dagster"), run_id, timeout=300, daemon_log=stack.state_dir / "logs" / "dagster-daemon.log"
        )
        assert seen[0] == "QUEUED" and seen[-1] == "SUCCESS", seen
        assert {"key": "dagster/partition", "value": PARTITION} in run["tags"]
        assert {"key": "dagster/partition/pair", "value": PAIR} in run["tags"]

        # The MLflow server has the registered model, its run FINISHED, artifacts in the server's store.
        name = f"{config.mlflow.registered_model_prefix}-{PAIR}-{TIMEFRAME}"
        status, registered = request("GET", f"{stack.url('mlflow')}/api/2.0/mlflow/registered-models/get?name={name}")
        assert status == 200, registered
        versions = registered["registered_model"]["latest_versions"]
        assert versions and versions[-1]["status"] == "READY", registered
        mlflow_run_id = versions[-1]["run_id"]
        status, mlflow_run = request("GET", f"{stack.url('mlflow')}/api/2.0/mlflow/runs/get?run_id={mlflow_run_id}")
        assert status == 200 and mlflow_run["run"]["info"]["status"] == "FINISHED", mlflow_run
        assert mlflow_run["run"]["info"]["artifact_uri"].startswith("mlflow-artifacts:/"), mlflow_run
        assert list((stack.state_dir / "mlflow-artifacts").rglob("MLmodel")), "no model artifacts in the server's store"

        # The service picks the new bundle up (serving.reload_interval_seconds: 1); the web proxy serves it.
        web = stack.url("web")
        deadline = time.monotonic() + 60
        served = None
        while served is None and time.monotonic() < deadline:
            status, info = request("GET", f"{web}/api/model/info")
            if status == 200:
                served = next((model for model in info["models"] if model["mlflow_run_id"] == mlflow_run_id), None)
            if served is None:
                time.sleep(1)
        assert served is not None, f"the service never loaded the model of MLflow run {mlflow_run_id}: {info}"
        assert served["registered_version"] == versions[-1]["version"]
        status, health = request("GET", f"{web}/api/health")
        assert status == 200 and health["can_predict"], health
        status, answer = request("POST", f"{web}/api/predict/batch", {"pair": PAIR, "timeframe": TIMEFRAME})
        assert status == 200, answer
        assert answer["predictions"] and answer["model_info"]["version"] == served["version"], answer["model_info"]

        # down stops exactly what up started: every recorded group gone, every port free, the state file removed.
        down = stack.run("down", timeout=120)
        assert down.returncode == 0, _output(down)
        assert down.stdout.count(" stopped") == len(records), down.stdout
        for record in records:
            assert start_time(record.pid) is None, f"{record.title} (pid {record.pid}) still runs"
            assert group_members(record.pgid) == [], f"{record.title}'s process group still has members"
        for part, port in stack.ports.items():
            assert not port_taken(port), f"port {port} ({part}) still taken after down"
        assert not (stack.state_dir / "state.json").exists()

        nothing = stack.run("down", timeout=60)
        assert nothing.returncode == 0 and "nothing to stop" in nothing.stdout, _output(nothing)
    finally:
        if (stack.state_dir / "state.json").exists():
            print(_output(stack.run("down", timeout=120)))
        drop_databases(server, stack.databases.values())


# --------------------------------------------------------------------------- refusals and bookkeeping (fast)


def test_down_with_nothing_recorded_is_a_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stack_main(["down", "--state-dir", str(tmp_path)]) == 0
    assert "nothing to stop" in capsys.readouterr().out


def test_up_refuses_a_taken_port_before_starting_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlflow, inference, web = free_ports(3)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        code = stack_main(
            [
                "up",
                "--state-dir",
                str(tmp_path),
                "--dagster-port",
                str(taken),
                "--mlflow-port",
                str(mlflow),
                "--inference-port",
                str(inference),
                "--web-port",
                str(web),
            ]
        )
    assert code == 1
    assert f"port {taken} (Dagster webserver) is taken" in capsys.readouterr().err
    assert not (tmp_path / "state.json").exists()


def _sleeper(tmp_path: Path, script: str = "sleep 60") -> tuple[subprocess.Popen, ProcessRecord]:
    return start_process(
        "sleeper", "sleeper", ["bash", "-c", script], cwd=tmp_path, env=os.environ, log_path=tmp_path / "sleeper.log"
    )


def test_up_refuses_while_a_recorded_stack_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    process, record = _sleeper(tmp_path)
    try:
        StateFile(tmp_path / "state.json").write({"processes": records_to_json([record])})
        assert stack_main(["up", "--state-dir", str(tmp_path)]) == 1
        assert "already running" in capsys.readouterr().err
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_down_stops_the_whole_group_and_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    group, record = _sleeper(tmp_path, "sleep 60 & sleep 60 & wait")
    bystander, other = _sleeper(tmp_path)
    try:
        deadline = time.monotonic() + 10
        while len(group_members(record.pgid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(group_members(record.pgid)) == 3  # bash and its two sleeps
        reused = ProcessRecord(**{**records_to_json([other])[0], "start_time": other.start_time - 1})
        results = stop_groups([record, reused], timeout=5)
        group.wait(timeout=5)
        assert [result.outcome for result in results] == ["stopped", "pid reused: left alone"]
        assert group_members(record.pgid) == []
        assert bystander.poll() is None  # a pid whose start time differs is never signalled
    finally:
        os.killpg(bystander.pid, signal.SIGKILL)
        bystander.wait()


def test_tracking_server_experiments_use_the_servers_artifact_store(tmp_path: Path) -> None:
    """With an http(s) tracking URI a local artifact folder is left to the server; other stores keep it."""
    from tests.conftest import write_config

    config = load_config(write_config(tmp_path))
    assert artifact_location(config, "http://127.0.0.1:5000") is None
    assert artifact_location(config, f"sqlite:///{tmp_path}/mlflow.db") == (tmp_path / "mlartifacts").as_uri()
    assert artifact_location(config) == (tmp_path / "mlartifacts").as_uri()
    remote = load_config(write_config(tmp_path, {"mlflow": {"artifact_location": "s3://bucket/mlflow"}}))
    assert artifact_location(remote, "http://127.0.0.1:5000") == "s3://bucket/mlflow"
