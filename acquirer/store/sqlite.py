"""The SQLite engine (:class:`~acquirer.store.tx.Engine`), through sqlite-utils.

Durability and concurrency choices:

- ``journal_mode=WAL`` with ``synchronous=FULL``: a commit is fsynced to the write-ahead log
  before a write returns, so an authorization reported to a terminal survives a crash or
  power loss (SQLite documentation, "PRAGMA synchronous").
- Every write goes through one :class:`~acquirer.store.groupcommit.GroupCommitWriter`:
  the writer thread owns the write connection and commits the transactions of concurrent
  requests together, one fsync for the batch. Its ``BEGIN IMMEDIATE`` takes the write lock
  up front, so the checks and inserts of a unit are one atomic step even with several
  processes on one file; ``busy_timeout`` makes another process's writer wait, not fail.
- The WAL is checkpointed by the writer between batches, once the waiting requests of the
  batch before have their answers (:class:`~acquirer.store.groupcommit.GroupCommitWriter`).
- The database, its WAL and its shm are readable by their owner only (mode 0600, whatever
  the umask or the directory's mode; a wider existing file is narrowed): they hold tokens,
  PARs, encrypted PANs and every transaction. SQLite creates the WAL and shm with the mode
  of the database file (sqlite.org, "Temporary Files Used By SQLite"), so the file is
  created 0600 before SQLite opens it.
- Reads run on one connection per thread (WAL readers never block the writer nor each
  other), in autocommit mode, so each read sees the latest committed state.

The schema is versioned: ``schema_version`` holds one row, and the engine runs the steps the
domains contribute (:mod:`acquirer.store.migrations`); migration *n* brings the schema from
version *n - 1* to *n*.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from acquirer.errors import StoreError
from acquirer.store.groupcommit import CHECKPOINT_INTERVAL, GroupCommitWriter
from acquirer.store.migrations import Migration, ordered, run_pending
from acquirer.store.tx import Engine, Row, Tx

T = TypeVar("T")

#: The mode of the database file and of the WAL and shm SQLite creates beside it.
FILE_MODE = 0o600

#: Milliseconds a writer waits for another process's write lock before giving up.
BUSY_TIMEOUT_MS = 5_000


def _param(value: Any) -> Any:
    """Python values as SQLite stores them: ISO 8601 text for times, 0/1 for booleans."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class SqliteTx:
    """A :class:`~acquirer.store.tx.Tx` over one ``sqlite3`` connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _execute(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, [_param(value) for value in params])
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        cursor = self._execute(sql, params)
        values = cursor.fetchone()
        if values is None:
            return None
        return {column[0]: value for column, value in zip(cursor.description, values, strict=True)}

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        cursor = self._execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute a statement; the number of rows it changed."""
        return self._execute(sql, params).rowcount


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _owner_only(path: Path) -> None:
    """Create ``path`` (and narrow it and its WAL and shm) to :data:`FILE_MODE`."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(companion.stat().st_mode) != FILE_MODE:
                os.chmod(companion, FILE_MODE)
        except FileNotFoundError:
            continue


class SqliteEngine(Engine):
    """An :class:`~acquirer.store.tx.Engine` on one SQLite file, migrated by ``migrations``.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     engine = SqliteEngine(pathlib.Path(tmp) / "a.db", ())
    ...     engine.migrate(), engine.read(lambda tx: tx.one("SELECT 1 AS one"))
    ...     engine.close()
    (0, {'one': 1})
    """

    def __init__(self, path: Path, migrations: Sequence[Migration]) -> None:
        self._path = path
        self._migrations = ordered(migrations)
        self._readers: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _owner_only(path)
            conn = _connect(path)
            self._db = sqlite_utils.Database(conn, execute_plugins=False)
            self._db.enable_wal()
            # The writer checkpoints after answering a batch, not inside its commit.
            conn.execute("PRAGMA wal_autocheckpoint = 0")
            lock_path = path.with_name(path.name + ".writer-lock")
            self._writer = GroupCommitWriter(
                conn, lock_path=lock_path, checkpoint_interval=CHECKPOINT_INTERVAL
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self._tx = SqliteTx(conn)

    # -- primitives ----------------------------------------------------------------------

    def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` on this thread's read connection (autocommit: the latest commit)."""
        tx: SqliteTx | None = getattr(self._local, "tx", None)
        if tx is None:
            try:
                conn = _connect(self._path)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open database {self._path}: {exc}") from exc
            with self._lock:
                self._readers.append(conn)
            tx = self._local.tx = SqliteTx(conn)
        return work(tx)

    def transact(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` in the writer thread's next group commit; durable when this returns."""
        return self._writer.submit(lambda: work(self._tx))

    async def transact_async(self, work: Callable[[Tx], T]) -> T:
        """Queue ``work`` for the next group commit; resume when that commit is durable."""
        return await self._writer.submit_async(lambda: work(self._tx))

    @property
    def reads_are_local(self) -> bool:
        """An embedded file: a read is a short call into the SQLite library."""
        return True

    # -- schema ----------------------------------------------------------------------------

    def migrate(self) -> int:
        """Apply the migrations the database has not seen; return the schema version."""
        return self._writer.submit(self._migrate)

    def _migrate(self) -> int:
        db = self._db

        def apply(step: Migration) -> None:
            step.sqlite(db)

        try:
            return run_pending(self._tx, self._migrations, apply)
        except sqlite3.Error as exc:
            raise StoreError(f"migration failed: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        """Finish pending writes and close every connection."""
        self._writer.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._db.close()
