"""Benchmark: a backfill of every partition in one process per run, on 1 Celery worker, on 2.

Workload: the sample data at the demo's size (``--candles``, default 20,000 per partition),
every asset of every partition, once for the demo's 6 partitions (3 pairs x 2 timeframes) and
once for 4x as many (12 pairs x 2 timeframes). A backfill is one ``dagster asset materialize``
run per partition, at most ``--runs`` at a time (the stack's ``max_concurrent_runs`` is 2):

- ``in_process``: every step in its run's process (``make demo``'s executor);
- ``celery-1`` / ``celery-2``: the same runs with ``execution.engine: celery``, their steps on 1
  or 2 worker processes (``dagster-celery worker start``) over the local Redis.

Also: the per-step queue overhead (the run's "Submitting celery task" event to the worker's
"Executing steps ... in celery worker" and to STEP_START) on idle workers, and the step times
the paper estimate for 500 partitions is built from. Instance, MLflow and training_runs are
SQLite files in a temporary folder (one machine); Redis gets a database of its own, emptied.

Run: ``.venv/bin/python bench/bench_scale_out.py [--scales 1,4] [--modes in_process,celery-1,celery-2]``;
it prints a JSON line per measurement and writes them all to ``bench/scale_out_results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DEMO_PAIRS = ["EURUSD", "GBPUSD", "BTC-USDT"]
MORE_PAIRS = ["USDJPY", "AUDUSD", "USDCHF", "NZDUSD", "ETH-USDT", "SOL-USDT", "XRP-USDT", "USDCAD", "EURGBP"]
TIMEFRAMES = ["1h", "4h"]


def _claim_redis_db(tag: str):
    import redis

    for db in range(1, 16):
        client = redis.Redis(host="127.0.0.1", port=6379, db=db)
        if client.dbsize() == 0 and client.set("bench-scale-out:lock", tag, nx=True):
            return client, db
        client.close()
    raise SystemExit("no empty Redis database in 1-15")


def _config(base: Path, raw: Path, pairs: list[str], engine: str, broker: str, prefix: str) -> Path:
    data = {
        name: str(base / folder)
        for name, folder in [
            ("raw_store", "candles"),
            ("enriched_path", "enriched"),
            ("labeled_path", "labeled"),
            ("models_path", "models"),
        ]
    }
    data.update(
        raw_path=str(raw / "raw"),
        annotations_path=str(raw / "annotations"),
        ground_truth_path=str(raw / "ground_truth.json"),
    )
    config = {
        "data": data,
        "partitions": {"pairs": pairs, "timeframes": TIMEFRAMES},
        "mlflow": {"tracking_uri": f"sqlite:///{base / 'mlflow.db'}", "artifact_location": str(base / "mlartifacts")},
        "database": {"url": f"sqlite:///{base / 'training_runs.db'}"},
        "execution": {
            "engine": engine,
            "celery": {
                "broker": broker,
                "backend": broker,
                "queues": {"default": f"{prefix}-default", "train": f"{prefix}-train"},
            },
        },
    }
    base.mkdir(parents=True, exist_ok=True)
    path = base / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _env(config: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "ML_PLATFORM_", "DAGSTER_"))}
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env.update(
        ML_PLATFORM_CONFIG=str(config),
        DAGSTER_HOME=str(home),
        PYTHONPATH=str(ROOT),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        OMP_WAIT_POLICY="PASSIVE",
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DATABASE_URL", None)
    return env


def _backfill(env: dict[str, str], keys: list[str], runs: int, cwd: Path) -> float:
    """Wall seconds for one run per key, at most `runs` at a time; raises when a run fails."""
    pending, active, started = list(keys), {}, time.perf_counter()
    while pending or active:
        while pending and len(active) < runs:
            key = pending.pop(0)
            command = [str(BIN / "dagster"), "asset", "materialize", "-m", "assets.definitions"]
            command += ["--select", "*", "--partition", key]
            log = open(cwd / f"run-{key.replace('|', '_')}.log", "w")  # noqa: SIM115
            active[key] = (subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT), log)
        for key, (process, log) in list(active.items()):
            if process.poll() is not None:
                log.close()
                del active[key]
                if process.returncode != 0:
                    raise RuntimeError(f"run {key} failed: see {log.name}")
        time.sleep(0.2)
    return time.perf_counter() - started


def _step_figures(home: Path) -> dict[str, Any]:
    """Per-step durations and, for Celery runs, submit -> worker and submit -> STEP_START latencies."""
    code = f"""
import json, os
os.environ['DAGSTER_HOME'] = {str(home)!r}
from dagster import DagsterInstance
out = {{'steps': [], 'queue_to_worker': [], 'queue_to_start': []}}
with DagsterInstance.get() as instance:
    for run in instance.get_runs():
        submitted, begun, times = {{}}, {{}}, {{}}
        for rec in instance.all_logs(run.run_id):
            ev, key, msg = rec.dagster_event, None, rec.message or ''
            if ev is None:
                continue
            key = ev.step_key
            if ev.event_type_value == 'ENGINE_EVENT' and msg.startswith('Submitting celery task'):
                submitted[key] = rec.timestamp
            elif ev.event_type_value == 'ENGINE_EVENT' and 'in celery worker' in msg:
                begun[key] = rec.timestamp
            elif ev.event_type_value == 'STEP_START':
                times[key] = [rec.timestamp, None]
                if key in submitted:
                    out['queue_to_start'].append(rec.timestamp - submitted[key])
            elif ev.event_type_value in ('STEP_SUCCESS', 'STEP_FAILURE') and key in times:
                out['steps'].append([key, rec.timestamp - times[key][0]])
        out['queue_to_worker'] += [begun[k] - submitted[k] for k in begun if k in submitted]
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    by_step: dict[str, list[float]] = {}
    for key, seconds in figures["steps"]:
        kind = (
            "trained_model"
            if key == "trained_model"
            else ("check" if key.startswith(("raw_candles_", "enriched_features_")) else key)
        )
        by_step.setdefault(kind, []).append(seconds)
    out: dict[str, Any] = {f"step_{k}_median_s": round(statistics.median(v), 2) for k, v in sorted(by_step.items())}
    out["step_seconds_total"] = round(sum(s for _, s in figures["steps"]), 1)
    for name in ("queue_to_worker", "queue_to_start"):
        values = figures[name]
        if values:
            out[f"{name}_min_s"] = round(min(values), 2)
            out[f"{name}_median_s"] = round(statistics.median(values), 2)
            out[f"{name}_p90_s"] = round(sorted(values)[int(0.9 * (len(values) - 1))], 2)
    return out


def measure(mode: str, scale: int, args: argparse.Namespace, base: Path, redis_url: str, tag: str) -> dict[str, Any]:
    from scripts.stack.processes import stop_groups
    from scripts.stack.workers import (
        WorkerSpec,
        celery_app,
        queue_names,
        start_workers,
        wait_for_workers,
        write_worker_yaml,
    )

    pairs = DEMO_PAIRS if scale == 1 else DEMO_PAIRS + MORE_PAIRS
    pairs = pairs[: len(DEMO_PAIRS) * scale]
    keys = [f"{pair}|{tf}" for pair in pairs for tf in TIMEFRAMES]
    raw = base / f"raw-x{scale}"
    folder = base / f"{mode}-x{scale}"
    prefix = f"{tag}-{mode}-{scale}"
    engine = "in_process" if mode == "in_process" else "celery"
    config = _config(folder, raw, pairs, engine, redis_url, prefix)
    if not (raw / "raw").exists():
        raw_config = _config(raw, raw, pairs, "in_process", redis_url, prefix)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ml_platform.sample_data",
                "--config",
                str(raw_config),
                "--candles",
                str(args.candles),
            ],
            check=True,
            env=_env(raw_config, raw / "home"),
            capture_output=True,
        )
    env = _env(config, folder / "home")
    # The SQLite stores are created once before the runs and workers race to migrate them (in a deployment
    # they are the MLflow server and PostgreSQL).
    init = (
        "import mlflow; from ml_platform.config import load_config; from ml_platform.db import RunStore\n"
        "c = load_config(); mlflow.set_tracking_uri(c.mlflow.tracking_uri); mlflow.set_experiment(c.mlflow.experiment_name)\n"
        "s = RunStore(c.database.url); s.ensure_ready(); s.dispose()\n"
        "from dagster import DagsterInstance\nDagsterInstance.get().dispose()\n"
    )
    subprocess.run([sys.executable, "-c", init], check=True, env=env, cwd=folder, capture_output=True)
    records = []
    try:
        if engine == "celery":
            count = int(mode.split("-")[1])
            worker_yaml = write_worker_yaml(config, folder / "celery.yaml", env)
            specs = [WorkerSpec(f"{prefix}-w{i}", queue_names(config, ["default", "train"], env)) for i in range(count)]
            pairs_started = start_workers(specs, worker_yaml=worker_yaml, env=env, logs_dir=folder / "logs", cwd=folder)
            records = [record for _, record in pairs_started]
            wait_for_workers(
                celery_app(config, env), specs, [p for p, _ in pairs_started], [r.log for r in records], 300
            )
        load_before = os.getloadavg()[0]
        runs = args.runs if engine == "in_process" else max(args.runs, 2 * int(mode.split("-")[1]))
        wall = _backfill(env, keys, runs, folder)
        load_after = os.getloadavg()[0]
        figures = _step_figures(folder / "home")
    finally:
        if records:
            stop_groups(records, timeout=20.0)
    return {
        "mode": mode,
        "partitions": len(keys),
        "concurrent_runs": runs,
        "wall_s": round(wall, 1),
        "s_per_partition": round(wall / len(keys), 1),
        "load_before": round(load_before, 2),
        "load_after": round(load_after, 2),
        **_summary(figures),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4")
    parser.add_argument("--modes", default="in_process,celery-1,celery-2")
    parser.add_argument("--candles", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2, help="concurrent runs in process (the stack's limit)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "scale_out_results.md")
    parser.add_argument(
        "--workdir", type=Path, help="keep the data, logs and instances here (default: a temporary folder)"
    )
    args = parser.parse_args()
    tag = f"bench{uuid.uuid4().hex[:6]}"
    client, db = _claim_redis_db(tag)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-out-") as tmp:
            if args.workdir:
                tmp = str(args.workdir)
            for scale in [int(s) for s in args.scales.split(",")]:
                for mode in args.modes.split(","):
                    result = measure(mode, scale, args, Path(tmp), f"redis://127.0.0.1:6379/{db}", tag)
                    results.append(result)
                    print(json.dumps(result), flush=True)
                    args.out.write_text("```json\n" + json.dumps(results, indent=1) + "\n```\n")
    finally:
        client.flushdb()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
