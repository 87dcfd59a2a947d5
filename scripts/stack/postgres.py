"""The stack's PostgreSQL: the server must already run; its databases are created when missing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from scripts.stack.settings import DB_NAME, Server, StackError

START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _connect(server: Server):
    import psycopg2

    try:
        connection = psycopg2.connect(server.url(server.admin_database), connect_timeout=5)
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StackError(
            f"PostgreSQL at {server.host}:{server.port} is not reachable as {server.user!r} "
            f"(database {server.admin_database!r}): {reason}\n"
            f"  `make up` does not start PostgreSQL. Start it with: {START_HINT}"
        ) from None
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return connection


def check_reachable(server: Server) -> None:
    """Raise StackError, naming the start command, unless the server accepts a connection."""
    _connect(server).close()


def ensure_databases(server: Server, names: Iterable[str]) -> list[str]:
    """Create each database that does not exist yet; return the names created."""
    from psycopg2 import sql

    created = []
    with _admin_cursor(server) as cursor:
        for name in names:
            identifier = _database_identifier(name)
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
                created.append(name)
    return created


def drop_databases(server: Server, names: Iterable[str]) -> None:
    """Drop the databases, closing their connections (tests' throwaway databases)."""
    from psycopg2 import sql

    with _admin_cursor(server) as cursor:
        for name in names:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_database_identifier(name)))


@contextmanager
def _admin_cursor(server: Server) -> Iterator[Any]:
    """A cursor on the admin database, in autocommit, closed on exit."""
    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _database_identifier(name: str) -> Any:
    """`name` as a quoted SQL identifier, once it is a plain database name."""
    from psycopg2 import sql

    if not DB_NAME.match(name):
        raise StackError(f"database name {name!r}: use lower-case letters, digits and _")
    return sql.Identifier(name)
