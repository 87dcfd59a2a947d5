"""``python -m serving`` as real processes: several workers all pick up a new bundle; slow connections are closed.

docs/RELIABILITY.md, findings 6 (one core) and 7 (no header-read timeout: 1,000 slow
connections stayed open).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from ml_platform.config import load_config
from tests.serving.conftest import train_bundle, write_serving_config

pytestmark = pytest.mark.slow  # starts uvicorn processes (about 10 s on a loaded 2-core machine)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(config_file: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("INFERENCE_API_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--config", str(config_file), "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    _stop(process)
    raise AssertionError("the service did not become healthy within 90 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def served(
    tmp_path: Path, request: pytest.FixtureRequest, sample: tuple[pd.DataFrame, np.ndarray]
) -> Iterator[tuple[Path, str]]:
    """A running service over a tmp config with the v1 bundle; (config file, base URL)."""
    workers, serving = request.param
    config_file = write_serving_config(tmp_path, serving=serving)
    config = load_config(config_file)
    train_bundle(config.data.models_dir, config, sample[0], sample[1], version="v1")
    process, url = _start(config_file, workers)
    try:
        yield config_file, url
    finally:
        _stop(process)


def _versions_by_worker(url: str, seconds: float, want: str) -> dict[str, str]:
    """{worker pid: served version} from /model/info on new connections, until 2 workers serve `want`."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with httpx.Client(timeout=5) as client:  # a new connection each time: the kernel spreads them over workers
            response = client.get(f"{url}/model/info", headers={"Connection": "close"})
        seen[response.headers["x-worker-pid"]] = response.json()["models"][0]["version"]
        if sum(version == want for version in seen.values()) >= 2:
            break
    return seen


@pytest.mark.parametrize("served", [(2, {"reload_interval_seconds": 0.5})], indirect=True)
def test_two_workers_both_pick_up_a_new_bundle(
    served: tuple[Path, str], sample: tuple[pd.DataFrame, np.ndarray]
) -> None:
    config_file, url = served
    before = _versions_by_worker(url, 30, "v1")
    assert sorted(before.values()) == ["v1", "v1"], before
    config = load_config(config_file)
    train_bundle(config.data.models_dir, config, sample[0], sample[1], version="v2", seed=1)
    after = _versions_by_worker(url, 30, "v2")
    assert set(after) == set(before), "the same two workers answer"
    assert sorted(after.values()) == ["v2", "v2"], after


@pytest.mark.parametrize(
    "served", [(1, {"header_timeout_seconds": 1.0, "keep_alive_timeout_seconds": 1})], indirect=True
)
def test_slow_and_idle_connections_are_closed(served: tuple[Path, str]) -> None:
    _, url = served
    port = int(url.rsplit(":", 1)[1])
    connections = []
    for i in range(50):
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # a head that never ends
        connections.append(connection)
    started = time.monotonic()
    for connection in connections:
        try:
            assert connection.recv(1024) == b""  # closed by the server
        except ConnectionResetError:
            pass
        connection.close()
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 3.0, f"slow connections were closed only after {elapsed:.1f} s"
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200  # a complete request is still answered
    with httpx.Client(timeout=5) as client:  # keep-alive: answered, then closed after 1 s idle
        assert client.get(f"{url}/health").status_code == 200
        time.sleep(2.5)
        assert client.get(f"{url}/health").status_code == 200  # httpx reconnects transparently
