"""The platform as local processes: ``make up`` / ``make down`` (``python -m scripts.stack up|down|status``).

`up` starts PostgreSQL-backed Dagster (webserver and daemon), an MLflow server, the
inference service and the web app, each in its own session with its log under
``<state dir>/logs``, waits for their health checks and prints their URLs. `down` stops
exactly the process groups `up` recorded in ``<state dir>/state.json``. With ``--workers N``
(``make up WORKERS=N``) it also starts N Celery workers and gives the Dagster processes
``ML_PLATFORM_EXECUTION_ENGINE=celery``: every run's steps, the nightly ``backfill_{PAIR}``
schedules' included, execute on the workers (tests/scale_out/test_stack_backfill.py).

Modules: `settings` (options, URLs, each part's environment), `postgres` (reachability,
databases), `processes` (start, record, stop, ports), `parts` (the commands and health
checks), `__main__` (the CLI).
"""
