"""A training run's process dies under a live ``dagster-daemon``: the run, its MLflow run and its row end failed.

A real ``dagster-daemon run`` on a temporary DAGSTER_HOME whose ``dagster.yaml`` is the shipped one
(queued run coordinator, ``run_monitoring`` on) with short intervals, loading
``tests/reliability/monitoring_defs.py``: a sensor requests one run of ``trained_model``
(``EURUSD|1h``) and the daemon launches it through the default run launcher, as a subprocess of
the code server the daemon started (as in compose, where runs execute in the daemon's container).

- The run's process alone dies (it SIGKILLs itself before the fit, ``ML_PLATFORM_TEST_KILL_AT=fit``:
  the MLflow run open, the row ``running``). With the default run launcher the daemon's run
  monitoring does not check run processes (``supports_check_run_worker_health`` is false): the
  code server that launched the run sees its process die within a second and fails the run.
- The daemon, its code server and the run die together (the daemon's container restarted). The
  new daemon's code server knows nothing of the run: run monitoring fails it once it has been
  STARTED longer than ``max_runtime_seconds`` (4 h as shipped; 20 s here).

Either way the daemon's run-failure sensor (``assets/run_failure.py``) then ends the MLflow run
FAILED and marks the ``training_runs`` row ``failed`` with the Dagster run id in the reason.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from mlflow import MlflowClient

from .conftest import ROOT, Stack
from .test_crash_consistency import rows

pytestmark = pytest.mark.slow

T = TypeVar("T")
DAEMON = Path(sys.executable).with_name("dagster-daemon")
MAX_RUNTIME_SECONDS = 20


def instance_yaml(**run_monitoring: int) -> dict[str, Any]:
    """The shipped dagster.yaml, with intervals short enough for a test (and `run_monitoring` overrides)."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["run_monitoring"]["enabled"] is True  # what the test relies on, as shipped
    config["run_monitoring"].update({"poll_interval_seconds": 1, "start_timeout_seconds": 60, **run_monitoring})
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    return config


def session_pids(session: int) -> list[int]:
    """The live processes of `session` (a daemon started in a session of its own, and its descendants)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if entry.name.isdigit() and int(fields[3]) == session and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


class Daemons:
    """Starts ``dagster-daemon run`` processes (each in a session of its own) and ends every process of them."""

    def __init__(self, stack: Stack, tmp_path: Path, **run_monitoring: int) -> None:
        from dagster import DagsterInstance

        from assets.partitions import add_pairs

        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        (self.home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(**run_monitoring)))
        self.instance = DagsterInstance.from_config(str(self.home))
        add_pairs(self.instance, ["EURUSD"])  # the pair dimension is dynamic
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "MLFLOW_TRACKING_URI") and not k.startswith(("DAGSTER_", "ML_PLATFORM_"))
        }
        self.env.update({"DAGSTER_HOME": str(self.home), "ML_PLATFORM_CONFIG": str(stack.config_file)})
        self.env["PYTHONPATH"] = str(ROOT)
        self.log = tmp_path / "daemon.log"
        self.cwd = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> int:
        with self.log.open("ab") as out:
            process = subprocess.Popen(
                [str(DAEMON), "run", "-m", "tests.reliability.monitoring_defs", "-d", str(ROOT)],
                cwd=self.cwd,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process.pid

    def kill(self, session: int, sig: int = signal.SIGKILL) -> bool:
        """Send `sig` to every process of the daemon started as `session` (daemon, code server, run).

        Returns True when none was left to signal.
        """
        pids = session_pids(session)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        for process in self.started:
            if process.pid == session and process.poll() is None and sig == signal.SIGKILL:
                process.wait(timeout=10)  # reap the daemon itself
        return not pids

    def close(self) -> None:
        for process in self.started:
            self.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3  # a clean stop takes ~10 s on 2 busy cores: not worth waiting for
        while any(session_pids(p.pid) for p in self.started) and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in self.started:
            self.kill(process.pid)
            process.wait(timeout=10)
        self.instance.dispose()

    def wait_for(self, what: str, probe: Callable[[], T | None], deadline: float) -> T:
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; daemon log:\n{self.log.read_text()[-4000:]}")

    def the_run(self, deadline: float) -> Any:
        run = self.wait_for("the requested run", lambda: next(iter(self.instance.get_runs(limit=1)), None), deadline)
        assert run.tags["dagster/partition"] == "EURUSD|1h"
        return run

    def wait_failed(self, run_id: str, deadline: float) -> list[str]:
        """Wait for the run to be FAILURE; return its event messages."""
        from dagster import DagsterRunStatus

        def failed() -> bool:
            current = self.instance.get_run_by_id(run_id)
            assert current is not None
            assert current.status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.CANCELED), current.status
            return current.status == DagsterRunStatus.FAILURE

        self.wait_for("the Dagster run to become FAILURE", failed, deadline)
        return [record.event_log_entry.message or "" for record in self.instance.get_records_for_run(run_id).records]


@pytest.fixture
def daemons(stack: Stack, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Daemons]:
    started = Daemons(stack, tmp_path, **getattr(request, "param", {}))
    try:
        yield started
    finally:
        started.close()


def assert_closed(stack: Stack, daemons: Daemons, run_id: str, deadline: float) -> None:
    """The run-failure sensor ended the run's MLflow run FAILED and its row ``failed``, naming the run."""
    row = daemons.wait_for(
        "the training_runs row to be failed",
        lambda: next((r for r in rows(stack) if r.status == "failed"), None),
        deadline,
    )
    assert run_id in (row.error or "")
    uri = stack.config.mlflow.tracking_uri
    mlflow_run = MlflowClient(uri, uri).get_run(row.mlflow_run_id)
    assert mlflow_run.info.status == "FAILED" and mlflow_run.data.tags["dagster_run_id"] == run_id
    assert run_id in mlflow_run.data.tags["error"]
    assert [r.status for r in rows(stack)] == ["failed"]


def test_a_killed_run_process_is_failed_and_closed(stack: Stack, daemons: Daemons) -> None:
    from dagster import DagsterEventType

    daemons.start(ML_PLATFORM_TEST_KILL_AT="fit")
    deadline = time.monotonic() + 150  # daemon start, code server, run start, training imports, sensor ticks
    run = daemons.the_run(deadline)
    messages = daemons.wait_failed(run.run_id, deadline)
    assert any("was terminated by signal 9 (SIGKILL)" in m for m in messages), messages[-10:]  # by the code server
    assert daemons.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
    assert_closed(stack, daemons, run.run_id, deadline)


@pytest.mark.parametrize("daemons", [{"max_runtime_seconds": MAX_RUNTIME_SECONDS}], indirect=True)
def test_a_run_orphaned_with_its_daemon_is_failed_by_run_monitoring(stack: Stack, daemons: Daemons) -> None:
    from dagster import DagsterRunStatus

    first = daemons.start()
    deadline = time.monotonic() + 150
    run = daemons.the_run(deadline)
    daemons.wait_for(  # the training is under way: its MLflow run is open
        "the training's MLflow run", lambda: [r for r in rows(stack) if r.mlflow_run_id], deadline
    )
    # the daemon's container goes: daemon, code server and run process at once
    daemons.wait_for("the first daemon's processes to end", lambda: daemons.kill(first), deadline)
    assert [r.status for r in rows(stack)] == ["running"]
    orphan = daemons.instance.get_run_by_id(run.run_id)
    assert orphan is not None and orphan.status == DagsterRunStatus.STARTED  # nobody noticed

    daemons.start()  # the container restarts: a new daemon and code server, which never launched the run
    messages = daemons.wait_failed(run.run_id, deadline)
    assert any(f"maximum runtime of {MAX_RUNTIME_SECONDS} seconds" in m for m in messages), messages[-10:]
    assert_closed(stack, daemons, run.run_id, deadline)
