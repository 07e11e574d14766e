"""Group commit: one writer thread that batches concurrent transactions into one fsync.

A durable SQLite commit costs one ``fsync`` of the write-ahead log (SQLite documentation,
"Write-Ahead Logging" and "PRAGMA synchronous": with ``synchronous=FULL`` the WAL is synced
on every commit). One fsync per request caps a store at the disk's sync rate, whatever the
CPU can do. Databases have long amortized it by committing many transactions' log records
with one flush (group commit; Gawlick and Kinkade, "Varieties of Concurrency Control in
IMS/VS Fast Path", 1985; PostgreSQL's ``commit_delay``).

:class:`GroupCommitWriter` owns the only write connection. Request threads hand it a unit
of work and wait; the writer takes every unit waiting in its queue (up to ``max_batch``),
runs them in one ``BEGIN IMMEDIATE`` transaction, each inside its own savepoint so one
unit's failure or :class:`~acquirer.store.tx.Abort` undoes only that unit, commits once,
and only then wakes the waiting threads. A thread therefore learns its result only after the
commit that contains it is durable, and an idle writer commits a lone request at once: batching
adds no delay, it only shares the fsync among the requests that arrived during the previous one.

Checkpoints. In WAL mode SQLite copies committed pages back into the database file in a
checkpoint, by default inside the commit that takes the WAL past 1,000 pages (SQLite
documentation, "Write-Ahead Logging", section 6), so one batch in every few dozen waited for
megabytes of page writes and an fsync of the database file before its requests were
answered. The store turns that off; the writer instead checkpoints right *after* waking a
batch's waiters, at most every :data:`CHECKPOINT_INTERVAL` seconds, still holding the
cross-process lock: with no other writer appending meanwhile, the checkpoint completes and
the next transaction restarts the WAL from its beginning, so the WAL holds at most one
interval of commits under sustained load (a checkpoint racing constant appends never
completes). A time bound rather than a size bound, because the WAL file keeps its size
when it restarts (SQLite reuses it, and a reused file syncs without metadata changes).

A caller on an event loop uses :meth:`GroupCommitWriter.submit_async` instead: its task waits
on a future, not a thread on an event, and the writer wakes each loop once per batch. A request
then needs no worker thread at all, which spares the hand-offs of the GIL between many threads
that dominated a busy process's profile.

Several acquirer processes on one file each have their own writer. SQLite's own busy handler
makes a blocked writer sleep in growing steps (up to 100 ms), which would put those sleeps in
the latency of every request of the batch; so writers also take an exclusive ``flock`` on a
lock file beside the database for the span of a batch, and a waiting writer wakes the moment
the other releases it. A writer takes that lock *before* it collects its batch, so the
requests that arrived while the other process committed ride in this commit rather than the
next one: under contention, batches grow instead of queues. ``BEGIN IMMEDIATE`` and
``busy_timeout`` still protect against writers that do not take the lock (a CLI command,
another tool).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from acquirer.errors import StoreError
from acquirer.store.tx import Abort

T = TypeVar("T")

log = logging.getLogger("acquirer.store")

#: Most units of work committed together.
MAX_BATCH = 512

#: Seconds between two checkpoints by the writer (while it is writing).
CHECKPOINT_INTERVAL = 0.5


@dataclass(eq=False)
class _Unit(Generic[T]):
    """One unit of work; a blocking caller waits on ``done``, an asynchronous one on ``future``."""

    work: Callable[[], T]
    done: threading.Event | None = None
    future: asyncio.Future[None] | None = None
    result: Any = None
    error: BaseException | None = None


class GroupCommitWriter:
    """Runs units of work on ``conn`` in batched, durable transactions.

    ``conn`` must be in autocommit mode (``isolation_level=None``) and used by no other
    thread. A unit reaches the connection through the closure it was given.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        lock_path: Path | None = None,
        checkpoint_interval: float | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._conn = conn
        self._checkpoint_interval = checkpoint_interval
        self._next_checkpoint = time.monotonic() + (checkpoint_interval or 0.0)
        self._max_batch = max_batch
        self._lock_fd = (
            None if lock_path is None else os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        )
        self._queue: queue.SimpleQueue[_Unit[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sqlite-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], T]) -> T:
        """Run ``work`` in the next batch; return its result once that batch is durable."""
        if self._closed:
            raise StoreError("the database is closed")
        unit: _Unit[T] = _Unit(work, done=threading.Event())
        self._queue.put(unit)
        assert unit.done is not None
        unit.done.wait()
        return _outcome(unit)

    async def submit_async(self, work: Callable[[], T]) -> T:
        """:meth:`submit` for an event loop: the caller's task waits, not its thread.

        The writer wakes each loop once per batch (one ``call_soon_threadsafe`` for all of
        that loop's units), not once per unit. A task cancelled while it waits does not
        cancel its unit: the write commits (or not) all the same.
        """
        if self._closed:
            raise StoreError("the database is closed")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unit: _Unit[T] = _Unit(work, future=future)
        self._queue.put(unit)
        await asyncio.shield(future)
        return _outcome(unit)

    def close(self) -> None:
        """Finish the queued units, then stop the writer thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
            if self._lock_fd is not None:
                os.close(self._lock_fd)

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            # Lock first, then drain: whatever arrived while another process held the write
            # lock joins this batch instead of waiting for one more commit.
            with self._interprocess_lock():
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        unit = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if unit is None:
                        stopping = True
                        break
                    batch.append(unit)
                self._commit(batch)
                self._checkpoint_if_due()

    @contextmanager
    def _interprocess_lock(self) -> Iterator[None]:
        if self._lock_fd is None:
            yield
            return
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _checkpoint_if_due(self) -> None:
        """Checkpoint if ``checkpoint_interval`` has passed since the last checkpoint."""
        if self._checkpoint_interval is None:
            return
        now = time.monotonic()
        if now < self._next_checkpoint:
            return
        self._next_checkpoint = now + self._checkpoint_interval
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # a missed checkpoint is made up by the next one
            log.warning("WAL checkpoint failed: %s", exc)

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._fail(batch, exc)
            return
        try:
            for unit in batch:
                self._run(unit)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback of a failed batch failed")
            self._fail(batch, exc)
            return
        _wake(batch)

    def _run(self, unit: _Unit[Any]) -> None:
        """Run one unit in a savepoint; a savepoint statement that fails fails the batch."""
        conn = self._conn
        conn.execute("SAVEPOINT unit")
        try:
            unit.result = unit.work()
        except Abort as abort:
            conn.execute("ROLLBACK TO unit")
            unit.result = abort.result
        except Exception as exc:  # the unit's own failure, reported to its caller
            conn.execute("ROLLBACK TO unit")
            unit.error = exc
        conn.execute("RELEASE unit")

    @staticmethod
    def _fail(batch: list[_Unit[Any]], exc: sqlite3.Error) -> None:
        log.error("group commit of %d unit(s) failed: %s", len(batch), exc)
        for unit in batch:
            unit.result = None
            error = StoreError(f"database error: {exc.__class__.__name__}: {exc}")
            error.__cause__ = exc
            unit.error = error
        _wake(batch)


def _outcome(unit: _Unit[T]) -> T:
    if unit.error is not None:
        raise unit.error
    result: T = unit.result
    return result


def _wake(batch: list[_Unit[Any]]) -> None:
    """Wake every waiter of a finished batch: threads one by one, each event loop once."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for unit in batch:
        if unit.done is not None:
            unit.done.set()
        if unit.future is not None:
            by_loop.setdefault(unit.future.get_loop(), []).append(unit.future)
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.debug("%d finished unit(s) of a closed event loop", len(futures))


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
