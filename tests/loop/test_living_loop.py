"""The living loop on the real processes of `make up` (scripts/stack), nobody touching Dagster.

One partition, sample data only, nothing trained. After `up`:

1. new raw file -> model: `raw_data_sensor` (RUNNING by default) materializes `raw_candles`, the
   eager automation conditions carry the chain through `trained_model`, the service loads it;
2. a span drawn on the chart and saved through the annotation dialog in Chromium
   (web/e2e/loop-probe.mjs `save`) -> `{PAIR}_{TF}.json` rewritten before the response ->
   `annotations_sensor` starts `relabel_and_retrain` -> a new model version (MLflow registry, and
   `/api/model/info` when promoted) -> a page opened before the retrain (`await-model`, its
   overlay drawn by the old version) shows the new version in the chart's model panel and its
   predictions made again by it (the prediction cache let go of the old ones).

The seconds are printed for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from ml_platform.config import load_config
from ml_platform.partitions import Partition
from scripts.stack.postgres import drop_databases
from scripts.stack.settings import WEB, Server
from tests.deployment.test_stack import (
    PAIR,
    POSTGRES_URL,
    TIMEFRAME,
    Stack,
    _output,
    graphql,
    one_partition_project,
    request,
    wait_for_run,
)

PROBE = ["node", "e2e/loop-probe.mjs"]  # run in web/: Chromium on the stack's web app
RUNS_QUERY = """query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { __typename
  ... on Runs { results { runId status jobName tags { key value } } } } }"""


def _runs(dagster_url: str, tags: list[dict] | None = None) -> list[dict]:
    data = graphql(dagster_url, RUNS_QUERY, {"filter": {"tags": tags or []}})["runsOrError"]
    assert data["__typename"] == "Runs", data
    return data["results"]


def _wait(what: str, probe, timeout: float, interval: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def _served_version(web: str) -> str | None:
    status, info = request("GET", f"{web}/api/model/info")
    if status != 200 or not isinstance(info, dict):
        return None
    models = [m for m in info.get("models", []) if m.get("pair") == PAIR and m.get("timeframe") == TIMEFRAME]
    return str(models[0]["version"]) if models else None


def _registered_versions(stack: Stack, name: str) -> int:
    status, registered = request(
        "GET", f"{stack.url('mlflow')}/api/2.0/mlflow/model-versions/search?filter=name%3D%27{name}%27"
    )
    return len(registered.get("model_versions", [])) if status == 200 and isinstance(registered, dict) else 0


def _probe_args(mode: str, web: str, **options: object) -> list[str]:
    args = [*PROBE, mode, "--url", web, "--pair", PAIR, "--timeframe", TIMEFRAME]
    return args + [item for name, value in options.items() for item in (f"--{name}", str(value))]


def _probe_answer(mode: str, returncode: int | None, stdout: str, stderr: str) -> dict:
    assert returncode == 0, f"loop-probe {mode} exited {returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr[-4000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


def _stop(process: subprocess.Popen) -> None:
    """Stop the probe we started (its own process group: node and its Chromium)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_raw_file_then_a_saved_span_reach_the_served_model_by_themselves(tmp_path: Path) -> None:
    stack = Stack(tmp_path, one_partition_project(tmp_path))
    config = load_config(stack.config_path)
    server = Server.from_url(POSTGRES_URL)
    dagster, web = stack.url("dagster"), stack.url("web")
    name = f"{config.mlflow.registered_model_prefix}-{PAIR}-{TIMEFRAME}"
    panel: subprocess.Popen | None = None
    try:
        up = stack.run("up", timeout=600)
        assert up.returncode == 0, _output(up)
        up_done = time.monotonic()

        # 1. The raw file alone: the sensor loads it, the chain follows, a model is served.
        first = _wait("the first model, trained with no launch by hand", lambda: _served_version(web), 900, 3)
        print(f"raw file -> first served model: {time.monotonic() - up_done:.0f} s after up")
        sensor_runs = _runs(dagster, [{"key": "dagster/sensor_name", "value": "raw_data_sensor"}])
        assert sensor_runs, "no run was started by raw_data_sensor"
        versions_before = _registered_versions(stack, name)
        assert versions_before >= 1

        # 2. A span drawn on the chart and saved through the dialog rewrites the partition file before the answer.
        sample = json.loads((config.data.annotations_dir / "sample_annotations.json").read_text())
        label = next(a["label"] for a in sample["annotations"] if a["label"] != "O")
        # Early candles (in the training part of the split, so the label can be learned from them).
        times = pd.read_parquet(config.data.partition_file("candles", Partition(PAIR, TIMEFRAME)))["time"].to_numpy()
        start, end = int(times[200]), int(times[212])
        save = subprocess.run(
            _probe_args("save", web, label=label, start=start, end=end),
            cwd=WEB,
            capture_output=True,
            text=True,
            timeout=300,
        )
        saved = _probe_answer("save", save.returncode, save.stdout, save.stderr)
        saved_at = time.monotonic() - (time.time() - saved["savedAt"] / 1000)  # when the dialog closed
        assert (saved["label"], saved["start"], saved["end"]) == (label, start, end), saved
        assert saved["modelVersion"] == first, (
            f"the chart's model panel showed {saved['modelVersion']}, served: {first}"
        )
        export = json.loads((config.data.annotations_dir / f"{PAIR}_{TIMEFRAME}.json").read_text())
        assert [(a["id"], a["start_time"], a["end_time"]) for a in export["annotations"]] == [
            (saved["id"], saved["start"], saved["end"])
        ]
        # A page open from now on, its overlay drawn by the first model, waits for the next one.
        panel_log = tmp_path / "await-model.stderr"
        with panel_log.open("w") as stderr:
            panel = subprocess.Popen(
                _probe_args("await-model", web, **{"from": first, "timeout": 900}),
                cwd=WEB,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )

        # The sensor (30 s interval) starts relabel_and_retrain; it succeeds; a new version is registered.
        def relabel_done() -> dict | None:
            runs = _runs(dagster, [{"key": "dagster/sensor_name", "value": "annotations_sensor"}])
            done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            return done[0] if done else None

        run = _wait("the annotations_sensor's run", relabel_done, 900, 2)
        assert run["jobName"] == "relabel_and_retrain", run
        if run["status"] != "SUCCESS":  # fails with the run's errors and the daemon's log
            wait_for_run(dagster, run["runId"], timeout=0, daemon_log=stack.state_dir / "logs" / "dagster-daemon.log")
        assert {"key": "dagster/partition", "value": f"{PAIR}|{TIMEFRAME}"} in run["tags"]
        trained = time.monotonic() - saved_at
        assert _registered_versions(stack, name) > versions_before
        served = _wait(
            "a new served version (or the champion rule kept the old one)",
            lambda: (_served_version(web) != first) or (time.monotonic() - saved_at > trained + 30),
            120,
            1,
        )
        new_version = _served_version(web)
        print(
            f"span saved -> run done: {trained:.0f} s; served {first} -> {new_version} "
            f"({time.monotonic() - saved_at:.0f} s after the save)"
        )
        assert served
        if new_version == first:
            _stop(panel)  # not promoted: there is no new version for the panel to show
            pytest.fail(f"the retrained model was not promoted (the champion rule kept {first}): nothing to check")

        # 3. The chart's model panel shows the new version and the overlay is predicted again by it.
        try:
            stdout, _ = panel.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the chart's panel did not show {new_version} within 300 s:\n{panel_log.read_text()[-4000:]}")
        shown = _probe_answer("await-model", panel.returncode, stdout, panel_log.read_text())
        assert shown["version"] == new_version, shown
        print(
            f"span saved -> new version in the chart's panel, overlay predicted again ({shown['rerun']}): "
            f"{(shown['shownAt'] - saved['savedAt']) / 1000:.0f} s; markers {shown['markersBefore']} -> "
            f"{shown['markersAfter']}"
        )
    finally:
        if panel is not None:
            _stop(panel)
        if (stack.state_dir / "state.json").exists():
            print(_output(stack.run("down", timeout=120)))
        drop_databases(server, stack.databases.values())
