# ruff: noqa: S608 (statements are assembled from this module's own column names; values are
# always bound as parameters)
"""The journal: one durable row per transaction and the append-only history of its states.

Every transaction is recorded from the moment an amount is accepted (:meth:`Journal.accept`)
and moved along the state machine of :mod:`terminal.journal.states`; each move is one write
transaction, committed and fsync'd (:mod:`terminal.durable`) *before* the step that depends on
it. The rule for the modes: write ``sent`` before the request leaves, ``confirmed`` before the
screen says approved, ``offline_approved`` before the lock or door opens. Then a kill -9 at
any point leaves a state that :meth:`Journal.recover` resolves.

Only tokens, masked PANs and PARs are stored: no PAN, track 2, cryptogram key or data record.
A value that looks like a full PAN (13 to 19 digits passing the Luhn check) is refused with
:class:`~terminal.errors.CardDataRefusedError`, so a mistake cannot put one on disk.

``events`` is append-only (SQLite triggers refuse UPDATE and DELETE): one row per state
change or note, with what changed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emvcore.pan import is_luhn_valid
from terminal.durable import open_private, write
from terminal.errors import CardDataRefusedError, UnknownRecordError
from terminal.journal.recovery import Recovery, recovery_action
from terminal.journal.states import STATUS_KINDS, TxKind, TxState, check_transition, outcome_of
from terminal.outbox.items import Request

__all__ = ["Event", "Journal", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    reference TEXT,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL,
    state TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    authorization_id TEXT,
    approved INTEGER,
    token_masked TEXT,
    par TEXT,
    arpc_verified INTEGER,
    receipt TEXT,
    resolution TEXT,
    status_kind TEXT NOT NULL,
    undo TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL REFERENCES transactions (id),
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_of ON events (transaction_id, seq);
CREATE INDEX IF NOT EXISTS transactions_state ON transactions (state);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END
"""
_COLUMNS = (
    "id, kind, idempotency_key, reference, amount, currency, state, outcome, reason, "
    "authorization_id, approved, token_masked, par, arpc_verified, receipt, resolution, status_kind, "
    "undo, created_at, updated_at"
)
#: The columns a state change may set (besides state and outcome).
_FIELDS = ("reason", "authorization_id", "approved", "token_masked", "par", "arpc_verified", "receipt",
           "resolution", "undo")  # fmt: skip
_DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")  # a whole run: 22 digits is no PAN


def utc_now() -> datetime:
    return datetime.now(UTC)


def refuse_card_numbers(value: object, what: str) -> None:
    """Raise :class:`~terminal.errors.CardDataRefusedError` when ``value`` (or any string in it)
    holds a run of 13 to 19 digits that passes the Luhn check: what a full PAN looks like.

    >>> refuse_card_numbers({"token": "476173******0010", "ref": "order-1234"}, "receipt")
    >>> refuse_card_numbers("auth_01JD0000000000000000000001", "id")  # 22 digits: no PAN
    >>> refuse_card_numbers(["4761739001010010"], "receipt")
    Traceback (most recent call last):
    ...
    terminal.errors.CardDataRefusedError: the receipt holds what looks like a full PAN: not journalled
    """
    if isinstance(value, str):
        if any(is_luhn_valid(run) for run in _DIGIT_RUN.findall(value)):
            raise CardDataRefusedError(f"the {what} holds what looks like a full PAN: not journalled")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_card_numbers(key, what)
            refuse_card_numbers(item, what)
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_card_numbers(item, what)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journalled transaction as it stands."""

    id: int
    kind: TxKind
    idempotency_key: str
    reference: str | None
    amount: int
    currency: str
    state: TxState
    outcome: str | None
    reason: str | None
    authorization_id: str | None
    approved: bool | None
    token_masked: str | None
    par: str | None
    arpc_verified: bool | None
    receipt: dict[str, Any] | None
    resolution: str | None
    status_kind: str
    undo: Request | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (tokens masked, no card data)."""
        return {
            "id": self.id, "kind": self.kind.value, "idempotency_key": self.idempotency_key,
            "reference": self.reference, "amount": self.amount, "currency": self.currency,
            "state": self.state.value, "outcome": self.outcome, "reason": self.reason,
            "authorization_id": self.authorization_id, "approved": self.approved,
            "token_masked": self.token_masked,
            "par": self.par, "arpc_verified": self.arpc_verified, "receipt": self.receipt,
            "resolution": self.resolution, "status_kind": self.status_kind,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a transaction's history."""

    seq: int
    at: str
    from_state: TxState | None
    to_state: TxState
    detail: dict[str, Any]


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    return JournalEntry(
        id=row[0], kind=TxKind(row[1]), idempotency_key=row[2], reference=row[3],
        amount=row[4], currency=row[5], state=TxState(row[6]), outcome=row[7], reason=row[8],
        authorization_id=row[9], approved=_flag(row[10]), token_masked=row[11], par=row[12],
        arpc_verified=_flag(row[13]), receipt=json.loads(row[14]) if row[14] else None,
        resolution=row[15], status_kind=row[16],
        undo=Request.from_json(row[17]) if row[17] else None,
        created_at=row[18], updated_at=row[19],
    )  # fmt: skip


class Journal:
    """The journal at ``path`` (see the module docstring); ``clock`` gives aware datetimes."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self.clock = clock
        self._db = open_private(path, _SCHEMA, what="journal")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recording ----------------------------------------------------------------------------

    def accept(
        self,
        kind: TxKind,
        amount: int,
        currency: str,
        *,
        reference: str | None = None,
        idempotency_key: str | None = None,
        status_kind: str | None = None,
    ) -> JournalEntry:
        """Record a transaction whose amount was just accepted (state ``accepted``).

        ``idempotency_key`` (a fresh UUID by default) is the key the request to the acquirer
        is sent under, and the key of its status lookup (``status_kind``: by default the one
        :data:`~terminal.journal.states.STATUS_KINDS` gives ``kind``).
        """
        if amount < 0:
            raise ValueError("an amount is never negative")
        refuse_card_numbers(reference, "reference")
        key = idempotency_key or str(uuid.uuid4())
        now = self.clock().isoformat()
        with write(self._db) as db:
            cur = db.execute(
                "INSERT INTO transactions (kind, idempotency_key, reference, amount, currency, "
                "state, status_kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (TxKind(kind).value, key, reference, amount, currency.upper(),
                 TxState.ACCEPTED.value, status_kind or STATUS_KINDS[TxKind(kind)], now, now),
            )  # fmt: skip
            assert cur.lastrowid is not None
            detail = {"amount": amount, "currency": currency.upper(), "reference": reference}
            self._event(db, cur.lastrowid, None, TxState.ACCEPTED, detail, now)
            return self._get(db, cur.lastrowid)

    def advance(
        self,
        id: int,
        state: TxState,
        *,
        outcome: str | None = None,
        note: str | None = None,
        **fields: Any,
    ) -> JournalEntry:
        """Move transaction ``id`` to ``state`` and set ``fields``, in one durable write.

        ``fields`` (those left None are not changed) are among reason, authorization_id,
        approved (the acquirer's decision), token_masked, par, arpc_verified,
        receipt (a JSON object), resolution and undo (a :class:`~terminal.outbox.items.Request`).
        ``outcome`` defaults to what the state tells the customer
        (:func:`~terminal.journal.states.outcome_of`). Raises
        :class:`~terminal.errors.IllegalTransitionError` for a move the state machine forbids.
        """
        fields = _checked(fields)
        refuse_card_numbers(note, "note")
        now = self.clock().isoformat()
        with write(self._db) as db:
            current = self._get(db, id)
            check_transition(current.state, state)
            changes: dict[str, Any] = {"state": state.value, "updated_at": now}
            shown = outcome or outcome_of(state)
            if shown is not None:
                changes["outcome"] = shown
            changes.update(_stored(fields))
            sets = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE transactions SET {sets} WHERE id = ?", (*changes.values(), id))
            detail = {k: v for k, v in fields.items() if k not in ("receipt", "undo")}
            if note:
                detail["note"] = note
            self._event(db, id, current.state, state, detail, now)
            return self._get(db, id)

    def note(self, id: int, note: str, **fields: Any) -> JournalEntry:
        """Append a history line without a state change (e.g. a status lookup said "in progress")."""
        fields = _checked(fields)
        refuse_card_numbers(note, "note")
        now = self.clock().isoformat()
        with write(self._db) as db:
            current = self._get(db, id)
            changes = {"updated_at": now, **_stored(fields)}
            sets = ", ".join(f"{column} = ?" for column in changes)
            db.execute(f"UPDATE transactions SET {sets} WHERE id = ?", (*changes.values(), id))
            self._event(db, id, current.state, current.state, {**fields, "note": note}, now)
            return self._get(db, id)

    # -- the named steps (each one :meth:`advance`) --------------------------------------------

    def card_read(self, id: int, *, token_masked: str | None, par: str | None = None) -> JournalEntry:
        """The card produced its cryptogram: what identifies it (masked token, PAR)."""
        return self.advance(id, TxState.CARD_READ, token_masked=token_masked, par=par)

    def sent(self, id: int, *, undo: Request | None = None) -> JournalEntry:
        """The request is about to leave (write this *before* sending). ``undo``: the request
        that reverses it by its idempotency key, used if it must be reversed later."""
        return self.advance(id, TxState.SENT, undo=undo)

    def answered(
        self, id: int, *, approved: bool, reason: str, authorization_id: str | None = None
    ) -> JournalEntry:
        """The acquirer's answer arrived (approved or not); the card has not been told yet."""
        return self.advance(id, TxState.ANSWERED, approved=approved, reason=reason,
                            authorization_id=authorization_id)  # fmt: skip

    def confirm(
        self, id: int, *, arpc_verified: bool | None, receipt: dict[str, Any] | None = None,
        resolution: str | None = None,
    ) -> JournalEntry:
        """Approved and accepted by the card: write this *before* the screen says approved."""
        return self.advance(id, TxState.CONFIRMED, arpc_verified=arpc_verified, receipt=receipt,
                            resolution=resolution)  # fmt: skip

    # -- reading ------------------------------------------------------------------------------

    def get(self, id: int) -> JournalEntry:
        return self._get(self._db, id)

    def by_key(self, idempotency_key: str) -> JournalEntry:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM transactions WHERE idempotency_key = ?",
                               (idempotency_key,)).fetchone()  # fmt: skip
        if row is None:
            raise UnknownRecordError("no journalled transaction has that idempotency key")
        return _entry(row)

    def entries(
        self, *, states: Iterable[TxState] | None = None, limit: int | None = None
    ) -> list[JournalEntry]:
        """Transactions, newest first (in ``states`` when given; at most ``limit``)."""
        sql, args = f"SELECT {_COLUMNS} FROM transactions", []
        if states is not None:
            wanted = [s.value for s in states]
            sql += f" WHERE state IN ({', '.join('?' * len(wanted))})"
            args.extend(wanted)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_entry(r) for r in self._db.execute(sql, args).fetchall()]

    def events(self, id: int) -> list[Event]:
        """The history of transaction ``id``, oldest first."""
        self.get(id)
        rows = self._db.execute("SELECT seq, at, from_state, to_state, detail FROM events WHERE "
                                "transaction_id = ? ORDER BY seq", (id,)).fetchall()  # fmt: skip
        return [Event(r[0], r[1], TxState(r[2]) if r[2] else None, TxState(r[3]), json.loads(r[4]))
                for r in rows]  # fmt: skip

    def recover(self) -> list[Recovery]:
        """The transactions a restart must resolve, oldest first, with what to do with each
        (see :mod:`terminal.journal.recovery`; :func:`terminal.journal.resolve.recover_all`
        does it)."""
        unfinished = [s for s in TxState if not s.final]
        found = [(entry, recovery_action(entry)) for entry in reversed(self.entries(states=unfinished))]
        return [Recovery(entry, action) for entry, action in found if action is not None]

    # -- inside -------------------------------------------------------------------------------

    @staticmethod
    def _get(db: sqlite3.Connection, id: int) -> JournalEntry:
        row = db.execute(f"SELECT {_COLUMNS} FROM transactions WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise UnknownRecordError(f"no journalled transaction {id}")
        return _entry(row)

    @staticmethod
    def _event(db: sqlite3.Connection, id: int, old: TxState | None, new: TxState,
               detail: dict[str, Any], at: str) -> None:  # fmt: skip
        db.execute("INSERT INTO events (transaction_id, at, from_state, to_state, detail) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (id, at, old.value if old else None, new.value,
                    json.dumps({k: v for k, v in detail.items() if v is not None})))  # fmt: skip


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without the ones left None, refused when unknown or holding a PAN."""
    unknown = set(fields) - set(_FIELDS)
    if unknown:
        raise TypeError(f"not journal fields: {', '.join(sorted(unknown))}")
    given = {name: value for name, value in fields.items() if value is not None}
    undo = given.get("undo")
    refuse_card_numbers({**given, "undo": undo.body if undo is not None else None}, "journal entry")
    return given


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    """Column values for ``fields`` (JSON for the receipt, the undo request; 0/1 for flags)."""
    stored: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "receipt" and value is not None:
            value = json.dumps(value, sort_keys=True)
        elif name == "undo" and value is not None:
            value = value.to_json()
        elif name in ("arpc_verified", "approved") and value is not None:
            value = int(bool(value))
        stored[name] = value
    return stored
