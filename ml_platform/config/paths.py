"""Where the config file and relative paths start: the project root, and ``ML_PLATFORM_CONFIG``.

Relative data paths and SQLite URLs resolve against the project root, not the working
directory, so the pipeline, the service and the tests all mean the same files.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "pipeline.yaml"
CONFIG_ENV_VAR = "ML_PLATFORM_CONFIG"


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """An absolute path: relative paths are taken from the project root, not the working directory."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def config_path_from_env() -> Path:
    """The config file selected by ``ML_PLATFORM_CONFIG``, else the project default."""
    value = os.environ.get(CONFIG_ENV_VAR)
    return resolve_path(value) if value else DEFAULT_CONFIG_PATH


def resolve_sqlite_url(url: str) -> str:
    """A SQLAlchemy/MLflow URL whose relative SQLite file path is anchored at the project root.

    ``sqlite:///data/x.db`` names a path relative to the working directory; the pipeline,
    the service and the tests all mean the project's ``data/x.db``. Other URLs pass through.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == prefix + ":memory:":
        return url
    return prefix + str(resolve_path(url[len(prefix) :]))
