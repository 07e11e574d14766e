"""Private, durable SQLite files: what the journal and the outbox are stored in.

A terminal keeps its records on a small box that loses power and gets killed, so every file
here is opened the same way:

- **Private**: the database file, and its ``-wal`` and ``-shm`` companions, are created with
  ``os.open(..., 0o600)`` *before* SQLite opens them, whatever the umask and however open the
  folder is (a folder of mode 0755 is common); an existing file that is wider is narrowed.
  SQLite gives the companions it creates later the database file's mode, and
  :func:`check_private` verifies all three.
- **Durable**: write-ahead logging (``journal_mode=WAL``) with ``synchronous=FULL``: a
  transaction that has committed was fsync'd to the WAL, so it survives a kill -9 or a power
  cut. Readers do not block the writer, so a CLI can list while the daemon records.
- **Shared between processes**: every write is one ``BEGIN IMMEDIATE`` transaction
  (:func:`write`), which takes the file's write lock at its start; ``busy_timeout`` makes a
  second process wait for it instead of failing.

sqlite3 and OS errors are mapped to :class:`~terminal.errors.JournalUnavailableError` here.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from terminal.errors import JournalUnavailableError

__all__ = ["COMPANIONS", "check_private", "open_private", "write"]

#: The files SQLite keeps beside a WAL database.
COMPANIONS = ("-wal", "-shm")
#: How long a writer waits for another process's write lock (milliseconds).
BUSY_TIMEOUT_MS = 10_000


def _create_private(path: Path) -> None:
    """Create ``path`` with mode 0600 if missing; narrow it to 0600 if it is wider."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def open_private(path: Path, schema: str, *, what: str) -> sqlite3.Connection:
    """Open (creating if needed) the private WAL database at ``path`` and apply ``schema``.

    ``what`` names the file in error messages ("journal", "outbox"). The connection is in
    autocommit mode: writes go through :func:`write`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        for suffix in COMPANIONS:
            _create_private(Path(f"{path}{suffix}"))
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except OSError as exc:
        raise JournalUnavailableError(f"cannot create the {what} {path}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise JournalUnavailableError(f"cannot open the {what} {path}: {exc}") from None
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            db.close()
            raise JournalUnavailableError(f"the {what} {path} cannot use write-ahead logging")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        _apply(db, schema)
    except sqlite3.Error as exc:
        db.close()
        raise JournalUnavailableError(f"the {what} {path} is not usable: {exc}") from None
    return db


def _apply(db: sqlite3.Connection, schema: str) -> None:
    """Run the ``;``-separated ``schema`` statements in one write transaction."""
    with write(db):
        statement = ""
        for piece in schema.split(";"):
            statement += piece + ";"
            if sqlite3.complete_statement(statement):
                if statement.strip(" \n;"):
                    db.execute(statement)
                statement = ""


@contextmanager
def write(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` (the write lock first), then COMMIT.

    When the block returns, the changes are committed and fsync'd (``synchronous=FULL``);
    when it raises, they are rolled back. sqlite3 errors (at the start, inside, at the
    commit) become
    :class:`~terminal.errors.JournalUnavailableError`.
    """
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise JournalUnavailableError(f"cannot start a write: {exc}") from None
    try:
        yield db
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise JournalUnavailableError(f"write failed: {exc}") from None
    except BaseException:
        db.execute("ROLLBACK")
        raise
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        db.execute("ROLLBACK")
        raise JournalUnavailableError(f"cannot commit: {exc}") from None


def check_private(path: Path) -> dict[str, int]:
    """The permission bits of ``path`` and its companions that exist, by file name.

    Raises :class:`~terminal.errors.JournalUnavailableError` when one is readable or writable
    by anyone but its owner.
    """
    modes: dict[str, int] = {}
    for candidate in (path, *(Path(f"{path}{suffix}") for suffix in COMPANIONS)):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
        except FileNotFoundError:
            continue
        modes[candidate.name] = mode
        if mode & 0o077:
            raise JournalUnavailableError(f"{candidate} has mode {mode:o}: it must be 0600")
    return modes
