# ruff: noqa: S608 (statements are assembled from this module's own column names; values are
# always bound as parameters)
"""The outbox: one durable SQLite file of everything the terminal owes the acquirer.

Reversals, advices, offline (deferred) payments, bike rides and door events wait here until
the acquirer has answered them (:mod:`terminal.outbox.items`). The file is private and
fsync'd on every commit (:mod:`terminal.durable`), so an item stored is an item kept, through
a kill -9 or a power cut.

**Claims.** A forwarder claims the head of a kind in one write transaction (``BEGIN
IMMEDIATE``): the item goes ``in_flight`` under the forwarder's lease (owner, expiry) and the
attempt is counted, *before* anything is sent. Another forwarder, in this process or another,
skips a kind whose head is leased. A lease that expired belongs to a forwarder that died: the
item is claimed again and sent again under the same idempotency key, so the acquirer replays
its first answer. Heads are chosen per kind, in the order stored: a later item of a kind is
never sent before an earlier one is done (or parked as failed).

**Held items.** A deferred payment is stored ``held`` before its journal transaction says
``offline_approved``, and :meth:`Outbox.release` makes it forwardable afterwards; recovery
cancels a held item whose transaction never got that far (:meth:`Outbox.cancel_held`). So a
payment the customer was not shown as approved is never forwarded.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.durable import open_private, write
from terminal.errors import UnknownRecordError
from terminal.outbox.items import ItemState, NewItem, OutboxItem, backoff

__all__ = ["Backlog", "Outbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    position INTEGER,                    -- order within the kind (a follow-up takes its parent's)
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
    currency TEXT,
    account TEXT,
    journal_id INTEGER,
    deferred INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT,
    answer TEXT,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS items_queue ON items (kind, state, position, seq);
CREATE INDEX IF NOT EXISTS items_journal ON items (journal_id)
"""
_COLUMNS = (
    "seq, kind, action, method, path, body, idempotency_key, amount, currency, account, "
    "journal_id, deferred, state, attempts, created_at, next_attempt_at, last_error, answer"
)
#: States still owed to the acquirer.
_OWED = ("pending", "in_flight")


@dataclass(frozen=True, slots=True)
class Backlog:
    """What the outbox still owes: counts and the money at risk per currency.

    ``count``/``at_risk``: items waiting or in flight; ``failed``/``failed_at_risk``: parked
    items the acquirer refused (they need the operator); ``held``: items not yet released.
    """

    count: int
    at_risk: dict[str, int]
    by_kind: dict[str, int]
    failed: int
    failed_at_risk: dict[str, int]
    held: int

    def to_dict(self) -> dict[str, Any]:
        return {"pending": self.count, "at_risk": self.at_risk, "by_kind": self.by_kind,
                "failed": self.failed, "failed_at_risk": self.failed_at_risk, "held": self.held}  # fmt: skip


def _item(row: sqlite3.Row | tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        seq=row[0], kind=row[1], action=row[2], method=row[3], path=row[4],
        body=json.loads(row[5]), idempotency_key=row[6], amount=row[7], currency=row[8],
        account=row[9], journal_id=row[10], deferred=bool(row[11]), state=ItemState(row[12]),
        attempts=row[13], created_at=row[14], next_attempt_at=row[15], last_error=row[16],
        answer=json.loads(row[17]) if row[17] else None,
    )  # fmt: skip


class Outbox:
    """The durable outbox at ``path``.

    ``clock`` gives wall-clock seconds (leases are compared across processes); ``rand`` the
    jitter in [0, 1); ``lease`` how long a claim lasts (longer than a request's timeout);
    ``base``/``cap`` the backoff (seconds).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        lease: float = 60.0,
        base: float = 1.0,
        cap: float = 300.0,
    ) -> None:
        self.path = path
        self.clock, self.rand = clock, rand
        self.lease, self.base, self.cap = lease, base, cap
        #: This outbox object's lease owner name (one per forwarder).
        self.owner = uuid.uuid4().hex
        self._db = open_private(path, _SCHEMA, what="outbox")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- storing ------------------------------------------------------------------------------

    def add(self, item: NewItem, *, hold: bool = False, after: OutboxItem | None = None) -> OutboxItem:
        """Store ``item`` durably (committed and fsync'd when this returns); the stored item.

        An item with an idempotency key already stored is not stored again: the first one is
        returned. ``hold`` keeps it from being sent until :meth:`release`. ``after``: a
        follow-up of that item, sent right after it, before the rest of its kind.
        """
        with write(self._db) as db:
            return self._insert(db, item, hold=hold, after=after)

    def _insert(
        self, db: sqlite3.Connection, item: NewItem, *, hold: bool, after: OutboxItem | None
    ) -> OutboxItem:
        req, now = item.request, self.clock()
        cur = db.execute(
            "INSERT OR IGNORE INTO items (kind, action, method, path, body, idempotency_key, "
            "amount, currency, account, journal_id, deferred, state, created_at, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (req.kind, req.action or req.kind, req.method.upper(), req.path,
             json.dumps(req.body, sort_keys=True), item.idempotency_key, item.amount,
             item.currency, item.account, item.journal_id, int(item.deferred),
             "held" if hold else "pending", now, now),
        )  # fmt: skip
        if cur.rowcount:
            position = cur.lastrowid
            if after is not None:
                position = db.execute("SELECT position FROM items WHERE seq = ?",
                                      (after.seq,)).fetchone()[0]  # fmt: skip
            db.execute("UPDATE items SET position = ? WHERE seq = ?", (position, cur.lastrowid))
        row = db.execute(f"SELECT {_COLUMNS} FROM items WHERE idempotency_key = ?",
                         (item.idempotency_key,)).fetchone()  # fmt: skip
        return _item(row)

    def release(self, journal_id: int) -> int:
        """Make the held items of ``journal_id`` forwardable; how many were released."""
        with write(self._db) as db:
            return db.execute("UPDATE items SET state = 'pending' WHERE journal_id = ? AND "
                              "state = 'held'", (journal_id,)).rowcount  # fmt: skip

    def cancel_held(self, journal_id: int) -> int:
        """Cancel the held items of ``journal_id`` (never sent); how many were cancelled."""
        with write(self._db) as db:
            return db.execute("UPDATE items SET state = 'cancelled', done_at = ? WHERE "
                              "journal_id = ? AND state = 'held'",
                              (self.clock(), journal_id)).rowcount  # fmt: skip

    def due_now(self, kind: str) -> int:
        """Make the waiting items of ``kind`` due now (a caller that knows the link is back);
        how many. Items in flight keep their lease."""
        with write(self._db) as db:
            return db.execute("UPDATE items SET next_attempt_at = ? WHERE kind = ? AND "
                              "state = 'pending'", (self.clock(), kind)).rowcount  # fmt: skip

    def retry(self, seq: int) -> OutboxItem:
        """Put a parked (failed) item back in its queue, due now (the operator's decision)."""
        with write(self._db) as db:
            changed = db.execute("UPDATE items SET state = 'pending', next_attempt_at = ? "
                                 "WHERE seq = ? AND state = 'failed'",
                                 (self.clock(), seq)).rowcount  # fmt: skip
        if not changed:
            raise UnknownRecordError(f"no failed outbox item {seq}")
        return self.item(seq)

    # -- reading ------------------------------------------------------------------------------

    def item(self, seq: int) -> OutboxItem:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise UnknownRecordError(f"no outbox item {seq}")
        return _item(row)

    def by_key(self, idempotency_key: str) -> OutboxItem | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE idempotency_key = ?",
                               (idempotency_key,)).fetchone()  # fmt: skip
        return _item(row) if row else None

    def for_journal(self, journal_id: int) -> list[OutboxItem]:
        """The items of one journal transaction, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM items WHERE journal_id = ? ORDER BY seq",
                                (journal_id,)).fetchall()  # fmt: skip
        return [_item(r) for r in rows]

    def items(self, states: Iterable[ItemState] | None = None) -> list[OutboxItem]:
        """The items in ``states`` (all when None), by kind then in queue order."""
        sql, args = f"SELECT {_COLUMNS} FROM items", ()
        wanted = tuple(s.value for s in states) if states is not None else None
        if wanted is not None:
            sql += f" WHERE state IN ({', '.join('?' * len(wanted))})"
            args = wanted  # type: ignore[assignment]
        rows = self._db.execute(sql + " ORDER BY kind, position, seq", args).fetchall()
        return [_item(r) for r in rows]

    def count(
        self, *, kind: str | None = None, action: str | None = None, account: str | None = None
    ) -> int:
        """Items still owed (held, waiting or in flight), filtered by kind, action and PAR."""
        sql = "SELECT COUNT(*) FROM items WHERE state IN ('held', 'pending', 'in_flight')"
        args: list[str] = []
        for column, value in (("kind", kind), ("action", action), ("account", account)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        found: int = self._db.execute(sql, args).fetchone()[0]
        return found

    def deferred_owed(self, account: str | None = None) -> tuple[int, dict[str, int], float | None]:
        """Deferred (offline-approved) payments not yet forwarded, of ``account`` (a PAR) or
        all: their count, their amount per currency, and when the oldest was stored."""
        sql = ("SELECT COUNT(*), currency, SUM(amount), MIN(created_at) FROM items WHERE "
               "deferred = 1 AND state IN ('held', 'pending', 'in_flight')")  # fmt: skip
        args: tuple[str, ...] = ()
        if account is not None:
            sql += " AND account = ?"
            args = (account,)
        count, oldest = 0, None
        amounts: dict[str, int] = {}
        for n, currency, amount, first in self._db.execute(sql + " GROUP BY currency", args):
            count += n
            if currency:
                amounts[currency] = amounts.get(currency, 0) + (amount or 0)
            oldest = first if oldest is None else min(oldest, first)
        return count, amounts, oldest

    def pending(self) -> Backlog:
        """The count and the money at risk per currency of what is still owed."""
        rows = self._db.execute(
            "SELECT state, kind, currency, COUNT(*), SUM(amount) FROM items "
            "WHERE state IN ('held', 'pending', 'in_flight', 'failed') "
            "GROUP BY state, kind, currency"
        ).fetchall()
        count = failed = held = 0
        at_risk: dict[str, int] = {}
        failed_at_risk: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        for state, kind, currency, n, amount in rows:
            if state == "held":
                held += n
                continue
            money = failed_at_risk if state == "failed" else at_risk
            if currency and amount:
                money[currency] = money.get(currency, 0) + amount
            if state == "failed":
                failed += n
            else:
                count += n
                by_kind[kind] = by_kind.get(kind, 0) + n
        return Backlog(count, at_risk, by_kind, failed, failed_at_risk, held)

    # -- forwarding (see terminal.outbox.forwarder) -------------------------------------------

    def claim(self, *, skip: Iterable[str] = ()) -> OutboxItem | None:
        """Claim the first due head of a kind (not in ``skip``) under this outbox's lease.

        A head is the first item of its kind still owed; it is due when it is waiting and its
        next attempt time has come, or in flight under a lease that has expired. The claim
        (state, lease, attempt count) is committed before this returns.
        """
        now = self.clock()
        skipped = tuple(skip)
        with write(self._db) as db:
            heads = db.execute(
                "SELECT seq, kind, state, next_attempt_at, lease_until FROM items AS i "
                "WHERE state IN ('pending', 'in_flight') AND NOT EXISTS ("
                "  SELECT 1 FROM items AS e WHERE e.kind = i.kind AND e.state IN "
                "  ('held', 'pending', 'in_flight') AND (e.position < i.position OR "
                "  (e.position = i.position AND e.seq < i.seq))) ORDER BY position, seq"
            ).fetchall()
            for seq, kind, state, due, lease_until in heads:
                if kind in skipped:
                    continue
                if state == "pending" and due > now:
                    continue
                if state == "in_flight" and (lease_until or 0) > now:
                    continue
                db.execute("UPDATE items SET state = 'in_flight', lease_owner = ?, "
                           "lease_until = ?, attempts = attempts + 1 WHERE seq = ?",
                           (self.owner, now + self.lease, seq))  # fmt: skip
                row = db.execute(f"SELECT {_COLUMNS} FROM items WHERE seq = ?", (seq,)).fetchone()
                return _item(row)
        return None

    def complete(
        self, item: OutboxItem, answer: dict[str, Any] | None,
        follow_ups: Iterable[NewItem] = (),
    ) -> None:
        """Mark ``item`` done with the acquirer's ``answer``; store its follow-ups with it."""
        with write(self._db) as db:
            db.execute("UPDATE items SET state = 'done', answer = ?, done_at = ?, "
                       "lease_owner = NULL, lease_until = NULL, last_error = NULL "
                       "WHERE seq = ? AND state != 'done'",
                       (json.dumps(answer) if answer is not None else None, self.clock(),
                        item.seq))  # fmt: skip
            for follow_up in follow_ups:
                self._insert(db, follow_up, hold=False, after=item)

    def defer(self, item: OutboxItem, error: str) -> float:
        """Not delivered now: back to waiting, its next attempt after the backoff; the delay."""
        delay = backoff(item.attempts, base=self.base, cap=self.cap, rand=self.rand)
        with write(self._db) as db:
            db.execute("UPDATE items SET state = 'pending', next_attempt_at = ?, last_error = ?, "
                       "lease_owner = NULL, lease_until = NULL WHERE seq = ? AND state = "
                       "'in_flight' AND lease_owner = ?",
                       (self.clock() + delay, error[:500], item.seq, self.owner))  # fmt: skip
        return delay

    def park(self, item: OutboxItem, error: str, answer: dict[str, Any] | None = None) -> None:
        """Refused for good: ``failed``, kept with the problem for the operator, not retried."""
        with write(self._db) as db:
            db.execute("UPDATE items SET state = 'failed', last_error = ?, answer = ?, "
                       "lease_owner = NULL, lease_until = NULL WHERE seq = ? AND state = "
                       "'in_flight' AND lease_owner = ?",
                       (error[:500], json.dumps(answer) if answer else None, item.seq,
                        self.owner))  # fmt: skip
