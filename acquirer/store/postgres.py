"""The PostgreSQL engine (:class:`~acquirer.store.tx.Engine`), through psycopg 3.

This is the engine for deployments with several acquirer processes on one database. Each
process keeps a small pool of connections (psycopg_pool); every write is one transaction at
PostgreSQL's default ``READ COMMITTED`` isolation, and safety across processes rests on the
database's constraints and row locks, never on Python-side checks:

- a unique constraint decides which of two concurrent inserts of the same thing wins; the
  second ``INSERT ... ON CONFLICT DO NOTHING`` waits for the first transaction, then changes
  nothing, and the loser's whole transaction is rolled back (PostgreSQL documentation,
  "INSERT", section "ON CONFLICT Clause");
- state changes of an existing row take ``SELECT ... FOR UPDATE`` first, so two processes
  serialize on that row.

A commit returns once its WAL record is flushed (``synchronous_commit = on``, the default),
so a write is durable when the store call returns.

The schema is versioned like the SQLite one (the domains' steps of
:mod:`acquirer.store.migrations`, one list of statements per version);
:meth:`PostgresEngine.migrate` holds a transaction-scoped advisory lock, so processes starting
together migrate once. psycopg errors are mapped to
:class:`~acquirer.errors.StoreError` here; messages never include the connection string,
which may carry a password.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from acquirer.errors import StoreError
from acquirer.store.migrations import Migration, ordered, run_pending
from acquirer.store.tx import Abort, Engine, Row, Tx

T = TypeVar("T")

#: Arbitrary key of the advisory lock that serializes migrations ("TAP" in ASCII).
_MIGRATION_LOCK = 0x544150


@functools.lru_cache(maxsize=256)
def _psycopg_sql(sql: str) -> str:
    """``?`` placeholders in psycopg's ``%s`` style (the shared SQL has no literal ``%``).

    >>> _psycopg_sql("SELECT * FROM t WHERE a = ? AND b = ?")
    'SELECT * FROM t WHERE a = %s AND b = %s'
    """
    return sql.replace("?", "%s")


def _store_error(exc: psycopg.Error) -> StoreError:
    error = StoreError(f"database error: {exc.__class__.__name__}: {exc.sqlstate or ''}".strip())
    error.__cause__ = exc
    return error


class PostgresTx:
    """A :class:`~acquirer.store.tx.Tx` over one psycopg connection."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self.conn = conn

    def _execute(self, sql: str, params: Sequence[Any]) -> psycopg.Cursor[Row]:
        try:
            return self.conn.execute(_psycopg_sql(sql), list(params))
        except psycopg.Error as exc:
            raise _store_error(exc) from exc

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        return self._execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        return self._execute(sql, params).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        return self._execute(sql, params).rowcount


class PostgresEngine(Engine):
    """An :class:`~acquirer.store.tx.Engine` on a PostgreSQL database.

    ``url`` is a libpq connection string or URI (``postgresql://user@host:port/db``);
    ``migrations`` the domains' schema steps; ``pool_size`` bounds the connections this
    process opens.
    """

    def __init__(
        self,
        url: str,
        migrations: Sequence[Migration],
        *,
        pool_size: int = 16,
        connect_timeout: float = 10.0,
    ) -> None:
        self._migrations = ordered(migrations)
        self._pool: ConnectionPool[psycopg.Connection[Row]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=False,
            timeout=connect_timeout,
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except (PoolTimeout, psycopg.Error) as exc:
            self._pool.close()
            raise StoreError("cannot connect to the PostgreSQL database") from exc

    # -- primitives ----------------------------------------------------------------------

    row_lock = " FOR UPDATE"

    def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on a pooled connection in autocommit mode."""
        try:
            with self._pool.connection() as conn:
                return work(PostgresTx(conn))
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"database unavailable: {exc.__class__.__name__}") from exc

    def transact(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in one transaction on a pooled connection; committed when it returns."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                return work(PostgresTx(conn))
        except Abort as abort:
            result: T = abort.result  # type: ignore[assignment]
            return result
        except (PoolTimeout, psycopg.Error) as exc:
            raise StoreError(f"database unavailable: {exc.__class__.__name__}") from exc

    # -- schema ----------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations the database has not seen; return the schema version."""
        return self.transact(self._migrate)

    def _migrate(self, tx: Tx) -> int:
        tx.one("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])

        def apply(step: Migration) -> None:
            for statement in step.postgres:
                tx.run(statement)

        return run_pending(tx, self._migrations, apply)

    def close(self) -> None:
        """Close the pool and its connections."""
        self._pool.close()
