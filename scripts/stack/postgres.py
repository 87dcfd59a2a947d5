"""The stack's PostgreSQL: the server must already run; its databases are created when missing."""

from __future__ import annotations

from collections.abc import Iterable

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
    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            for name in names:
                if not DB_NAME.match(name):
                    raise StackError(f"database name {name!r}: use lower-case letters, digits and _")
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
    finally:
        connection.close()
    return created


def drop_databases(server: Server, names: Iterable[str]) -> None:
    """Drop the databases, closing their connections (tests' throwaway databases)."""
    from psycopg2 import sql

    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            for name in names:
                if not DB_NAME.match(name):
                    raise StackError(f"database name {name!r}: use lower-case letters, digits and _")
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()
