"""Version the raw candles and the annotation exports with DVC: ``python -m scripts.data_versioning push|pull|status``.

push     track ``data.raw_path`` and ``data.annotations_path`` (``dvc add``) and upload them to
         the remote ``dvc.remote_name`` at ``dvc.remote_path`` (``make data-push``); commit the
         ``.dvc`` files it writes so other clones can pull
pull     restore them from that remote (``make data-pull``); ``--force`` overwrites local changes
status   what differs between the data, its ``.dvc`` files and the remote

The paths come from the pipeline config (``--config``, else ``ML_PLATFORM_CONFIG``, else
``config/pipeline.yaml``). The remote is set on every call, as the default remote, in
``.dvc/config.local`` (git-ignored): a machine's path is never committed. A local
``remote_path`` is created by push; a URL (``s3://``, ``ssh://``) is handed to DVC as it is.
The DVC repository is the nearest folder above the data holding ``.dvc/``.

Exit codes: 0 done (status: data, .dvc files and remote agree); 1 a dvc command failed
(status: something to push or pull); 2 it cannot start: bad config, no DVC repository, the
data missing, the data not tracked yet, an empty remote. Messages name the make target to run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ml_platform.config import ConfigError, PipelineConfig, load_config
from ml_platform.data_version import find_dvc_root, read_dvc_config

TRACKED_FIELDS = ("raw_path", "annotations_path")  # the data.* paths DVC versions


class SetupError(Exception):
    """What is missing before DVC can run; the message says what to run."""


@dataclass(frozen=True)
class Workspace:
    """The DVC repository, the tracked paths in it and the configured remote."""

    root: Path
    targets: tuple[Path, ...]
    remote_name: str
    remote_url: str
    remote_is_local: bool

    @classmethod
    def from_config(cls, config: PipelineConfig) -> Workspace:
        targets = (config.data.raw_dir, config.data.annotations_dir)
        root = find_dvc_root(targets[0].parent)
        if root is None:
            raise SetupError(
                f"{targets[0]} is not in a DVC repository (no .dvc/ folder above it): "
                "run `dvc init` in the repository that holds the data"
            )
        for field, target in zip(TRACKED_FIELDS, targets, strict=True):
            if root not in target.parents:
                raise SetupError(f"data.{field}: {target} is outside the DVC repository {root}")
        return cls(root, targets, config.dvc.remote_name, config.dvc.remote_url(), config.dvc.remote_is_local)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def names(self) -> list[str]:
        return [self.rel(target) for target in self.targets]

    def dvc_files(self) -> list[str]:
        return [f"{name}.dvc" for name in self.names()]

    def remote_is_empty(self) -> bool:
        """True for a local remote folder holding no file (a URL remote is never called empty here)."""
        if not self.remote_is_local:
            return False
        remote = Path(self.remote_url)
        return not remote.is_dir() or not any(path.is_file() for path in remote.rglob("*"))


# --------------------------------------------------------------------------- commands


def push(ws: Workspace, args: argparse.Namespace) -> int:
    for name, target in zip(ws.names(), ws.targets, strict=True):
        if not target.exists() or (target.is_dir() and not any(target.iterdir())):
            raise SetupError(
                f"{name} is missing or empty: `make sample-data` writes the demo data, "
                "`make data-pull` restores the tracked data from the DVC remote"
            )
    if ws.remote_is_local:
        Path(ws.remote_url).mkdir(parents=True, exist_ok=True)
    _configure_remote(ws)
    _say(f"tracking {', '.join(ws.names())}")
    if _dvc(ws, "add", *ws.names()).returncode != 0:
        return _failed("dvc add")
    _say(f"pushing to {ws.remote_name} ({ws.remote_url})")
    if _dvc(ws, "push", "--remote", ws.remote_name, *ws.dvc_files()).returncode != 0:
        return _failed("dvc push", hint="check that the remote is reachable and writable")
    _report(ws)
    _say(f"commit {' '.join(ws.dvc_files())} so other clones can `make data-pull` this version")
    return 0


def pull(ws: Workspace, args: argparse.Namespace) -> int:
    untracked = [name for name in ws.names() if not (ws.root / f"{name}.dvc").is_file()]
    if untracked:
        raise SetupError(
            f"{', '.join(untracked)} not tracked yet (no .dvc file): run `make data-push` "
            "where the data is, and commit the .dvc files it writes"
        )
    if ws.remote_is_empty():
        raise SetupError(
            f"the DVC remote {ws.remote_name} ({ws.remote_url}) is empty: run `make data-push` "
            "on a machine that has the data (the demo data: `make sample-data`)"
        )
    _configure_remote(ws)
    _say(f"pulling {', '.join(ws.names())} from {ws.remote_name} ({ws.remote_url})")
    force = ["--force"] if args.force else []
    if _dvc(ws, "pull", "--remote", ws.remote_name, *force, *ws.dvc_files()).returncode != 0:
        return _failed(
            "dvc pull",
            hint="local changes are kept unless you run `python -m scripts.data_versioning "
            "pull --force`; files missing on the remote were never pushed: `make data-push` where they are",
        )
    _report(ws)
    return 0


def status(ws: Workspace, args: argparse.Namespace) -> int:
    tracked = [name for name in ws.names() if (ws.root / f"{name}.dvc").is_file()]
    for name in ws.names():
        if name not in tracked:
            _say(f"{name}: not tracked (no {name}.dvc): `make data-push` tracks and uploads it")
    if not tracked:
        return 1
    files = [f"{name}.dvc" for name in tracked]
    local = _dvc_json(ws, "status", *files)
    for name in tracked:
        states = _local_states(local.get(f"{name}.dvc", []))
        hints = "; ".join(f"{state}: {_LOCAL_HINTS.get(state, 'see `dvc status`')}" for state in states)
        _say(f"{name}: {hints or 'matches its .dvc file'}")
    if ws.remote_is_empty():
        _say(f"remote {ws.remote_name} ({ws.remote_url}): empty: `make data-push` uploads the data")
        return 1
    _configure_remote(ws)
    cloud = _dvc_json(ws, "status", "--cloud", "--remote", ws.remote_name, *files)
    states: dict[str, int] = {}
    for state in cloud.values():
        states[str(state)] = states.get(str(state), 0) + 1
    if states:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        _say(
            f"remote {ws.remote_name} ({ws.remote_url}): differs from the local cache ({counts}): "
            "`new` needs `make data-push`, `deleted`/`missing` need `make data-pull` or a push where the data is"
        )
    else:
        _say(f"remote {ws.remote_name} ({ws.remote_url}): up to date")
    return 0 if not local and not states and len(tracked) == len(ws.targets) else 1


COMMANDS = {"push": push, "pull": pull, "status": status}

_LOCAL_HINTS = {
    "modified": "changed since `dvc add`, `make data-push` records and uploads it",
    "deleted": "gone from the workspace, `make data-pull` restores it",
    "not in cache": "not in the local DVC cache, `make data-pull` fetches it (or `make data-push` to record this data)",
}


def _local_states(entries: list) -> list[str]:
    """The states in one ``dvc status --json`` value: ``[{"changed outs": {"data/raw": "modified"}}]``."""
    states: set[str] = set()
    for entry in entries:
        if isinstance(entry, dict):
            for changes in entry.values():
                states.update(str(state) for state in (changes.values() if isinstance(changes, dict) else [changes]))
        else:
            states.add(str(entry))
    return sorted(states)


# --------------------------------------------------------------------------- helpers


def _configure_remote(ws: Workspace) -> None:
    """``remote.{name}.url`` and ``core.remote`` in ``.dvc/config.local``; other remote options are kept."""
    _say(f"remote {ws.remote_name} -> {ws.remote_url} (default, in .dvc/config.local)")
    if _remote_configured(ws):
        return
    for key, value in ((f"remote.{ws.remote_name}.url", ws.remote_url), ("core.remote", ws.remote_name)):
        result = _dvc(ws, "config", "--local", key, value, quiet=True)
        if result.returncode != 0:
            raise SetupError(f"`dvc config --local {key} {value}` failed: {result.stderr.strip()}")


def _remote_configured(ws: Workspace) -> bool:
    """Whether ``.dvc/config.local`` already has this remote's URL as the default (saves two dvc runs)."""
    parser = read_dvc_config(ws.root, "config.local")
    if parser is None:
        return False
    sections = {name.strip("'"): name for name in parser.sections()}  # DVC writes ['remote "name"']
    section = sections.get(f'remote "{ws.remote_name}"')
    return (
        section is not None
        and parser.get(section, "url", fallback=None) == ws.remote_url
        and parser.get("core", "remote", fallback=None) == ws.remote_name
    )


def _dvc(ws: Workspace, *args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the dvc of this interpreter in the repository root; its output streams through unless `quiet`."""
    if not quiet:
        _say("dvc " + " ".join(args))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=ws.root, env=env, text=True, capture_output=quiet, check=False
    )


def _dvc_json(ws: Workspace, *args: str) -> dict:
    result = _dvc(ws, *args, "--json", quiet=True)
    if result.returncode != 0:
        raise SetupError(f"`dvc {' '.join(args)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    try:
        return json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        raise SetupError(f"`dvc {' '.join(args)} --json` printed no JSON: {result.stdout[:200]!r}") from None


def _report(ws: Workspace) -> None:
    for name in ws.names():
        outs = yaml.safe_load((ws.root / f"{name}.dvc").read_text(encoding="utf-8")).get("outs") or [{}]
        out = outs[0]
        files = f", {out['nfiles']} files" if "nfiles" in out else ""
        _say(f"{name}: md5 {out.get('md5')} ({out.get('size')} bytes{files})")


def _failed(what: str, *, hint: str = "") -> int:
    print(f"error: {what} failed (its message is above){': ' + hint if hint else ''}", file=sys.stderr)
    return 1


def _say(message: str) -> None:
    print(f"[data] {message}", flush=True)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.data_versioning",
        description="Version data.raw_path and data.annotations_path with DVC against the remote in the dvc: section.",
    )
    parser.add_argument(
        "command", choices=sorted(COMMANDS), help="push (make data-push), pull (make data-pull) or status"
    )
    parser.add_argument("--config", help="pipeline YAML (default: $ML_PLATFORM_CONFIG or config/pipeline.yaml)")
    parser.add_argument("--force", action="store_true", help="pull: overwrite local changes to the tracked data")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    args = _parse_args(argv)
    started = time.monotonic()
    try:
        workspace = Workspace.from_config(load_config(args.config))
        code = COMMANDS[args.command](workspace, args)
    except (ConfigError, SetupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say(
        f"{args.command} {'done' if code == 0 else 'finished with exit code ' + str(code)} "
        f"in {time.monotonic() - started:.1f} s"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
