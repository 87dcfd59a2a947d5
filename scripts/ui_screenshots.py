"""`make docs-ui-screenshots`: the Dagster asset pages and an MLflow run, photographed for docs/.

After `make demo`: starts `dagster dev` (from DAGSTER_HOME, as `make dagster` does) and
`mlflow ui` over the configured tracking store, each on the port of its configured UI
address when that is free (so the metadata's links and inline images resolve), else on
a free port; runs `scripts/ui_screenshots.mjs` (playwright-core from web/node_modules,
the system Chromium) and stops exactly the processes it started.

    python -m scripts.ui_screenshots [--out docs] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from ml_platform.config import PROJECT_ROOT, load_config
from ml_platform.training.tracking import mlflow_ui_url, tracking_uri

SUPERSEDED = "ignore:Function `dev_command` is superseded:FutureWarning"


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _port(preferred: int | None) -> int:
    if preferred and _port_free(preferred):
        return preferred
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"ui_screenshots: {url} did not answer within {seconds:.0f} s")


def _start(command: list[str], *, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)  # the group this script created: dagster dev and its children
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _latest_run(uri: str, experiment_name: str, partition: str) -> tuple[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise SystemExit(f"ui_screenshots: no MLflow experiment {experiment_name!r}: run `make demo` first")
    runs = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.partition = '{partition}'", order_by=["start_time DESC"]
    )
    if not runs:
        raise SystemExit(f"ui_screenshots: no MLflow run for {partition}: run `make demo` first")
    return experiment.experiment_id, runs[0].info.run_id


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--partition", default="EURUSD|4h")
    args = parser.parse_args(argv)

    config = load_config()
    uri = tracking_uri(config)
    experiment_id, run_id = _latest_run(uri, config.mlflow.experiment_name, args.partition)
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster")
    bin_dir = Path(sys.executable).parent
    mlflow_port = _port(urllib.parse.urlparse(mlflow_ui_url(config)).port)
    dagster_port = _port(urllib.parse.urlparse(config.mlflow.dagster_ui_url).port)
    logs = Path(tempfile.gettempdir())
    processes = [
        _start(
            [str(bin_dir / "mlflow"), "ui", "--backend-store-uri", uri, "-h", "127.0.0.1", "-p", str(mlflow_port)],
            cwd=PROJECT_ROOT,
            log=logs / "ui_screenshots_mlflow.log",
        ),
        _start(
            [sys.executable, "-W", SUPERSEDED, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml")]
            + ["-h", "127.0.0.1", "-p", str(dagster_port)],
            cwd=home,
            log=logs / "ui_screenshots_dagster.log",
        ),
    ]
    try:
        mlflow_url, dagster_url = f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{dagster_port}"
        _wait(f"{mlflow_url}/health")
        _wait(f"{dagster_url}/server_info")
        plan = {
            "chromium": args.chromium,
            "out": str(args.out),
            "dagster": dagster_url,
            "mlflow": mlflow_url,
            "partition": args.partition,
            "experiment_id": experiment_id,
            "run_id": run_id,
        }
        subprocess.run(
            ["node", str(PROJECT_ROOT / "scripts" / "ui_screenshots.mjs"), json.dumps(plan)],
            cwd=PROJECT_ROOT,
            check=True,
        )
    finally:
        for process in processes:
            _stop(process)


if __name__ == "__main__":
    main()
