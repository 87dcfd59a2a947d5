"""Start processes in sessions of their own, record them, and stop exactly the recorded groups.

A record holds the pid (= the process group and session id, since each part starts a
new session), the command, the port and the leader's start time (field 22 of
``/proc/<pid>/stat``, clock ticks since boot). `stop_groups` signals a group only when
its leader still has the recorded start time, so a pid the kernel handed to another
process since is never signalled. A group whose leader exited but whose members live on
(same process group and session id) is ours too: Linux does not reuse a pid while it is
still some process's group or session id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ml_platform.storage import replace_durably
from scripts.stack.settings import HOST, StackError

LOG_MARKER = "==== "  # start_process writes this line (and the command) before each start


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    title: str
    pid: int
    pgid: int
    start_time: int
    command: list[str]
    port: int | None
    url: str | None
    log: str

    @classmethod
    def from_dict(cls, raw: Mapping) -> ProcessRecord:
        return cls(**{field: raw[field] for field in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- /proc


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.rsplit(")", 1)[1].split()


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, None when it does not exist (or is a zombie)."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return None
    return int(fields[19])


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group and session are both `pgid` (a group `start_process` made)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields and fields[0] != "Z" and int(fields[2]) == pgid and int(fields[3]) == pgid:
            members.append(int(entry))
    return members


# --------------------------------------------------------------------------- start / stop


def start_process(
    name: str,
    title: str,
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    port: int | None = None,
    url: str | None = None,
) -> tuple[subprocess.Popen, ProcessRecord]:
    """`command` in a new session, stdout and stderr appended to `log_path`; its record."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n{LOG_MARKER}{time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = start_time(process.pid)
    record = ProcessRecord(
        name=name,
        title=title,
        pid=process.pid,
        pgid=process.pid,
        start_time=started if started is not None else -1,
        command=list(command),
        port=port,
        url=url,
        log=str(log_path),
    )
    return process, record


def is_running(record: ProcessRecord) -> bool:
    """The recorded leader still runs (same pid and start time), or, the leader gone, members of its group live on."""
    leader = start_time(record.pid)
    if leader is not None:
        return leader == record.start_time
    return bool(group_members(record.pgid))


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass(frozen=True)
class Stopped:
    record: ProcessRecord
    outcome: str  # "stopped", "killed", "already exited", "pid reused: left alone", "still running"


def stop_groups(records: Sequence[ProcessRecord], *, timeout: float = 20.0) -> list[Stopped]:
    """SIGTERM the recorded groups that are still ours, SIGKILL what is left after `timeout`, and wait."""
    outcomes: dict[int, str] = {}  # by position in `records`
    ours: list[int] = []
    for index, record in enumerate(records):
        leader = start_time(record.pid)
        if leader is not None and leader != record.start_time:
            outcomes[index] = "pid reused: left alone"
        elif leader is None and not group_members(record.pgid):
            outcomes[index] = "already exited"
        else:
            ours.append(index)
            outcomes[index] = "stopped"
            _signal_group(record.pgid, signal.SIGTERM)
    pending = _wait_gone(records, ours, timeout)
    for index in pending:
        _signal_group(records[index].pgid, signal.SIGKILL)
        outcomes[index] = f"killed (still running {timeout:.0f} s after SIGTERM)"
    for index in _wait_gone(records, pending, 10.0):
        outcomes[index] = "still running after SIGKILL"
    return [Stopped(record, outcomes[index]) for index, record in enumerate(records)]


def _wait_gone(records: Sequence[ProcessRecord], indexes: list[int], timeout: float) -> list[int]:
    """The indexes whose groups still have members after waiting up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pending = [index for index in indexes if group_members(records[index].pgid)]
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending = [index for index in pending if group_members(records[index].pgid)]
    return pending


# --------------------------------------------------------------------------- state file


class StateFile:
    """``state.json``: the stack's processes and settings, replaced atomically on every write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict | None:
        """The state, None when there is no file."""
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise StackError(
                f"{self.path} is not valid JSON ({exc}): check that no stack runs (ps), then remove the file"
            ) from None

    def records(self) -> list[ProcessRecord]:
        state = self.read() or {}
        return [ProcessRecord.from_dict(raw) for raw in state.get("processes", [])]

    def write(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, indent=2) + "\n")
        replace_durably(temporary, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def records_to_json(records: Sequence[ProcessRecord]) -> list[dict]:
    return [asdict(record) for record in records]


# --------------------------------------------------------------------------- ports and logs


def port_taken(port: int, host: str = HOST) -> bool:
    """Something listens on (or holds) `host:port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def port_owner(port: int) -> str | None:
    """``pid 123 (python -m serving …)`` of the process listening on `port`, when /proc lets us see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    if not inodes:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                    return f"pid {entry} ({command[:100]})"
        except OSError:
            continue
    return None


def tail(path: str | Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file since its latest start marker ('' when it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64_000))
            text = handle.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    kept = text.splitlines()
    starts = [index for index, line in enumerate(kept) if line.startswith(LOG_MARKER)]
    if starts:
        kept = kept[starts[-1] :]
    return "\n".join(kept[-lines:])
