"""The group-commit writer on a real SQLite file: batching, isolation of units, waking, checkpoints."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acquirer.errors import StoreError
from acquirer.store.groupcommit import GroupCommitWriter
from acquirer.store.tx import Abort


class RecordingWriter(GroupCommitWriter):
    """Remembers the size of every batch it commits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.batches: list[int] = []
        super().__init__(*args, **kwargs)

    def _commit(self, batch: list[Any]) -> None:
        self.batches.append(len(batch))
        super()._commit(batch)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, sqlite3.Connection]]:
    path = tmp_path / "g.db"
    conn = _connect(path)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table is in the database file
    yield path, conn
    conn.close()


def _rows(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as reader:
        return sorted(reader.execute("SELECT k, v FROM t").fetchall())


def test_a_failing_unit_is_undone_alone_and_reported_to_its_caller(
    db: tuple[Path, sqlite3.Connection], tmp_path: Path
) -> None:
    path, conn = db
    writer = RecordingWriter(conn, lock_path=tmp_path / "lock")
    gate = threading.Event()
    writer.submit(lambda: gate.wait(0) or None)  # the writer is idle before the batch below
    lock_fd = os.open(tmp_path / "lock", os.O_RDWR)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)  # another process is committing: units queue up
    results: dict[str, Any] = {}

    def insert(key: str, value: int, outcome: str = "ok") -> None:
        def work() -> str:
            conn.execute("INSERT INTO t VALUES (?, ?)", (key, value))
            if outcome == "abort":
                raise Abort("aborted")
            if outcome == "raise":
                raise ValueError("the unit's own error")
            return key

        try:
            results[key] = writer.submit(work)
        except ValueError as exc:
            results[key] = exc

    threads = [
        threading.Thread(target=insert, args=("a", 1)),
        threading.Thread(target=insert, args=("b", 2, "abort")),
        threading.Thread(target=insert, args=("c", 3, "raise")),
        threading.Thread(target=insert, args=("d", 4)),
    ]
    for thread in threads:
        thread.start()
    while writer._queue.qsize() < 3:  # one unit is held by the writer, waiting for the lock
        threading.Event().wait(0.01)
    fcntl.flock(lock_fd, fcntl.LOCK_UN)
    os.close(lock_fd)
    for thread in threads:
        thread.join()
    writer.close()
    # Lock first, then drain: the four units that waited for the lock are one commit.
    assert writer.batches == [1, 4]
    assert results["a"] == "a" and results["d"] == "d" and results["b"] == "aborted"
    assert isinstance(results["c"], ValueError)
    assert _rows(path) == [("a", 1), ("d", 4)]


def test_async_callers_await_their_durable_commit(db: tuple[Path, sqlite3.Connection]) -> None:
    path, conn = db
    writer = RecordingWriter(conn)

    async def main() -> list[int]:
        def work(n: int) -> int:
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"k{n}", n))
            return n

        return await asyncio.gather(
            *(writer.submit_async(functools.partial(work, n)) for n in range(50))
        )

    assert asyncio.run(main()) == list(range(50))
    # Each caller resumed only after its commit: every row is there for another connection.
    assert len(_rows(path)) == 50
    assert sum(writer.batches) == 50
    writer.close()
    with pytest.raises(StoreError):
        asyncio.run(writer.submit_async(lambda: None))


@pytest.mark.parametrize("interval", [0.0, None])
def test_the_writer_checkpoints_between_batches(
    db: tuple[Path, sqlite3.Connection], interval: float | None
) -> None:
    path, conn = db
    writer = GroupCommitWriter(conn, checkpoint_interval=interval)
    writer.submit(lambda: conn.execute("INSERT INTO t VALUES ('x', 1)"))
    writer.submit(lambda: conn.execute("INSERT INTO t VALUES ('y', 2)"))
    writer.close()  # the checkpoint after the last batch (if any) has run
    # The database file alone (ignoring the WAL) has the rows once a checkpoint copied them.
    immutable = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        count = immutable.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    finally:
        immutable.close()
    assert count == (2 if interval is not None else 0)
