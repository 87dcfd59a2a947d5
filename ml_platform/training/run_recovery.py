"""What a crash or a rollback needs from MLflow: closing a dead run's MLflow runs, moving the alias back.

`fail_runs_of_dagster_run` is what the run-failure sensor (``assets/run_failure.py``) calls for a
Dagster run whose process died: its MLflow runs still ``RUNNING`` end ``FAILED``.
`rollback_alias` is ``POST /model/rollback`` for ``serving.model_source: mlflow``: the alias goes
back to the version that held it before, from the registered model's ``previous_champions`` tag
(`ml_platform.training.tracking.remember_previous_holder` keeps it when the alias moves).
`restore_uncommitted_alias` repairs a promotion killed between its two writes (see there).
"""

from __future__ import annotations

from ml_platform.training.tracking import PREVIOUS_ALIAS_TAG, _client


def rollback_alias(uri: str, name: str, alias: str) -> tuple[str, str]:
    """Move `alias` of `name` back to the newest version in `PREVIOUS_ALIAS_TAG` that still exists.

    Returns ``(from version, to version)``. Raises LookupError when there is nothing to roll back to.
    """
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        holder = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        raise LookupError(f"models:/{name}@{alias}: {exc.message}") from None
    chain = [v for v in ((client.get_registered_model(name).tags or {}).get(PREVIOUS_ALIAS_TAG) or "").split(",") if v]
    for index, version in enumerate(chain):
        if version == holder:
            continue
        try:
            client.get_model_version(name, version)
        except MlflowException:
            continue
        client.set_registered_model_alias(name, alias, version)
        client.set_registered_model_tag(name, PREVIOUS_ALIAS_TAG, ",".join(chain[index + 1 :]))
        return holder, version
    raise LookupError(f"models:/{name}@{alias}: v{holder} has no previous {alias!r} holder to roll back to")


def fail_runs_of_dagster_run(uri: str, experiment_name: str, dagster_run_id: str, reason: str) -> list[dict[str, str]]:
    """End every still-RUNNING MLflow run tagged ``dagster_run_id`` as FAILED with an ``error`` tag `reason`.

    Returns ``[{"mlflow_run_id", "training_run_id"}]`` of the runs closed (``training_run_id``
    from the run's tag, "" when absent); [] when the experiment does not exist.
    """
    client = _client(uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None or not dagster_run_id:
        return []
    runs = client.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"tags.dagster_run_id = '{dagster_run_id}' and attributes.status = 'RUNNING'",
    )
    closed = []
    for run in runs:
        client.set_tag(run.info.run_id, "error", reason[:5000])
        client.set_terminated(run.info.run_id, "FAILED")
        closed.append({"mlflow_run_id": run.info.run_id, "training_run_id": run.data.tags.get("training_run_id", "")})
    return closed


def restore_uncommitted_alias(uri: str, name: str, alias: str, committed: str | None) -> tuple[str, str] | None:
    """Put `alias` back on `committed` when it names a version whose promotion never reached ``champion.json``.

    A training promotes in two writes: the alias moves, then ``champion.json`` (the commit: the
    pointer is the truth when the two disagree). Killed between them, the alias names a version
    ``champion.json`` never named, whose MLflow run is not FINISHED (RUNNING until the run-failure
    sensor ends it FAILED; FAILED when the training raised). Such a holder is moved back to
    `committed` (the registered version ``champion.json`` names), or, when that is unknown or gone,
    to the newest previous holder (`rollback_alias`); with neither, the alias is removed (the bundle
    source serves nothing for the partition either). A holder whose run FINISHED is left alone
    (a committed promotion, or a deliberate alias-only rollback), and so is a holder `committed` names.

    Called by the run-failure sensor (``assets/run_failure.py``) after it closed the dead run, and by
    every training before it compares against the holder (`ml_platform.training.train`). A RUNNING
    holder may also be a live training of the same partition in the instant between its two writes;
    the PostgreSQL instance config runs one training per pair at a time.

    Returns ``(from version, to version)`` (to "" when the alias was removed), or None when nothing moved.
    """
    from mlflow.exceptions import MlflowException

    client = _client(uri)
    try:
        holder = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None  # no registered model or no alias: nothing was promoted
    held = str(holder.version)
    if committed == held or not holder.run_id or client.get_run(holder.run_id).info.status == "FINISHED":
        return None
    if committed is not None:
        try:
            client.get_model_version(name, committed)
        except MlflowException:
            committed = None
    if committed is None:
        try:
            return rollback_alias(uri, name, alias)
        except LookupError:
            client.delete_registered_model_alias(name, alias)
            return held, ""
    client.set_registered_model_alias(name, alias, committed)
    chain = [v for v in ((client.get_registered_model(name).tags or {}).get(PREVIOUS_ALIAS_TAG) or "").split(",") if v]
    client.set_registered_model_tag(name, PREVIOUS_ALIAS_TAG, ",".join(v for v in chain if v not in (held, committed)))
    return held, committed
