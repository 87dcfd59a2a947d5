"""``python -m tests.scale_out.reexecute RUN_ID``: re-execute a failed asset run from failure (exit 0 on success).

What the UI's "Re-execute from failure" does, from a process of its own (as the tests launch runs).
Prints ``run <new run id> <SUCCESS|FAILURE>``.
"""

from __future__ import annotations

import sys

from dagster import DagsterInstance, ReexecutionOptions, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository


def main(argv: list[str]) -> int:
    (run_id,) = argv
    with DagsterInstance.get() as instance:
        parent = instance.get_run_by_id(run_id)
        assert parent is not None, f"no run {run_id}"
        job = ReconstructableRepository.for_module("assets.definitions", "defs").get_reconstructable_job(
            parent.job_name
        )
        # The partition (and the user's tags) carry over, as the UI's re-execution does; Dagster adds
        # the parent and root run ids itself.
        tags = {
            k: v for k, v in parent.tags.items() if not k.startswith("dagster/") or k.startswith("dagster/partition")
        }
        result = execute_job(
            job, instance=instance, tags=tags, reexecution_options=ReexecutionOptions.from_failure(run_id, instance)
        )
        print(f"run {result.run_id} {'SUCCESS' if result.success else 'FAILURE'}", flush=True)
        return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
