"""SIGKILL between the two writes of a promotion: the registry alias moved, ``champion.json`` not yet.

The training runs in a real subprocess (``tests/reliability/conftest.py``) that SIGKILLs itself at
``ML_PLATFORM_TEST_KILL_AT=before_pointer`` (``ml_platform/training/train.py``). ``champion.json``
is the commit: the bundle source serves what it names throughout; the alias, ahead of it, is put
back on the pointer's registered version by the run-failure sensor (run on a real failed Dagster
run), or, when no sensor ran, by the next training before it compares
(`ml_platform.training.run_recovery.restore_uncommitted_alias`). Between the kill and that repair
the MLflow source, which has no pointer to read, serves the newest previous holder of the alias whose
training run FINISHED (a run ends FINISHED only after ``champion.json``): the same champion.
"""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from ml_platform import bundle_store

from .conftest import Stack
from .test_crash_consistency import (
    alias_version,
    assert_serves,
    failed_dagster_run,
    predict_version,
    rows,
    run_failure_sensor,
    served,
    service,
)

pytestmark = pytest.mark.slow


def assert_agree(stack: Stack) -> str:
    """Alias and ``champion.json`` name the same registered version; return it."""
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and pointer.registered_version == alias_version(stack)
    return pointer.registered_version


@pytest.mark.parametrize("repaired_by", ["sensor", "next_run"])
def test_sigkill_between_the_alias_and_champion_json(
    stack: Stack, repaired_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = stack.train()
    assert first.returncode == 0, first.stderr[-3000:]
    champion = first.output["model_version"]

    instance, dagster_run = failed_dagster_run(stack)
    killed = stack.train(kill_at="before_pointer", dagster_run_id=dagster_run.run_id)  # type: ignore[attr-defined]
    assert killed.returncode == -9, killed.stderr[-3000:]  # SIGKILL, not an exception

    # the window: the alias on v2, champion.json still on v1 (registered "1"); v2's folder is complete
    assert alias_version(stack) == "2"
    pointer = bundle_store.read_champion(stack.partition_dir)
    assert pointer is not None and (pointer.model_version, pointer.registered_version) == (champion, "1")
    (killed_version,) = [p.name for p in bundle_store.versions_dir(stack.partition_dir).iterdir() if p.name != champion]
    assert bundle_store.resolve_version(stack.partition_dir, killed_version) is not None
    with service(stack, "bundle") as client:
        assert served(client)["version"] == champion and predict_version(client) == champion
    with service(stack, "mlflow") as client:  # the alias's holder never finished its run: the previous holder
        assert (served(client)["version"], served(client)["registered_version"]) == (champion, "1")
        assert predict_version(client) == champion

    uri = stack.config.mlflow.tracking_uri
    if repaired_by == "sensor":
        run_failure_sensor(instance, dagster_run, stack, monkeypatch)
        (failed,) = [r for r in rows(stack) if r.status == "failed"]
        assert dagster_run.run_id in (failed.error or "")  # type: ignore[attr-defined]
        assert MlflowClient(uri, uri).get_run(failed.mlflow_run_id).info.status == "FAILED"
        assert assert_agree(stack) == "1"
        assert_serves(stack, champion, "1")  # both sources: the pointer's champion
    else:
        assert sorted(r.status for r in rows(stack)) == ["completed", "running"]

    # the next run (worse data) succeeds; it is compared against v1, not the uncommitted v2
    worse = stack.train(worse=True)
    assert worse.returncode == 0, worse.stderr[-3000:]
    assert (worse.output["registered_version"], worse.output["promoted"]) == ("3", False)
    assert assert_agree(stack) == "1"
    assert_serves(stack, champion, "1")

    if repaired_by == "sensor":  # and a good run is then promoted in both places (once is enough)
        after = stack.train()
        assert after.returncode == 0 and after.output["promoted"] is True, after.stderr[-3000:]
        assert assert_agree(stack) == "4"
        assert_serves(stack, after.output["model_version"], "4")
        pointer = bundle_store.read_champion(stack.partition_dir)
        assert pointer is not None and pointer.previous == [champion]
