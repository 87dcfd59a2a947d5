"""The deployment docs stay true: every environment variable the code reads is documented,
and ARCHITECTURE.md has a line for every module."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Where settings are read: the Python packages and scripts, the web app and its test harness,
# and the config files that take `env:` values (Dagster's instance config, compose).
PYTHON_SOURCES = ["ml_platform", "assets", "resources", "serving", "scripts", "bench", "tests"]
WEB_SOURCES = ["web/src", "web/e2e", "web/scripts", "web/tests"]
CONFIG_FILES = ["dagster.yaml", "dagster.postgres.yaml", "docker-compose.yml", "Makefile"]

NAME = r"([A-Z][A-Z0-9_]*[A-Z0-9])"
PYTHON_READS = [
    rf"os\.environ\.get\(\s*[\"']{NAME}[\"']",
    rf"os\.environ\[\s*[\"']{NAME}[\"']\s*\]",
    rf"os\.getenv\(\s*[\"']{NAME}[\"']",
    rf"\benv\.get\(\s*[\"']{NAME}[\"']",
    rf"\benv\[\s*[\"']{NAME}[\"']\s*\]",
    rf"^[A-Z_]*ENV[A-Z_]*\s*(?::\s*str\s*)?=\s*[\"']{NAME}[\"']",  # TOKEN_ENV_VAR = "INFERENCE_API_TOKEN"
]
WEB_READS = [
    rf"process\.env\.{NAME}\b",
    rf"\benv\.{NAME}\b",
    rf"\benv\[\s*[\"']{NAME}[\"']\s*\]",
    rf"\(\s*env\s*,\s*[\"']{NAME}[\"']",
]  # positiveMs(env, 'INFERENCE_API_TIMEOUT', ...)
CONFIG_READS = [rf"\benv:\s*{NAME}\b", rf"\$\{{{NAME}(?::?[-?][^}}]*)?\}}", rf"\$\({NAME}\)"]
# Set by the Makefile for its own recipes, or make's own variables: not settings a deployer gives.
MAKE_INTERNAL = {"BIN", "VENV", "STAMP", "CURDIR", "SHELL", "PYTHON"}
# The operating system's own, passed through to child processes.
SYSTEM = {"PATH", "HOME"}
COMMENT_LINE = re.compile(r"^\s*(//|/\*|\*|#).*$", flags=re.MULTILINE)


def _sources(folders: list[str], suffixes: tuple[str, ...]) -> list[Path]:
    files = []
    for folder in folders:
        base = ROOT / folder
        if base.is_dir():
            files += [p for p in base.rglob("*") if p.suffix in suffixes and "node_modules" not in p.parts]
    return files


def _matches(text: str, patterns: list[str]) -> set[str]:
    return {m for pattern in patterns for m in re.findall(pattern, text, flags=re.MULTILINE)}


def environment_variables_read() -> dict[str, str]:
    """Every environment variable name the code reads, with one file that reads it."""
    found: dict[str, str] = {}
    for files, patterns in [
        (_sources(PYTHON_SOURCES, (".py",)), PYTHON_READS),
        (_sources(WEB_SOURCES, (".ts", ".tsx", ".mjs", ".js")), WEB_READS),
        ([ROOT / f for f in CONFIG_FILES if (ROOT / f).exists()], CONFIG_READS),
    ]:
        for path in files:
            text = COMMENT_LINE.sub("", path.read_text(encoding="utf-8"))
            for name in _matches(text, patterns):
                found.setdefault(name, str(path.relative_to(ROOT)))
    return {k: v for k, v in found.items() if k not in MAKE_INTERNAL | SYSTEM}


def test_the_scan_finds_the_settings_we_know_about() -> None:
    found = environment_variables_read()
    for name in [
        "ML_PLATFORM_CONFIG",
        "DATABASE_URL",
        "MLFLOW_TRACKING_URI",
        "INFERENCE_API_TOKEN",
        "INFERENCE_API_URL",
        "NEXT_PUBLIC_MODEL_POLL_MS",
        "DAGSTER_PG_HOST",
    ]:
        assert name in found, f"the scan no longer sees {name}: fix the patterns in {__file__}"


def test_every_environment_variable_is_in_deployment_md() -> None:
    documented = (ROOT / "DEPLOYMENT.md").read_text(encoding="utf-8")
    missing = {name: where for name, where in environment_variables_read().items() if f"`{name}`" not in documented}
    assert not missing, "read by the code but not in DEPLOYMENT.md's environment table: " + ", ".join(
        f"{name} ({where})" for name, where in sorted(missing.items())
    )


def _modules() -> list[str]:
    """The modules a newcomer looks for: Python files (not __init__) and the web's source files."""
    python = [
        p
        for p in _sources(["ml_platform", "assets", "resources", "serving", "scripts"], (".py",))
        if p.name != "__init__.py" and "versions" not in p.parts
    ]
    web = _sources(["web/src"], (".ts", ".tsx"))
    return sorted(str(p.relative_to(ROOT)) for p in python + web)


def test_architecture_md_has_a_line_for_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [m for m in _modules() if f"`{m}`" not in text]
    assert not missing, f"modules without a line in ARCHITECTURE.md: {missing}"
