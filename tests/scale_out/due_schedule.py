"""``python -m tests.scale_out.due_schedule SCHEDULE``: before `make up`, make SCHEDULE's latest tick due.

Run with the stack's environment (``DAGSTER_HOME``, ``DAGSTER_PG_*``, ``ML_PLATFORM_CONFIG``), after its
databases exist and before its daemon starts. Loads the workspace (``workspace.yaml``, as the
daemon does) and stores in the Dagster instance:

- SCHEDULE as RUNNING since a minute before its latest cron time (02:00 UTC for the first pair's
  ``backfill_{PAIR}``): the daemon's scheduler, on its first iteration, evaluates that tick, as it
  does at 02:00 for a stack started before then (a tick the daemon was down for is caught up the
  same way);
- every sensor that requests runs (raw data, annotations, automation) as STOPPED, as when switched
  off under Automation in the UI, so the schedule's runs are the only ones. The run-failure sensor
  stays on.

Prints ``tick <epoch seconds>`` and ``stopped <sensor>`` lines.
"""

from __future__ import annotations

import sys
import time

from dagster import DagsterInstance
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, ScheduleInstigatorData
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from scripts.stack.settings import REPO

KEEP_RUNNING = {SensorType.RUN_STATUS}  # close_failed_training_runs requests no runs


def latest_tick(schedule, now: float) -> float:
    """The schedule's latest cron time at or before `now` (epoch seconds)."""
    latest = None
    for tick in schedule.execution_time_iterator(now - 8 * 86400):
        if tick.timestamp() > now:
            break
        latest = tick.timestamp()
    assert latest is not None, f"{schedule.name} has no tick in the last 8 days"
    return latest


def main(argv: list[str]) -> int:
    (name,) = argv
    with (
        DagsterInstance.get() as instance,
        WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(REPO / "workspace.yaml")])) as workspace,
    ):
        context = workspace.create_request_context()
        (entry,) = context.get_code_location_entries().values()
        if entry.code_location is None:
            raise SystemExit(f"the code location failed to load: {entry.load_error}")
        (repository,) = entry.code_location.get_repositories().values()
        schedule = repository.get_schedule(name)
        tick = latest_tick(schedule, time.time())
        existing = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
        state = InstigatorState(
            schedule.get_remote_origin(),
            InstigatorType.SCHEDULE,
            InstigatorStatus.RUNNING,
            ScheduleInstigatorData(schedule.cron_schedule, start_timestamp=tick - 60),
        )
        if existing is None:
            instance.add_instigator_state(state)
        else:
            instance.update_instigator_state(state)
        print(f"tick {tick:.0f}", flush=True)
        for sensor in repository.get_sensors():
            if sensor.sensor_type not in KEEP_RUNNING:
                instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
                print(f"stopped {sensor.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
