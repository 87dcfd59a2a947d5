"""The `training_runs` table (SQLAlchemy 2): one row per training attempt of a partition.

A row is inserted with status ``running`` when training starts and completed with
``completed`` (metrics summary, MLflow run id, model version) or ``failed`` (the error),
so the table always says what happened, including to runs that crashed.

The schema is created and upgraded by Alembic migrations (``ml_platform/migrations``),
never by ``create_all``: `upgrade_schema` runs them programmatically, and
``alembic -c ml_platform/migrations/alembic.ini upgrade head`` does the same from a shell.

The URL comes from ``DATABASE_URL`` if set, else ``database.url`` of the config
(embedded default: SQLite under ``data/``). PostgreSQL needs the psycopg2 driver:
``postgresql+psycopg2://user@host:5432/db``; a bare ``postgresql://`` (which SQLAlchemy
2.1 maps to psycopg 3) is rewritten to psycopg2 when psycopg 3 is not installed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Engine, Index, String, Text, create_engine, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ml_platform.config import PipelineConfig, resolve_sqlite_url

logger = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
STATUSES = ("running", "completed", "failed")
_PG_MIGRATION_LOCK = 7_245_901  # pg_advisory_lock key: one migrator at a time


class DatabaseUnavailableError(RuntimeError):
    """The training_runs database cannot be reached or migrated; the message says what to check."""


class Base(DeclarativeBase):
    pass


class TrainingRun(Base):
    """One training attempt (see docs/DESIGN.md, "Databases")."""

    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'failed')", name="ck_training_runs_status"),
        Index("ix_training_runs_partition_created", "pair", "timeframe", "created_at"),
        Index("ix_training_runs_status", "status"),
    )

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_type: Mapped[str] = mapped_column(String(64))
    experiment_name: Mapped[str] = mapped_column(String(255))
    pipeline_config_hash: Mapped[str] = mapped_column(String(64))
    dataset_version: Mapped[str] = mapped_column(String(64))
    metrics_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pair: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class TrainingRunRecord:
    """A `training_runs` row as plain values (what `RunStore` returns)."""

    run_id: str
    model_type: str
    experiment_name: str
    pipeline_config_hash: str
    dataset_version: str
    metrics_summary: dict[str, Any] | None
    status: str
    created_at: datetime
    completed_at: datetime | None
    pair: str
    timeframe: str
    mlflow_run_id: str | None
    model_version: str | None
    error: str | None

    @classmethod
    def of(cls, row: TrainingRun) -> TrainingRunRecord:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


# --------------------------------------------------------------------------- URL and engine


def database_url(config: PipelineConfig | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """``DATABASE_URL`` of `env` (default ``os.environ``; blank = unset), else ``database.url``.

    Normalized by `normalize_url` (relative SQLite paths anchored at the project root).
    """
    override = ((os.environ if env is None else env).get(DATABASE_URL_ENV) or "").strip()
    url = override or (config.database.url if config is not None else PipelineConfig().database.url)
    return normalize_url(url)


def normalize_url(url: str) -> str:
    """Anchor relative SQLite paths; map a driverless PostgreSQL URL to psycopg2 when psycopg 3 is absent."""
    url = resolve_sqlite_url(url)
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare) and importlib.util.find_spec("psycopg") is None:
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show nothing that might be a secret
        return "<unparsable database URL>"


def make_engine(url: str) -> Engine:
    """An engine for `url` (SQLite: the folder is created; PostgreSQL: 5 s connect timeout)."""
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30
    elif parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = 5
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


# --------------------------------------------------------------------------- migrations


def alembic_config(url: str) -> Any:
    """An Alembic Config pointing at the packaged migrations and `url`."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Run the Alembic migrations up to head (a no-op when the schema is current).

    Concurrent callers are serialised with an advisory lock on PostgreSQL; on SQLite a
    loser of the race finds the schema current on its retry.
    """
    from alembic import command

    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            config = alembic_config(engine.url.render_as_string(hide_password=False))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError:
        if engine.dialect.name != "sqlite" or not _at_head(engine):
            raise


def _at_head(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


# --------------------------------------------------------------------------- the store


class RunStore:
    """Reads and writes `training_runs`.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL (see `database_url`).
    migrate : bool, default=True
        Run the migrations on first use.
    """

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = normalize_url(url)
        self._engine = make_engine(self.url)
        self._migrate = migrate
        self._ready = False

    def dispose(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        self.ensure_ready()
        try:
            with Session(self._engine) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> DatabaseUnavailableError:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DatabaseUnavailableError(
            f"training_runs database {redact(self.url)} is unavailable ({first_line}): check that it is running "
            f"and reachable, or unset {DATABASE_URL_ENV} to use the embedded SQLite default"
        )

    def ensure_ready(self) -> None:
        """Connect once and bring the schema to head; raises DatabaseUnavailableError."""
        if self._ready:
            return
        try:
            if self._migrate:
                upgrade_schema(self._engine)
            else:
                with self._engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from exc
        self._ready = True

    def start(
        self,
        *,
        pair: str,
        timeframe: str,
        model_type: str,
        experiment_name: str,
        pipeline_config_hash: str,
        dataset_version: str,
        run_id: str | None = None,
    ) -> str:
        """Insert a ``running`` row; return its run_id."""
        run_id = run_id or uuid.uuid4().hex
        with self._session() as session:
            session.add(
                TrainingRun(
                    run_id=run_id,
                    model_type=model_type,
                    experiment_name=experiment_name,
                    pipeline_config_hash=pipeline_config_hash,
                    dataset_version=dataset_version,
                    metrics_summary=None,
                    status="running",
                    created_at=datetime.now(UTC),
                    completed_at=None,
                    pair=pair,
                    timeframe=timeframe,
                    mlflow_run_id=None,
                    model_version=None,
                    error=None,
                )
            )
        return run_id

    def set_mlflow_run(self, run_id: str, mlflow_run_id: str) -> None:
        with self._session() as session:
            self._row(session, run_id).mlflow_run_id = mlflow_run_id

    def complete(
        self, run_id: str, *, metrics_summary: dict[str, Any], mlflow_run_id: str | None, model_version: str | None
    ) -> None:
        """Mark the run ``completed`` with its metrics."""
        with self._session() as session:
            row = self._row(session, run_id)
            row.status = "completed"
            row.metrics_summary = metrics_summary
            row.mlflow_run_id = mlflow_run_id or row.mlflow_run_id
            row.model_version = model_version
            row.completed_at = datetime.now(UTC)

    def fail(self, run_id: str, error: str) -> None:
        """Mark the run ``failed`` with the error message."""
        with self._session() as session:
            row = self._row(session, run_id)
            row.status = "failed"
            row.error = error[:10_000]
            row.completed_at = datetime.now(UTC)

    def get(self, run_id: str) -> TrainingRunRecord | None:
        with self._session() as session:
            row = session.get(TrainingRun, run_id)
            return TrainingRunRecord.of(row) if row is not None else None

    def list_runs(
        self, *, pair: str | None = None, timeframe: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[TrainingRunRecord]:
        """Newest first, optionally filtered."""
        query = select(TrainingRun).order_by(TrainingRun.created_at.desc()).limit(limit)
        if pair is not None:
            query = query.where(TrainingRun.pair == pair)
        if timeframe is not None:
            query = query.where(TrainingRun.timeframe == timeframe)
        if status is not None:
            query = query.where(TrainingRun.status == status)
        with self._session() as session:
            return [TrainingRunRecord.of(row) for row in session.scalars(query)]

    @staticmethod
    def _row(session: Session, run_id: str) -> TrainingRun:
        row = session.get(TrainingRun, run_id)
        if row is None:
            raise KeyError(f"training_runs has no run {run_id!r}")
        return row
