"""The deployment docs stay true: every environment variable the code reads is documented,
and ARCHITECTURE.md has a line for every module."""

from __future__ import annotations

import os
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


# --------------------------------------------------------------------------- links and cited docs

# Folders never scanned: dependencies, caches, generated data, the virtualenv.
SKIP_DIRS = {"node_modules", ".git", ".venv", "__pycache__", ".next", ".data", ".dagster", ".stack", "data"}
# Markdown that `make bench` writes (gitignored): not part of the repository's docs.
GENERATED_MARKDOWN = ["bench/*_results.md"]
# Code and config that may cite docs in comments, docstrings or messages.
CODE_SUFFIXES = (".py", ".ts", ".tsx", ".mjs", ".js", ".sh", ".yaml", ".yml", ".toml")
CODE_SOURCES = [*PYTHON_SOURCES, *WEB_SOURCES, "config", "deploy"]
CODE_FILES = ["Makefile", "Dockerfile", "web/Dockerfile", "docker-compose.yml", "pyproject.toml", ".ci/run"]

FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1\s*$", flags=re.MULTILINE | re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", flags=re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*\b(?:href|src)=\"([^\"]+)\"", flags=re.IGNORECASE)
# A cited Markdown file: `docs/DESIGN.md`, `../docs/frame-times.md`, `ARCHITECTURE.md`.
CITED_DOC = re.compile(r"(?<![\w/.@-])((?:\.{1,2}/)*(?:[\w.-]+/)*[\w.-]+\.md)(?![\w/])")
# A relative path written in Markdown text or code spans that climbs out of its folder.
CLIMBING_PATH = re.compile(r"(?<![\w/.-])((?:\.\./)+[\w.@{}-]+(?:/[\w.@{}-]+)*)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$", flags=re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", flags=re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _scanned(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return not any(part in SKIP_DIRS or part.endswith(".egg-info") for part in parts[:-1])


def markdown_files() -> list[Path]:
    """Every Markdown file of the repository (dependencies, caches and generated files left out)."""
    generated = {p for pattern in GENERATED_MARKDOWN for p in ROOT.glob(pattern)}
    return sorted(p for p in ROOT.rglob("*.md") if _scanned(p) and p not in generated)


def code_files() -> list[Path]:
    """Source and config files whose comments, docstrings and messages may cite a doc."""
    files = [p for p in _sources(CODE_SOURCES, CODE_SUFFIXES) if _scanned(p)]
    files += [ROOT / name for name in CODE_FILES if (ROOT / name).is_file()]
    return sorted(set(files) - {Path(__file__).resolve()})  # this file's examples cite missing docs on purpose


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: rendered text, lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor of a Markdown text: heading slugs (duplicates numbered -1, -2 ...) and explicit ids."""
    found: set[str] = set(EXPLICIT_ANCHOR.findall(text))
    seen: dict[str, int] = {}
    for _, heading in HEADING.findall(FENCE.sub("", text)):
        slug = github_slug(heading)
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def _inside(path: Path) -> bool:
    """Whether `path`, ``..`` collapsed but symlinks not followed (``.venv/bin/python`` is one), is in the repo."""
    return Path(os.path.normpath(path)).is_relative_to(ROOT)


def _where(source: Path) -> str:
    return str(source.relative_to(ROOT)) if source.is_relative_to(ROOT) else str(source)


def link_problems(source: Path, text: str) -> tuple[list[str], int]:
    """Relative links of one Markdown text that leave the repository or point at nothing; and the link count.

    A link is checked relative to the file's folder (``/x`` from the repository root), its
    ``#anchor`` against the headings of the Markdown file it points at (or of this file).
    """
    prose = FENCE.sub("", text)
    targets = INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose) + HTML_LINK.findall(prose)
    problems = []
    for target in targets:
        if SCHEME.match(target) or target.startswith("//"):
            continue  # http:, https:, mailto:: not files of the repository
        path_part, _, anchor = target.partition("#")
        path_part = path_part.split("?", 1)[0]
        if not path_part:
            resolved, target_text = source, text
        else:
            resolved = (ROOT / path_part.lstrip("/")) if path_part.startswith("/") else (source.parent / path_part)
            if not _inside(resolved):
                problems.append(f"{_where(source)}: link {target!r} leaves the repository")
                continue
            if not resolved.exists():
                problems.append(f"{_where(source)}: link {target!r} points at a missing file")
                continue
            target_text = resolved.read_text(encoding="utf-8") if resolved.suffix == ".md" else None
        if anchor and target_text is not None and anchor not in anchors(target_text):
            problems.append(f"{_where(source)}: link {target!r}: no heading with anchor #{anchor}")
    return problems, len(targets)


def _is_doc(token: str) -> bool:
    """A repository doc rather than any `.md` name: upper-case file names, or under docs/ or a parent folder."""
    stem = Path(token).name[: -len(".md")]
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_-]*", stem)) or token.startswith(("docs/", "../", "./"))


def citation_problems(source: Path, text: str) -> tuple[list[str], list[str]]:
    """Docs cited by name (``docs/DESIGN.md``) that are outside the repository or missing; and the docs cited.

    A cited path may be relative to the citing file's folder or to the repository root.
    """
    problems, cited = [], []
    for token in {t for t in CITED_DOC.findall(text) if _is_doc(t)}:
        cited.append(token)
        candidates = [source.parent / token, ROOT / token]
        if not any(_inside(c) for c in candidates):
            problems.append(f"{_where(source)}: cites {token!r}, outside the repository")
        elif not any(_inside(c) and c.is_file() for c in candidates):
            problems.append(f"{_where(source)}: cites {token!r}, which is not a file of the repository")
    return problems, cited


def climbing_problems(source: Path, text: str) -> list[str]:
    """Paths in Markdown prose or code spans (``../x``) that climb out of the repository."""
    return [
        f"{_where(source)}: path {token!r} leaves the repository"
        for token in set(CLIMBING_PATH.findall(FENCE.sub("", text)))
        if not _inside(source.parent / token)
    ]


def test_the_link_scan_sees_the_links_and_citations() -> None:
    files = markdown_files()
    names = {str(p.relative_to(ROOT)) for p in files}
    assert {"README.md", "ARCHITECTURE.md", "DEPLOYMENT.md", "docs/DESIGN.md"} <= names, sorted(names)
    links = sum(link_problems(p, p.read_text(encoding="utf-8"))[1] for p in files)
    assert links >= 30, f"the scan found only {links} Markdown links: fix the patterns in {__file__}"
    cited = [t for p in code_files() for t in citation_problems(p, p.read_text(encoding="utf-8"))[1]]
    assert len(cited) >= 10 and "docs/DESIGN.md" in cited, (
        f"the scan found only {len(cited)} docs cited by code ({sorted(set(cited))}): fix the patterns in {__file__}"
    )


def test_the_link_checks_catch_what_they_are_for() -> None:
    readme = ROOT / "README.md"
    outside = "../" + "shared/DESIGN.md"  # built, so this file does not cite it itself
    assert link_problems(readme, f"[map]({outside})")[0]
    assert link_problems(readme, "[gone](docs/NO_SUCH_FILE.md)")[0]
    assert link_problems(readme, "[anchor](DEPLOYMENT.md#no-such-heading)")[0]
    assert not link_problems(readme, "[ok](DEPLOYMENT.md#local-processes-make-up--make-down) [web](https://x.org)")[0]
    assert citation_problems(ROOT / "serving" / "app.py", f"# see {outside}")[0]
    assert citation_problems(ROOT / "serving" / "app.py", "# see NO_SUCH_DOC.md")[0]
    assert not citation_problems(ROOT / "web" / "src" / "x.ts", "/** as in docs/DESIGN.md */")[0]
    assert climbing_problems(ROOT / "web" / "README.md", f"`../{outside}`")
    assert github_slug("Local processes: `make up` / `make down`") == "local-processes-make-up--make-down"


def test_markdown_links_stay_inside_the_repository_and_resolve() -> None:
    problems = []
    for path in markdown_files():
        text = path.read_text(encoding="utf-8")
        problems += link_problems(path, text)[0] + citation_problems(path, text)[0] + climbing_problems(path, text)
    assert not problems, "broken or outside links in Markdown:\n" + "\n".join(sorted(problems))


def test_docs_cited_by_code_exist_in_the_repository() -> None:
    problems = [q for p in code_files() for q in citation_problems(p, p.read_text(encoding="utf-8"))[0]]
    assert not problems, "docs cited by code that are missing or outside the repository:\n" + "\n".join(
        sorted(problems)
    )
