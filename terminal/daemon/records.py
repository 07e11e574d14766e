"""The daemon's own records: actions by idempotency key, closed batches, and the event log's rows.

One private, durable SQLite file beside the journal (:mod:`terminal.durable`: mode 0600, WAL,
fsync'd). The journal holds the money; this file holds what the API needs to answer the same
way after a restart: an ``Idempotency-Key`` repeated returns the same action (the same key
with a different body is refused), and event ids keep counting up.

Access from the API's threads and the reader's worker is serialized by one lock.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from terminal.daemon.actions import Action, ActionState
from terminal.durable import open_private, write

__all__ = ["Records", "request_hash"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    closed_at TEXT NOT NULL,
    last_journal_id INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL
)
"""


def request_hash(body: dict[str, Any]) -> str:
    """The fingerprint of a request body (canonical JSON, SHA-256).

    >>> request_hash({"a": 1, "b": 2}) == request_hash({"b": 2, "a": 1})
    True
    """
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Records:
    """The daemon's SQLite file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db = open_private(path, _SCHEMA, what="daemon records")

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One durable write transaction, under the lock."""
        with self.lock, write(self._db) as db:
            yield db

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self._db.execute(sql, args).fetchall())

    # -- actions ------------------------------------------------------------------------------

    def add_action(self, action: Action, idempotency_key: str, fingerprint: str) -> None:
        with self.writing() as db:
            db.execute("INSERT INTO actions (id, idempotency_key, request_hash, state, doc) "
                       "VALUES (?, ?, ?, ?, ?)", (action.id, idempotency_key, fingerprint,
                       action.state.value, json.dumps(action.to_dict())))  # fmt: skip

    def save_action(self, action: Action) -> None:
        with self.writing() as db:
            db.execute("UPDATE actions SET state = ?, doc = ? WHERE id = ?",
                       (action.state.value, json.dumps(action.to_dict()), action.id))  # fmt: skip

    def action(self, id: str) -> Action | None:
        rows = self.read("SELECT doc FROM actions WHERE id = ?", (id,))
        return Action.from_dict(json.loads(rows[0][0])) if rows else None

    def by_key(self, idempotency_key: str) -> tuple[Action, str] | None:
        """The action stored under ``idempotency_key`` and its request's fingerprint."""
        rows = self.read("SELECT doc, request_hash FROM actions WHERE idempotency_key = ?",
                         (idempotency_key,))  # fmt: skip
        return (Action.from_dict(json.loads(rows[0][0])), rows[0][1]) if rows else None

    def unfinished(self) -> list[Action]:
        """Actions a previous run left before a final state."""
        finals = [s.value for s in ActionState if s.final]
        rows = self.read("SELECT doc FROM actions WHERE state NOT IN (?, ?, ?)", tuple(finals))
        return [Action.from_dict(json.loads(r[0])) for r in rows]

    # -- batches ------------------------------------------------------------------------------

    def add_batch(self, closed_at: str, last_journal_id: int, doc: dict[str, Any]) -> None:
        with self.writing() as db:
            db.execute("INSERT INTO batches (closed_at, last_journal_id, doc) VALUES (?, ?, ?)",
                       (closed_at, last_journal_id, json.dumps(doc)))  # fmt: skip

    def last_batch(self) -> tuple[str, int, dict[str, Any]] | None:
        """The latest closed batch: when, the last journal id it covers, the acquirer's report."""
        rows = self.read("SELECT closed_at, last_journal_id, doc FROM batches "
                         "ORDER BY seq DESC LIMIT 1")  # fmt: skip
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None
