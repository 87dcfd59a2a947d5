"""`make up WORKERS=2` runs the nightly backfill through its two workers (issue 19's last "Done when").

The real stack (`python -m scripts.stack up --workers 2`, as `make up WORKERS=2` runs it) on a
throwaway project: one pair, two timeframes, sample data, its own state folder, PostgreSQL
databases, free ports, a Redis database and queue names of this session's own. The config keeps
``execution.engine: in_process``: the celery engine comes from `up --workers`, as with the
repository's config. Before `up`, `tests.scale_out.due_schedule` makes the pair's
``backfill_{PAIR}`` schedule due (RUNNING since a minute before its latest 02:00 UTC tick) and
switches off the sensors that request runs; the stack's own daemon then evaluates the tick,
queues one ``candle_pipeline`` run per timeframe and starts them, and their steps execute on the
stack's workers. Asserted: every part of the stack got the celery engine and the same Dagster
instance, the tick's runs are exactly the pair's timeframes and all succeed, every step of the
chain ran on a worker, and both workers took steps. Then `down`: nothing left running, nothing
written to the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.stack.postgres import drop_databases, ensure_databases
from scripts.stack.processes import ProcessRecord, group_members, start_time, stop_groups
from scripts.stack.settings import REPO, WEB, StackSettings
from tests.deployment.test_stack import Stack, _output, graphql, stack_project, wait_for_run
from tests.scale_out.conftest import REDIS_HOST, REDIS_PORT, dagster_instance, step_workers

PAIR, TIMEFRAMES = "EURUSD", ("1h", "4h")
SCHEDULE = f"backfill_{PAIR}"
JOB = "candle_pipeline"
CHAIN = {"raw_candles", "enriched_features", "labeled_windows", "trained_model"}
WORKERS = 2

REPOSITORY_QUERY = """{ repositoriesOrError { __typename
  ... on RepositoryConnection { nodes { name location { name } } } } }"""

TICKS_QUERY = """query Ticks($selector: ScheduleSelector!) { scheduleOrError(scheduleSelector: $selector) {
  __typename ... on Schedule { scheduleState { status
    ticks(limit: 5) { status timestamp runIds error { message } } } } } }"""

RUN_QUERY = """query Run($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { jobName status creationTime startTime endTime tags { key value } } } }"""


def _repo_changes() -> set[str]:
    """``git status`` lines (untracked and ignored too) of what a stack could leave: not source files."""
    lines = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=normal"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # Other work in the same checkout edits sources while this runs: only other files count.
    source = (".py", ".ts", ".tsx", ".mjs", ".md", ".json", ".yaml", ".yml", ".css", ".toml", ".txt")
    return {
        line
        for line in lines
        if not line.rstrip("/").endswith(source) and "__pycache__" not in line and ".pytest_cache" not in line
    }


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def _make_schedule_due(settings: StackSettings) -> float:
    """The stack's databases and DAGSTER_HOME as `up` makes them, then `due_schedule`: the tick time."""
    from scripts.stack.__main__ import _prepare_dagster_home

    ensure_databases(settings.server, settings.databases.names())
    _prepare_dagster_home(settings)
    result = subprocess.run(
        [sys.executable, "-m", "tests.scale_out.due_schedule", SCHEDULE],
        cwd=REPO,
        env=settings.python_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, _output(result)
    print(result.stdout)
    assert "stopped raw_data_sensor" in result.stdout, result.stdout
    return float(result.stdout.split("tick ", 1)[1].split()[0])


def _wait_for_tick(dagster_url: str, tick_time: float, timeout: float) -> dict:
    (repository,) = graphql(dagster_url, REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    selector = {
        "repositoryLocationName": repository["location"]["name"],
        "repositoryName": repository["name"],
        "scheduleName": SCHEDULE,
    }
    deadline = time.monotonic() + timeout
    ticks: list[dict] = []
    while time.monotonic() < deadline:
        schedule = graphql(dagster_url, TICKS_QUERY, {"selector": selector})["scheduleOrError"]
        assert schedule["__typename"] == "Schedule", schedule
        ticks = schedule["scheduleState"]["ticks"]
        done = [tick for tick in ticks if tick["status"] in ("SUCCESS", "FAILURE", "SKIPPED")]
        if done:
            assert len(done) == 1 and abs(done[0]["timestamp"] - tick_time) < 1, ticks
            assert done[0]["status"] == "SUCCESS", done[0]
            return done[0]
        time.sleep(1)
    pytest.fail(f"no tick of {SCHEDULE} within {timeout:.0f} s: {ticks}")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_up_with_two_workers_runs_the_nightly_backfill_on_them(
    tmp_path: Path, redis_db: int, session_id: str
) -> None:
    changes_before = _repo_changes()
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"
    queues = f"stk{session_id}"
    config_path = stack_project(
        tmp_path,
        pair=PAIR,
        timeframes=TIMEFRAMES,
        overrides={
            "execution": {  # engine: in_process, as in config/pipeline.yaml: `up --workers` selects celery
                "engine": "in_process",
                "celery": {
                    "broker": broker,
                    "backend": broker,
                    "queues": {"default": f"{queues}-default", "train": f"{queues}-train"},
                },
            },
        },
    )
    # The web app's current build when there is one: other work in this checkout edits web/ meanwhile.
    web_build = "never" if (WEB / ".next" / "BUILD_ID").exists() else "auto"
    stack = Stack(
        tmp_path,
        config_path,
        extra_options=["--workers", str(WORKERS), "--web-build", web_build],
        # what the Makefile exports to `make up`: the stack must give its parts its own DAGSTER_HOME instead
        extra_env={"DAGSTER_HOME": str(tmp_path / "make-dagster-home")},
    )
    settings = stack.settings()
    records: list[ProcessRecord] = []
    try:
        tick_time = _make_schedule_due(settings)

        started = time.monotonic()
        up = stack.run("up", timeout=420)
        assert up.returncode == 0, _output(up)
        up_seconds = time.monotonic() - started
        print(f"up took {up_seconds:.0f} s\n{up.stdout}")
        records = stack.records()
        workers = [record for record in records if record.name.startswith("worker-")]
        assert [record.name for record in workers] == ["worker-worker1", "worker-worker2"], records
        nodes = [str(record.url) for record in workers]  # a worker's url is its Celery node name

        # Every Dagster process and every worker: the celery engine, the stack's instance and config.
        by_name = {record.name: record for record in records}
        for name in ("dagster-webserver", "dagster-daemon", *(record.name for record in workers)):
            env = _environ(by_name[name].pid)
            assert env.get("ML_PLATFORM_EXECUTION_ENGINE") == "celery", (name, env.get("ML_PLATFORM_EXECUTION_ENGINE"))
            assert env.get("DAGSTER_HOME") == str(settings.dagster_home), (name, env.get("DAGSTER_HOME"))
            assert env.get("DAGSTER_PG_DB") == settings.databases.dagster, name
            assert env.get("ML_PLATFORM_CONFIG") == str(config_path), name
        for record in workers:
            assert _environ(record.pid)["PATH"].split(":")[0] == str(Path(sys.executable).parent), record.name

        # The daemon evaluates the due tick: one run of candle_pipeline per timeframe of the pair.
        dagster = stack.url("dagster")
        tick = _wait_for_tick(dagster, tick_time, timeout=120)
        assert len(tick["runIds"]) == len(TIMEFRAMES), tick
        daemon_log = stack.state_dir / "logs" / "dagster-daemon.log"
        runs = {}
        for run_id in tick["runIds"]:
            wait_for_run(dagster, run_id, timeout=300, daemon_log=daemon_log)
            run = graphql(dagster, RUN_QUERY, {"runId": run_id})["runOrError"]
            tags = {tag["key"]: tag["value"] for tag in run["tags"]}
            assert run["jobName"] == JOB and run["status"] == "SUCCESS", run
            assert tags.get("dagster/schedule_name") == SCHEDULE, tags
            runs[tags["dagster/partition"]] = (run_id, run)
        assert sorted(runs) == sorted(f"{PAIR}|{timeframe}" for timeframe in TIMEFRAMES), runs

        # Every step of the chain on a worker; both workers took steps.
        per_worker: dict[str, list[str]] = {}
        with dagster_instance(settings.python_env()) as instance:
            for key, (run_id, _) in sorted(runs.items()):
                placement = step_workers(instance, run_id)
                assert CHAIN <= set(placement), f"{key}: steps not on a worker: {placement}"
                assert set(placement.values()) <= set(nodes), placement
                for step, node in placement.items():
                    per_worker.setdefault(node, []).append(f"{key}:{step}")
        assert set(per_worker) == set(nodes), f"steps ran on {sorted(per_worker)} only: {per_worker}"
        spans = [run["endTime"] - run["startTime"] for _, run in runs.values()]
        wall = max(run["endTime"] for _, run in runs.values()) - min(run["creationTime"] for _, run in runs.values())
        print(
            f"measured: up {up_seconds:.0f} s; the tick's runs queued to the last one done {wall:.0f} s "
            f"(runs {', '.join(f'{span:.0f} s' for span in spans)}, one at a time: one run per pair); "
            f"load average {os.getloadavg()[0]:.1f}; steps per worker: "
            + ", ".join(f"{node} {len(steps)}" for node, steps in sorted(per_worker.items()))
        )
        for node, steps in sorted(per_worker.items()):
            print(f"  {node}: {', '.join(sorted(steps))}")

        down = stack.run("down", timeout=120)
        assert down.returncode == 0, _output(down)
        for record in records:
            assert start_time(record.pid) is None, f"{record.title} (pid {record.pid}) still runs"
            assert group_members(record.pgid) == [], f"{record.title}'s process group still has members"
    finally:
        if (stack.state_dir / "state.json").exists():
            records = records or stack.records()  # `up` failed or timed out after recording them
            print(_output(stack.run("down", timeout=120)))
        # A safety net: whatever `down` missed (or when `up` never finished recording) goes too.
        stopped = stop_groups(records, timeout=10)
        drop_databases(settings.server, settings.databases.names())
    left = [result.record.title for result in stopped if result.outcome != "already exited"]
    assert not left, f"left running after down: {left}"
    assert _repo_changes() == changes_before, sorted(_repo_changes() ^ changes_before)
