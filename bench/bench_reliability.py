"""Benchmark: the inference service under load, under hot reload and against faults.

The figures `docs/RELIABILITY.md` and `docs/BENCHMARKS.md` quote, re-runnable by anyone
(`make bench-reliability`, about 5 minutes). Servers are real `python -m serving` subprocesses
over loopback, on the small XGBoost bundle of `scripts/e2e_fixture.py --mode perf`:

1. **Load.** ``--clients`` concurrent clients (default 32 and 64) post ``/predict`` with 500
   candles for ``--seconds`` each, against 1 uvicorn worker and against one per core
   (``serving.workers: 0``): requests per second, p50/p95 latency, errors, and the resident
   memory of the server's processes at the start and the end of the run.
2. **Hot reload under load.** 32 clients for ``--seconds`` while the bundle is re-published
   ``--swaps`` times under new versions (each worker picks it up by polling,
   ``serving.reload_interval_seconds``): failed requests and the versions the answers named.
3. **Faults.** ``/health`` with ``DATABASE_URL`` and ``MLFLOW_TRACKING_URI`` at a TCP listener
   that accepts and never answers (one call, then 20 concurrent); a body nested 1,000 levels
   deep; 200 connections that send half a request head (how long until the server closes them).

The load generator runs on the same 2 cores as the server, so req/s is a floor for what a
separate client machine would see, and 1 vs N workers compares like with like only within one
run. Writes ``bench/reliability_results.md`` (git-ignored) and prints it.

    python bench/bench_reliability.py [--seconds 15] [--clients 32,64] [--swaps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml_platform.config import load_config  # noqa: E402
from ml_platform.partitions import Partition  # noqa: E402
from serving.candle_store import CandleStore  # noqa: E402

PAIR, TIMEFRAME = "EURUSD", "1h"
CANDLES_PER_REQUEST = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_fixture(out: Path) -> Path:
    """The perf fixture's config (one partition, a small XGBoost bundle); returns the config path."""
    command = [sys.executable, "-m", "scripts.e2e_fixture", "--out", str(out), "--mode", "perf", "--candles", "20000"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@contextmanager
def service(config: Path, workers: int, *, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`python -m serving` with `workers` processes (0 = one per core); yields (base URL, pid)."""
    port = free_port()
    log = open(config.parent / f"serving-{port}.log", "w")  # noqa: SIM115 - closed below
    command = [sys.executable, "-m", "serving", "--config", str(config), "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"{url}/model/info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready after 90 s; see {log.name}")
            time.sleep(0.5)
        yield url, process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def group_rss_mb(pid: int) -> float:
    """Resident memory of every process in `pid`'s process group (the server and its workers), MB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pid:  # field 5 of /proc/PID/stat: the process group
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1024


def request_body(config: Path) -> bytes:
    """500 stored candles of the partition as a /predict body."""
    store = CandleStore(load_config(config).data)
    frame = store.read(Partition(PAIR, TIMEFRAME))
    if frame is None:
        raise RuntimeError(f"no stored candles for {PAIR}|{TIMEFRAME} under {store.path(Partition(PAIR, TIMEFRAME))}")
    part = frame.iloc[-CANDLES_PER_REQUEST:]  # times: epoch seconds, as the store keeps them
    records = part[["time", "open", "high", "low", "close", "volume"]].to_dict(orient="records")
    return msgspec.json.encode({"pair": PAIR, "timeframe": TIMEFRAME, "candles": records})


async def load(url: str, body: bytes, *, clients: int, seconds: float) -> dict[str, object]:
    """`clients` loops posting `body` for `seconds`; latencies, statuses and model versions seen."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    versions: set[str] = set()
    first_error: list[str] = []
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers={"content-type": "application/json"}) as client:

        async def one_client() -> None:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    response = await client.post(f"{url}/predict", content=body)
                except httpx.HTTPError as exc:
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures[str(response.status_code)] = failures.get(str(response.status_code), 0) + 1
                    if len(first_error) == 0:
                        first_error.append(response.text[:500])
                        print(f"first error: {response.status_code} {response.text[:500]}", file=sys.stderr)
                else:
                    versions.add(str(response.json()["model_info"]["version"]))

        started = time.monotonic()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": ordered[len(ordered) // 2] if ordered else float("nan"),
        "p95": ordered[int(len(ordered) * 0.95)] if ordered else float("nan"),
        "failures": failures,
        "versions": versions,
    }


def republish(config: Path, version: str) -> None:
    """Publish the partition's model again under `version` and promote it, the way a promoted retrain does."""
    code = (
        "import sys, msgspec\n"
        "from pathlib import Path\n"
        "from ml_platform.bundle import load_bundle\n"
        "from ml_platform.bundle_store import promote, write_version\n"
        "from ml_platform.config import load_config\n"
        "from ml_platform.partitions import Partition\n"
        "folder = load_config(sys.argv[1]).data.bundle_dir(Partition('EURUSD', '1h'))\n"
        "b = load_bundle(folder)\n"
        "write_version(folder, msgspec.structs.replace(b.meta, model_version=sys.argv[2]), b.model)\n"
        "promote(folder, sys.argv[2], reason='bench: republished')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(config), version],
        cwd=ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def silent_listener() -> tuple[socket.socket, int]:
    """A TCP listener that accepts connections and never answers (the backlog does the accepting)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    return listener, int(listener.getsockname()[1])


async def timed_health(url: str, calls: int) -> list[float]:
    async with httpx.AsyncClient(timeout=120) as client:

        async def one() -> float:
            started = time.perf_counter()
            await client.get(f"{url}/health")
            return time.perf_counter() - started

        return list(await asyncio.gather(*(one() for _ in range(calls))))


def half_heads(port: int, connections: int, limit: float) -> list[float]:
    """Open `connections` sockets that send half a request head; seconds until each is closed (or `limit`)."""
    closed_after: list[float] = []
    sockets = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port), timeout=limit)
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        sockets.append((s, time.monotonic()))

    def wait(s: socket.socket, opened: float) -> None:
        try:
            s.settimeout(max(0.1, limit - (time.monotonic() - opened)))
            s.recv(1)  # b"" (closed) or the server's 408/400
            closed_after.append(time.monotonic() - opened)
        except OSError:
            closed_after.append(limit)
        finally:
            s.close()

    threads = [threading.Thread(target=wait, args=pair) for pair in sockets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return closed_after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", default="32,64")
    parser.add_argument("--swaps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "reliability_results.md")
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    cores = os.cpu_count() or 1
    lines = [
        f"# Reliability figures ({time.strftime('%Y-%m-%d %H:%M')} UTC, {cores} cores, load average {os.getloadavg()[0]:.1f})",
        "",
    ]

    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        config = make_fixture(Path(tmp) / "fixture")
        body = request_body(config)

        lines += ["## Load: /predict with 500 candles", ""]
        lines += ["| workers | clients | requests | req/s | p50 ms | p95 ms | errors | RSS MB start -> end |"]
        lines += ["| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for workers in (1, 0):
            with service(config, workers) as (url, pid):
                asyncio.run(load(url, body, clients=4, seconds=3))  # warm every worker
                for n in clients:
                    rss_start = group_rss_mb(pid)
                    r = asyncio.run(load(url, body, clients=n, seconds=args.seconds))
                    rss_end = group_rss_mb(pid)
                    label = f"{cores} (one per core)" if workers == 0 else "1"
                    lines.append(
                        f"| {label} | {n} | {r['requests']} | {r['rps']:.0f} | {r['p50'] * 1000:.0f} | "
                        f"{r['p95'] * 1000:.0f} | {r['failures'] or 0} | {rss_start:.0f} -> {rss_end:.0f} |"
                    )
                    print(lines[-1], flush=True)

        lines += ["", "## Hot reload under load (32 clients, one worker per core)", ""]
        with service(config, 0) as (url, _pid):
            published = []

            def swapper() -> None:
                for i in range(args.swaps):
                    time.sleep(args.seconds / (args.swaps + 1))
                    version = f"bench-swap-{i + 1}"
                    republish(config, version)
                    published.append(version)

            thread = threading.Thread(target=swapper)
            thread.start()
            r = asyncio.run(load(url, body, clients=32, seconds=args.seconds + 8))
            thread.join()
            seen = sorted(r["versions"])  # type: ignore[arg-type]
            # a swap late in the run may land after the load ended: wait for every worker to serve the last one
            waited = time.monotonic()
            answers: set[str] = set()
            while time.monotonic() - waited < 30:
                answers = {httpx.get(f"{url}/model/info", timeout=10).json()["models"][0]["version"] for _ in range(8)}
                if answers == {published[-1]}:
                    break
                time.sleep(0.25)
            lines.append(
                f"{len(published)} bundle swaps during {r['requests']} requests: errors {r['failures'] or 0}; "
                f"versions answered under load: {', '.join(seen)}; after the last swap, the service answered only "
                f"{published[-1]}: {answers == {published[-1]}} ({time.monotonic() - waited:.1f} s after the load ended)"
            )
            print(lines[-1], flush=True)

        lines += ["", "## Faults", ""]
        listener, silent = silent_listener()
        env = {
            "DATABASE_URL": f"postgresql+psycopg2://u@127.0.0.1:{silent}/db",
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{silent}",
        }
        try:
            with service(config, 1, env=env) as (url, _pid):
                one = asyncio.run(timed_health(url, 1))
                time.sleep(4)  # past the 3 s health cache
                many = asyncio.run(timed_health(url, 20))
                lines.append(
                    f"- /health, dependencies that accept and never answer: one call {one[0]:.1f} s; "
                    f"20 concurrent: median {statistics.median(many):.1f} s, max {max(many):.1f} s"
                )
                nested = b'{"a":' * 1000 + b"1" + b"}" * 1000
                status = httpx.post(
                    f"{url}/predict", content=nested, headers={"content-type": "application/json"}
                ).status_code
                lines.append(f"- /predict with a 1,000-level nested body: HTTP {status}")
                port = int(url.rsplit(":", 1)[1])
                closed = half_heads(port, 200, limit=30.0)
                lines.append(
                    f"- 200 connections with half a request head: closed after median {statistics.median(closed):.1f} s, "
                    f"max {max(closed):.1f} s ({sum(c >= 30.0 for c in closed)} still open at 30 s)"
                )
        finally:
            listener.close()
        print("\n".join(lines[-3:]), flush=True)

    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
