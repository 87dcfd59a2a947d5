"""The real service process (``python -m serving``, 2 workers) across a SIGKILLed training, a promotion and a rollback.

Every worker polls ``champion.json`` (``serving.reload_interval_seconds`` 0.5); ``POST /model/rollback``
goes over real HTTP with the bearer token. Prints the seconds from a pointer move to every worker serving it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from ml_platform import bundle_store

from .conftest import ROOT, Stack

pytestmark = pytest.mark.slow

TOKEN = "live-s3cret"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def live_service(stack: Stack) -> Iterator[str]:
    raw = yaml.safe_load(stack.config_file.read_text())
    raw["serving"]["reload_interval_seconds"] = 0.5
    config_file = stack.config_file.with_name("pipeline-live.yaml")
    config_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE", "INFERENCE_API_TOKEN": TOKEN}
    for name in ("DATABASE_URL", "MLFLOW_TRACKING_URI", "ML_PLATFORM_TEST_KILL_AT"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "serving", "--config", str(config_file), "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the service exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the service did not become healthy within 90 s"
            time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def versions_served(url: str, calls: int = 12) -> dict[str, set[str]]:
    """``{worker pid: {model versions}}`` over `calls` requests (they spread over the workers)."""
    seen: dict[str, set[str]] = {}
    with httpx.Client(headers=HEADERS, timeout=10) as client:
        for _ in range(calls):
            answer = client.get(f"{url}/model/info")
            assert answer.status_code == 200, answer.text
            (model,) = answer.json()["models"]
            seen.setdefault(answer.headers["x-worker-pid"], set()).add(model["version"])
    return seen


def wait_for(url: str, version: str, timeout: float = 30) -> float:
    """Seconds until every answer (from every worker seen) names `version`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        seen = versions_served(url)
        if all(v == {version} for v in seen.values()):
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{version} not served by every worker within {timeout} s: {versions_served(url)}")


def test_live_service_keeps_the_champion_follows_promotion_and_rolls_back(stack: Stack) -> None:
    first = stack.train()
    assert first.returncode == 0, first.stderr[-3000:]
    champion = first.output["model_version"]
    with live_service(stack) as url:
        wait_for(url, champion)
        killed = stack.train(kill_at="before_promote")
        assert killed.returncode == -9, killed.stderr[-3000:]
        worse = stack.train(worse=True)
        assert worse.returncode == 0 and worse.output["promoted"] is False
        time.sleep(1.5)  # three poll intervals
        seen = versions_served(url, calls=20)
        assert all(v == {champion} for v in seen.values()), seen

        better = stack.train()
        assert better.returncode == 0 and better.output["promoted"] is True
        promoted_after = wait_for(url, better.output["model_version"])

        assert httpx.post(f"{url}/model/rollback", json={"pair": "EURUSD", "timeframe": "1h"}).status_code == 401
        answer = httpx.post(
            f"{url}/model/rollback", json={"pair": "EURUSD", "timeframe": "1h"}, headers=HEADERS, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["to_version"] == answer.json()["served_version"] == champion
        rolled_back_after = wait_for(url, champion)
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and pointer.model_version == champion
    print(f"\nall workers served the promoted champion {promoted_after:.2f} s after training returned")
    print(f"all workers served the rolled-back champion {rolled_back_after:.2f} s after POST /model/rollback")
    assert Path(stack.partition_dir / "champion.json").is_file()
