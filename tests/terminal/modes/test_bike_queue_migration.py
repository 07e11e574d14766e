"""The dock's former queue file moves into the terminal's one outbox, in order, once."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from terminal.modes.bike.queue import RideQueue, migrate_legacy_queue
from terminal.outbox import Outbox

LEGACY = """CREATE TABLE entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
path TEXT NOT NULL, body TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, par TEXT,
created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
status TEXT NOT NULL DEFAULT 'pending', last_error TEXT)"""


def test_the_former_queue_moves_into_the_outbox_in_order(tmp_path: Path) -> None:
    legacy = tmp_path / "bike-queue.sqlite3"
    with closing(sqlite3.connect(legacy)) as db:
        db.execute(LEGACY)
        for kind, path, key, par in [("rental", "/v1/rentals", "k1", "PAR1"),
                                     ("return", "/v1/rentals/returns", "k2", None)]:  # fmt: skip
            db.execute("INSERT INTO entries (kind, path, body, idempotency_key, par, created_at) "
                       "VALUES (?, ?, ?, ?, ?, '2026-12-01T00:00:00+00:00')",
                       (kind, path, json.dumps({"terminal_id": "T1"}), key, par))  # fmt: skip
        db.commit()
    with Outbox(tmp_path / "outbox.sqlite3") as box:
        queue = RideQueue(box)
        assert migrate_legacy_queue(legacy, queue) == 2
        assert [(e.kind, e.idempotency_key, e.par) for e in queue.pending()] == [
            ("rental", "k1", "PAR1"), ("return", "k2", None)]  # fmt: skip
        assert queue.offline_rides("PAR1") == 1 and queue.offline_rides() == 1
        assert box.pending().by_kind == {"ride": 2}
        assert not legacy.exists() and (tmp_path / "bike-queue.sqlite3.migrated").exists()
        assert migrate_legacy_queue(legacy, queue) == 0  # read once
        assert migrate_legacy_queue(box.path, queue) == 0  # the outbox itself is no queue
