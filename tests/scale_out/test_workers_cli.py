"""``make worker`` (``python -m scripts.stack.workers``) and the workers part of ``make up``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.stack.processes import group_members
from tests.scale_out.conftest import ScaleOut


@pytest.mark.slow
def test_make_worker_starts_n_workers_and_stops_every_process(scale_out: ScaleOut) -> None:
    command = [sys.executable, "-m", "scripts.stack.workers", "--workers", "2", "--queues", "train"]
    command += ["--name", f"{scale_out.prefix}-cli", "--state-dir", str(scale_out.worker.folder / "cli")]
    process = subprocess.Popen(
        command,
        cwd=scale_out.worker.folder,
        env=scale_out.worker.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "answer on the broker" in line:
                break
        assert any("2 worker(s) answer on the broker" in line for line in lines), "".join(lines)
        started = [line for line in lines if line.startswith("started ")]
        assert len(started) == 2 and all(f"{scale_out.prefix}-train" in line for line in started), started
        pids = [int(line.split(" pid ")[1].split()[0]) for line in started]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(lines) + output
    assert output.count(" stopped") == 2, output
    assert not [pid for pid in pids if group_members(pid)], "worker processes left running"


def test_make_up_adds_worker_parts_only_when_asked(tmp_path: Path) -> None:
    from scripts.stack.parts import build_parts
    from scripts.stack.settings import add_options, settings_from_args

    config = Path(__file__).resolve().parents[2] / "config" / "pipeline.yaml"

    def settings(extra: list[str]):
        import argparse

        parser = argparse.ArgumentParser()
        add_options(parser, env={})
        return settings_from_args(parser.parse_args(["--state-dir", str(tmp_path), "--config", str(config), *extra]))

    assert not [part for part in build_parts(settings([])) if part.name.startswith("worker")]
    with_workers = settings(["--workers", "2"])
    assert with_workers.python_env({"DAGSTER_HOME": "x"})["ML_PLATFORM_EXECUTION_ENGINE"] == "celery"
    workers = [part for part in build_parts(with_workers) if part.name.startswith("worker")]
    assert [part.name for part in workers] == ["worker-worker1", "worker-worker2"]
    for part in workers:
        assert part.command[1:5] == ["worker", "start", "-A", "dagster_celery.app"]
        assert part.command[-2:] == ["-q", "default,train"]
        assert part.env["ML_PLATFORM_EXECUTION_ENGINE"] == "celery"
    assert (tmp_path / "celery.yaml").is_file()
