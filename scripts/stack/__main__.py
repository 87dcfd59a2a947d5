"""``python -m scripts.stack up|down|status [options]``: the platform as local processes (``make up``/``make down``).

up      checks (no stack recorded as running, ports free, PostgreSQL reachable, config valid),
        sample data when the configured raw files are all missing, the databases, ``next build``
        when the web sources are newer than web/.next, then starts MLflow, the Dagster webserver
        and daemon, the inference service and the web app (and, with --workers N, N Celery
        workers running every run's steps), waits for their health checks and prints their URLs.
        A part that fails: its log's last lines, everything started is stopped, exit 1.
down    stops the recorded process groups (SIGTERM, SIGKILL after --stop-timeout), removes the
        state file; a no-op when nothing is recorded.
status  what is recorded, whether it still runs and listens.

Options and their environment variables: `scripts/stack/settings.py`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from scripts.stack.parts import NEXT_BIN, Part, PartFailed, build_parts
from scripts.stack.postgres import check_reachable, ensure_databases
from scripts.stack.processes import (
    ProcessRecord,
    StateFile,
    is_running,
    port_owner,
    port_taken,
    records_to_json,
    start_process,
    stop_groups,
    tail,
)
from scripts.stack.settings import REPO, WEB, StackError, StackSettings, add_options, settings_from_args

PROGRESS_EVERY = 10.0  # seconds between "still waiting" lines
WEB_BUILD_TIMEOUT = 900.0
WEB_BUILD_INPUTS = ["package-lock.json", "next.config.ts", "tsconfig.json"]


def _say(message: str = "") -> None:
    print(message, flush=True)


def _short(path: Path) -> str:
    """`path` relative to the working directory when inside it (shorter lines)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- up: checks and preparation


def _refuse_if_running(settings: StackSettings, state: StateFile) -> None:
    if state.read() is None:
        return
    alive = [record for record in state.records() if is_running(record)]
    if alive:
        names = ", ".join(f"{record.title} (pid {record.pid})" for record in alive)
        raise StackError(
            f"a stack is already running ({names}; state {state.path}): stop it first with `{_stop_command(settings)}`"
        )
    _say(f"a previous stack's state file was left behind (its processes are gone): removing {_short(state.path)}")
    state.remove()


def _check_ports(parts: list[Part]) -> None:
    taken = []
    for part in parts:
        if part.port is not None and port_taken(part.port):
            owner = port_owner(part.port)
            taken.append(f"port {part.port} ({part.title}) is taken" + (f" by {owner}" if owner else ""))
    if taken:
        raise StackError("; ".join(taken) + ": stop what uses it, or choose another port (see --help)")


def _load_config(settings: StackSettings):
    from ml_platform.config import ConfigError, load_config

    try:
        return load_config(settings.config_path)
    except ConfigError as exc:
        raise StackError(f"pipeline config: {exc}") from None


def _ensure_sample_data(settings: StackSettings, config) -> None:
    """Run the sample data generator when none of the configured partitions has a raw file."""
    from ml_platform.partitions import Partition

    raw_dir = config.data.raw_dir
    stems = [
        Partition(pair, timeframe).stem
        for pair in config.partitions.pairs
        for timeframe in config.partitions.timeframes
    ]
    missing = [
        stem for stem in stems if not any((raw_dir / f"{stem}{suffix}").exists() for suffix in (".csv", ".parquet"))
    ]
    if not missing:
        return
    if len(missing) < len(stems):
        _say(f"note: no raw file for {', '.join(missing)} in {raw_dir}: those partitions will fail to materialize")
        return
    _say(f"no raw candles in {raw_dir}: writing the sample data (ml-platform-sample-data) …")
    result = subprocess.run(
        [sys.executable, "-m", "ml_platform.sample_data", "--config", str(settings.config_path)],
        cwd=REPO,
        env=settings.python_env(),
    )
    if result.returncode != 0:
        raise StackError(f"the sample data generator failed (exit {result.returncode})")


def _newest_mtime(folder: Path) -> float:
    newest = 0.0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
    return newest


def _web_build_needed(mode: str) -> bool:
    """As web/e2e/harness.mjs decides: a build is current when BUILD_ID is newer than the sources."""
    build_id = WEB / ".next" / "BUILD_ID"
    if mode == "always":
        return True
    if mode == "never":
        if not build_id.exists():
            raise StackError("web/.next holds no build and --web-build is never: run `cd web && npm run build`")
        return False
    if not build_id.exists():
        return True
    sources = max(_newest_mtime(WEB / "src"), *(os.stat(WEB / name).st_mtime for name in WEB_BUILD_INPUTS))
    return build_id.stat().st_mtime <= sources


def _build_web(settings: StackSettings) -> None:
    if not NEXT_BIN.exists():
        raise StackError(f"{NEXT_BIN} is missing: run `make web-install`")
    if not _web_build_needed(settings.web_build):
        return
    log_path = settings.logs_dir / "web-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _say(f"building the web app (next build, about a minute; log {_short(log_path)}) …")
    started = last_progress = time.monotonic()
    with open(log_path, "wb") as log:
        build = subprocess.Popen(
            [shutil.which("node") or "node", str(NEXT_BIN), "build"],
            cwd=WEB,
            env=settings.web_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while build.poll() is None:
                time.sleep(0.5)
                now = time.monotonic()
                if now - started > WEB_BUILD_TIMEOUT:
                    raise StackError(f"next build took over {WEB_BUILD_TIMEOUT:.0f} s:\n{tail(log_path)}")
                if now - last_progress >= 2 * PROGRESS_EVERY:
                    _say(f"  … building ({now - started:.0f} s)")
                    last_progress = now
        finally:
            if build.poll() is None:
                build.kill()
                build.wait()
    if build.returncode != 0:
        raise StackError(f"next build failed (exit {build.returncode}); last lines of {log_path}:\n{tail(log_path)}")
    _say(f"  web app built in {time.monotonic() - started:.0f} s")


def _prepare_dagster_home(settings: StackSettings) -> None:
    """DAGSTER_HOME with the repository's PostgreSQL instance config (storage from the DAGSTER_PG_* variables)."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.postgres.yaml", settings.dagster_home / "dagster.yaml")
    settings.artifacts_dir.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- up: start and wait


def _state(settings: StackSettings, records: list[ProcessRecord], status: str, started_at: str) -> dict:
    return {
        "version": 1,
        "status": status,
        "started_at": started_at,
        "config": str(settings.config_path),
        "state_dir": str(settings.state_dir),
        "postgres": {name: settings.server.redacted(name) for name in settings.databases.names()},
        "processes": records_to_json(records),
    }


def _wait_healthy(part: Part, process: subprocess.Popen, timeout: float) -> str:
    """Poll the part's health check until it is ready; PartFailed when it exits, fails or times out."""
    started = time.monotonic()
    last_progress = started
    detail = "not checked yet"
    while True:
        code = process.poll()
        if code is not None:
            raise PartFailed(f"exited with code {code}")
        health = part.health()
        detail = health.detail
        if health.ready:
            return detail
        now = time.monotonic()
        if now - started > timeout:
            raise PartFailed(f"no healthy answer within {timeout:.0f} s (last: {detail})")
        if now - last_progress >= PROGRESS_EVERY:
            _say(f"  … {part.title}: {detail} ({now - started:.0f} s)")
            last_progress = now
        time.sleep(0.5)


def _stop_and_report(records: list[ProcessRecord], state: StateFile, *, timeout: float = 20.0) -> list:
    results = stop_groups(list(reversed(records)), timeout=timeout)
    for result in results:
        record = result.record
        port = f"port {record.port}" if record.port else "no port"
        _say(f"  {record.title:<20} pid {record.pid:<8} {port:<11} {result.outcome}")
    state.remove()
    return results


def up(settings: StackSettings, args: argparse.Namespace) -> int:
    began = time.monotonic()
    state = StateFile(settings.state_file)
    _refuse_if_running(settings, state)
    parts = build_parts(settings)
    _check_ports(parts)
    check_reachable(settings.server)
    if settings.workers:  # --workers N: the Celery broker must answer
        from scripts.stack.workers import check_broker

        check_broker(settings)
    config = _load_config(settings)
    _say(
        f"config {_short(settings.config_path)}, state {_short(settings.state_dir)}, "
        f"PostgreSQL {settings.server.host}:{settings.server.port}"
    )
    _ensure_sample_data(settings, config)
    created = ensure_databases(settings.server, settings.databases.names())
    if created:
        _say(f"created databases: {', '.join(created)}")
    _build_web(settings)
    _prepare_dagster_home(settings)

    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    records: list[ProcessRecord] = []
    processes: dict[str, subprocess.Popen] = {}
    details: dict[str, str] = {}
    current: Part | None = None
    try:
        for part in parts:
            process, record = start_process(
                part.name,
                part.title,
                part.command,
                cwd=part.cwd,
                env=part.env,
                log_path=settings.logs_dir / f"{part.name}.log",
                port=part.port,
                url=part.url,
            )
            processes[part.name] = process
            records.append(record)
            state.write(_state(settings, records, "starting", started_at))
            _say(f"started {part.title:<18} pid {record.pid:<8} log {_short(Path(record.log))}")
        for part in parts:
            current = part
            _say(f"waiting for {part.title} ({part.url}) …")
            details[part.name] = _wait_healthy(part, processes[part.name], settings.timeout)
            _say(f"  {part.title} is up: {details[part.name]}")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            _say("\ninterrupted: stopping what was started")
        else:
            title = current.title if current is not None else "starting the stack"
            _say(f"\n{title} failed: {exc}")
            if current is not None:
                log = settings.logs_dir / f"{current.name}.log"
                _say(f"last lines of {log}:\n" + "\n".join(f"  | {line}" for line in tail(log).splitlines()))
            _say("\nstopping what was started:")
        _stop_and_report(records, state)
        if isinstance(exc, (PartFailed, KeyboardInterrupt)):
            return 130 if isinstance(exc, KeyboardInterrupt) else 1
        raise
    state.write(_state(settings, records, "running", started_at))
    _print_urls(settings, config, details, time.monotonic() - began)
    return 0


def _stop_command(settings: StackSettings) -> str:
    if settings.state_dir == (REPO / ".stack").resolve():
        return "make down"
    return f"python -m scripts.stack down --state-dir {settings.state_dir}"


def _print_urls(settings: StackSettings, config, details: dict[str, str], seconds: float) -> None:
    ports, databases = settings.ports, settings.databases
    pair, timeframe = config.partitions.pairs[0], config.partitions.timeframes[0]
    web = settings.http(ports.web)
    rows = [
        (
            "Dagster UI",
            settings.http(ports.dagster),
            f"storage in PostgreSQL '{databases.dagster}'; daemon: {details.get('dagster-daemon', '')}",
        ),
        (
            "MLflow",
            settings.mlflow_url,
            f"runs in PostgreSQL '{databases.mlflow}', artifacts in {_short(settings.artifacts_dir)}",
        ),
        ("Inference service", settings.http(ports.inference), details.get("inference", "")),
        ("Web app (chart)", web, f"annotations in PostgreSQL '{databases.annotations}'"),
    ]
    _say(
        f"\nThe platform is up ({seconds:.0f} s). Logs: {_short(settings.logs_dir)}/   "
        f"Stop it: {_stop_command(settings)}\n"
    )
    for title, url, detail in rows:
        _say(f"  {title:<18} {url:<24} {detail}")
    _say(f"\n  training runs: PostgreSQL '{databases.training_runs}'; config {_short(settings.config_path)}")
    if settings.workers:
        _say(f"  steps: on {settings.workers} Celery worker(s) (logs {_short(settings.logs_dir)}/worker-*.log)")
    _say(
        f"\nNext: in the Dagster UI, Assets → select every asset → Materialize → partition {pair}|{timeframe} → "
        f"Launch; then the run in MLflow (experiment {config.mlflow.experiment_name!r}) and the predictions "
        f"on the chart, {web}/?pair={pair}&timeframe={timeframe}"
    )


# --------------------------------------------------------------------------- down, status


def down(settings: StackSettings, args: argparse.Namespace) -> int:
    state = StateFile(settings.state_file)
    recorded = state.read()
    if recorded is None:
        _say(f"nothing to stop: no stack is recorded in {_short(settings.state_file)}")
        return 0
    records = state.records()
    _say(f"stopping the stack started {recorded.get('started_at', '?')} ({len(records)} processes):")
    results = _stop_and_report(records, state, timeout=args.stop_timeout)
    left = [result.record.title for result in results if result.outcome.startswith("still")]
    if left:
        _say(f"could not stop: {', '.join(left)}")
        return 1
    return 0


def status(settings: StackSettings, args: argparse.Namespace) -> int:
    state = StateFile(settings.state_file)
    recorded = state.read()
    if recorded is None:
        _say(f"no stack is recorded in {_short(settings.state_file)} (`make up` starts one)")
        return 0
    _say(f"stack started {recorded.get('started_at', '?')}, status {recorded.get('status')}:")
    for record in state.records():
        running = is_running(record)
        listening = (
            ""
            if record.port is None
            else (f", {'listening' if port_taken(record.port) else 'not listening'} on {record.port}")
        )
        _say(
            f"  {record.title:<20} pid {record.pid:<8} {'running' if running else 'exited'}{listening}"
            f"  {record.url or ''}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.stack",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in [
        ("up", "start the stack and wait for its health checks"),
        ("down", "stop what `up` started"),
        ("status", "what `up` started and whether it still runs"),
    ]:
        command = commands.add_parser(name, help=help_text)
        add_options(command)
        if name == "down":
            command.add_argument(
                "--stop-timeout", type=float, default=20.0, help="seconds between SIGTERM and SIGKILL (default 20)"
            )
    args = parser.parse_args(argv)
    try:
        settings = settings_from_args(args)
        return {"up": up, "down": down, "status": status}[args.command](settings, args)
    except StackError as exc:
        print(f"stack {args.command}: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"stack {args.command}: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
