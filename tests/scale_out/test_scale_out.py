"""The pipeline's steps on real Celery workers over a real Redis: a backfill, the queues, the faults.

Workers run from a folder of their own with their own config copy and DAGSTER_HOME; they share
only the data root and the databases with the launcher (see conftest). Runs are launched as a
user does, ``dagster asset materialize`` per partition, from the launcher's folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.scale_out.conftest import (
    PAIRS,
    TIMEFRAMES,
    ScaleOut,
    Site,
    dagster_instance,
    materialize,
    step_workers,
    wait_for,
)

PARTITIONS = [f"{pair}|{tf}" for pair in PAIRS for tf in TIMEFRAMES]
LIGHT_STEPS = {"raw_candles", "enriched_features", "annotations", "labeled_windows"}


def instance_of(site: Site):
    """The Dagster instance the site's runs use (PostgreSQL), opened in this process."""
    return dagster_instance(site.env)


def _finish(process: subprocess.Popen, timeout: float = 400) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the run did not finish within {timeout:.0f} s:\n{output[-3000:]}")
    return process.returncode, output


def _run_ids(instance, partition: str) -> list[str]:
    from dagster import RunsFilter

    return [run.run_id for run in instance.get_runs(filters=RunsFilter(tags={"dagster/partition": partition}))]


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- queues (no workers)


def test_assets_carry_their_queue_and_the_executor_maps_it() -> None:
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    from assets.definitions import defs
    from assets.execution import ScaleOutCeleryExecutor, build_executor, celery_app_settings
    from ml_platform.config import config_from_dict

    job = defs.resolve_implicit_global_asset_job_def()
    tags = {node.name: node.tags.get(DAGSTER_CELERY_QUEUE_TAG) for node in job.graph.node_defs}
    assert tags["trained_model"] == "train"
    assert {tags[name] for name in LIGHT_STEPS} == {"default"}

    config = config_from_dict(
        {"execution": {"engine": "celery", "celery": {"queues": {"default": "d1", "train": "t1"}}}}
    )
    executor_def = build_executor(config, env={})
    assert executor_def.name == "celery"
    executor = executor_def.executor_creation_fn(_InitContext(executor_def))  # type: ignore[misc]
    assert isinstance(executor, ScaleOutCeleryExecutor)
    assert executor.queues == {"default": "d1", "train": "t1"}
    # Steps without a queue tag (the asset checks) go to the default queue too.
    assert celery_app_settings(config.execution.celery)["task_default_queue"] == "d1"
    assert build_executor(config, env={"ML_PLATFORM_EXECUTION_ENGINE": "in_process"}).name == "in_process"


class _InitContext:
    """What Dagster hands an executor's creation function: the resolved config block."""

    def __init__(self, executor_def) -> None:
        self.executor_config = executor_def.config_schema.resolve_config({}).value["config"]


# --------------------------------------------------------------------------- two workers, a backfill


@pytest.mark.slow
def test_a_backfill_runs_on_two_workers_and_training_only_where_train_is_served(
    scale_out: ScaleOut, start_workers
) -> None:
    # worker a serves both queues, worker b only the light steps: training must land on a.
    workers = start_workers({"a": ["default", "train"], "b": ["default"]})
    node_a, node_b = workers.nodes
    launcher_files = _files(scale_out.launcher.folder)
    started = time.monotonic()
    runs = {key: materialize(scale_out.launcher, key) for key in PARTITIONS}
    outputs = {key: _finish(process) for key, process in runs.items()}
    failed = {key: out[-3000:] for key, (code, out) in outputs.items() if code != 0}
    assert not failed, f"runs failed:\n{failed}\nworker logs:\n{workers.log_text()}"
    elapsed = time.monotonic() - started

    used: dict[str, set[str]] = {}
    with instance_of(scale_out.launcher) as instance:
        for key in PARTITIONS:
            (run_id,) = _run_ids(instance, key)
            placement = step_workers(instance, run_id)
            assert LIGHT_STEPS | {"trained_model"} <= set(placement), f"{key}: steps not on a worker: {placement}"
            assert placement["trained_model"] == node_a, f"{key}: training ran on {placement['trained_model']}"
            for step, node in placement.items():
                used.setdefault(node, set()).add(step)
    assert set(used) == {node_a, node_b}, f"steps ran on {sorted(used)} only ({elapsed:.0f} s)"

    # Every output is on the data root, complete; nothing was written to the launcher's folder
    # (its DAGSTER_HOME holds no storage: the instance is PostgreSQL).
    config = _load(scale_out.launcher.config)
    for key in PARTITIONS:
        from ml_platform.bundle_store import champion_dir
        from ml_platform.partitions import Partition

        partition = Partition.from_key(key)
        for store in ("candles", "features", "labeled"):
            assert len(pd.read_parquet(config.data.partition_file(store, partition))) > 0
        served = champion_dir(config.data.bundle_dir(partition))
        assert served is not None and (served / "bundle.json").is_file()
    new_in_launcher = _files(scale_out.launcher.folder) - launcher_files
    assert not [name for name in new_in_launcher if not name.startswith("home/")], new_in_launcher


def _load(path: Path):
    from ml_platform.config import load_config

    return load_config(path)


# --------------------------------------------------------------------------- faults


@pytest.mark.slow
def test_a_run_fails_at_once_when_the_broker_is_down(scale_out: ScaleOut) -> None:
    dead = "redis://127.0.0.1:6399/0"  # nothing listens there
    started = time.monotonic()
    process = materialize(
        scale_out.launcher,
        PARTITIONS[0],
        selection="raw_candles",
        env={"CELERY_BROKER_URL": dead, "CELERY_RESULT_BACKEND": dead},
    )
    code, output = _finish(process, timeout=120)
    elapsed = time.monotonic() - started
    assert code != 0, output[-2000:]
    assert f"the Celery broker {dead} is not reachable" in output, output[-3000:]
    assert elapsed < 60, f"took {elapsed:.0f} s to fail"


@pytest.mark.slow
def test_a_killed_worker_fails_the_run_and_reexecution_finishes_on_the_other(
    scale_out: ScaleOut, start_workers
) -> None:
    # A queue set of its own, so the other tests' workers take none of these steps.
    config = scale_out.config_for(scale_out.worker, queues="k", lost=5.0)
    launch_config = scale_out.config_for(scale_out.launcher, queues="k", lost=5.0)
    workers = start_workers({"k1": ["default", "train"], "k2": ["default", "train"]}, config=config)
    partition = PARTITIONS[-1]
    with instance_of(scale_out.launcher) as instance:
        earlier = set(_run_ids(instance, partition))  # the backfill test's run of this partition
        process = materialize(scale_out.launcher, partition, config=launch_config)

        def training_worker() -> tuple[str, str] | None:
            new = [run_id for run_id in _run_ids(instance, partition) if run_id not in earlier]
            node = step_workers(instance, new[0]).get("trained_model") if new else None
            return (new[0], node) if node else None

        run_id, victim = wait_for(training_worker, 300, "trained_model to start on a worker")  # type: ignore[misc]
        assert victim in workers.nodes, f"trained_model ran on {victim}, not on this test's workers {workers.nodes}"
        record = workers.records[workers.nodes.index(victim)]
        os.killpg(record.pgid, signal.SIGKILL)
        killed_at = time.monotonic()
        code, output = _finish(process, timeout=120)
        assert code != 0, output[-2000:]
        assert time.monotonic() - killed_at < 60
        assert f"worker {victim} stopped answering while running step trained_model" in output, output[-3000:]
        assert instance.get_run_by_id(run_id).status.value == "FAILURE"

        result = subprocess.run(
            [sys.executable, "-m", "tests.scale_out.reexecute", run_id],
            cwd=scale_out.launcher.folder,
            env={**scale_out.launcher.env, "ML_PLATFORM_CONFIG": str(launch_config)},
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + workers.log_text()
        new_run_id = result.stdout.split()[1]
        placement = step_workers(instance, new_run_id)
        survivor = next(node for node in workers.nodes if node != victim)
        # trained_model and what follows it (review_queue) re-ran, all on the surviving worker
        assert "trained_model" in placement and set(placement.values()) == {survivor}, placement

    # Nothing half-written: the bundle the re-execution wrote is complete and loads.
    from ml_platform.bundle import load_bundle
    from ml_platform.partitions import Partition

    bundle_dir = _load(launch_config).data.bundle_dir(Partition.from_key(partition))
    assert load_bundle(bundle_dir) is not None
