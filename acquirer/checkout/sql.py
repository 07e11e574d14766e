"""Checkout sessions in SQL: :class:`SqlCheckoutStore`, over the payments store.

Safety across processes rests on the database, as for payments and parcels:

- a session is created under ``UNIQUE (terminal_id, idempotency_key)``: a retry (or a
  concurrent duplicate, which waits on the index) finds the first session instead;
- a session leaves ``created`` only by ``UPDATE ... WHERE id = ? AND state = 'created'``:
  of two writers one changes the row, the other changes nothing and learns the state;
- a wallet's payment (:meth:`SqlCheckoutStore.record_checkout_authorization`) records its
  authorization (the payments' own :func:`record_authorization_in`: ATC claim, payment,
  ledger), claims the link nonce (a unique insert, :func:`emvcore.tapmode.accept_link`) and,
  when approved, marks the session paid, in one transaction. A lost race on the nonce or the
  session raises :class:`~acquirer.checkout.rows.CheckoutRefusal`, which rolls the whole
  transaction back: nothing is charged for a session another wallet paid first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acquirer.checkout.rows import (
    CheckoutReason,
    CheckoutRefusal,
    SessionRow,
    SessionState,
)
from acquirer.errors import StoreError
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.sql.authorizations import record_authorization_in
from acquirer.store.tx import Row, Tx, as_datetime

_COLUMNS = (
    "id",
    "terminal_id",
    "merchant_id",
    "idempotency_key",
    "request_hash",
    "amount",
    "currency",
    "reference",
    "nonce",
    "state",
    "created_at",
    "expires_at",
    "updated_at",
    "authorization_id",
)
_INSERT_SESSION = (
    f"INSERT INTO checkout_sessions ({', '.join(_COLUMNS)}) "  # noqa: S608 (constant columns)
    f"VALUES ({', '.join('?' for _ in _COLUMNS)}) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)
_FIND_BY_KEY = "SELECT * FROM checkout_sessions WHERE terminal_id = ? AND idempotency_key = ?"
_GET = "SELECT * FROM checkout_sessions WHERE id = ?"
_CLOSE = (
    "UPDATE checkout_sessions SET state = ?, updated_at = ?, authorization_id = ? "
    "WHERE id = ? AND state = 'created'"
)
_CLAIM_NONCE = (
    "INSERT INTO checkout_link_nonces (terminal_id, nonce, session_id, claimed_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (terminal_id, nonce) DO NOTHING"
)


def session_row(row: Row) -> SessionRow:
    """A :class:`SessionRow` from a ``checkout_sessions`` row of either backend."""
    return SessionRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        merchant_id=row["merchant_id"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        amount=int(row["amount"]),
        currency=row["currency"],
        reference=row["reference"],
        nonce=bytes.fromhex(row["nonce"]),
        state=SessionState(row["state"]),
        created_at=as_datetime(row["created_at"]),
        expires_at=as_datetime(row["expires_at"]),
        updated_at=as_datetime(row["updated_at"]),
        authorization_id=row["authorization_id"],
    )


class SqlCheckoutStore(SqlPaymentStore):
    """Portable SQL of the checkout sessions, over the payments store (one engine)."""

    def create_session(self, row: SessionRow) -> tuple[SessionRow, bool]:
        """Insert ``row``; or the session already created under its (terminal, key), and False."""

        def work(tx: Tx) -> tuple[SessionRow, bool]:
            values = [getattr(row, column) for column in _COLUMNS]
            values[_COLUMNS.index("nonce")] = row.nonce.hex()
            values[_COLUMNS.index("state")] = row.state.value
            if tx.run(_INSERT_SESSION, values) == 1:
                return row, True
            existing = tx.one(_FIND_BY_KEY, [row.terminal_id, row.idempotency_key])
            if existing is None:
                raise StoreError("the checkout session under this key could not be read back")
            return session_row(existing), False

        return self._transact(work)

    def get_session(self, session_id: str) -> SessionRow | None:
        """A session, or ``None``."""
        row = self._read(lambda tx: tx.one(_GET, [session_id]))
        return None if row is None else session_row(row)

    def close_session(self, session_id: str, state: SessionState, at: datetime) -> SessionRow:
        """Move a ``created`` session to ``state`` (expired, cancelled); the session after it.

        A session that already left ``created`` is returned unchanged: the first close wins.
        """

        def work(tx: Tx) -> SessionRow:
            tx.run(_CLOSE, [state.value, at, None, session_id])
            row = tx.one(_GET, [session_id])
            if row is None:
                raise StoreError(f"checkout session {session_id} vanished")
            return session_row(row)

        return self._transact(work)

    def nonce_claimed(self, terminal_id: str, nonce: bytes) -> bool:
        """Whether a payment already used this link nonce (a cheap check before authorizing)."""
        sql = "SELECT 1 AS one FROM checkout_link_nonces WHERE terminal_id = ? AND nonce = ?"
        return self._read(lambda tx: tx.one(sql, [terminal_id, nonce.hex()])) is not None

    def record_checkout_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None,
        journals: Sequence[Journal],
        velocity: VelocityCheck | None = None,
        *,
        session_id: str,
        link_nonce: bytes,
        now: datetime,
    ) -> RecordResult:
        """The authorization, the nonce claim and (approved) the session paid: one transaction.

        Raises :class:`CheckoutRefusal` (everything rolled back) when the nonce was claimed
        or the session left ``created`` or expired since the checks before authorizing.
        """

        def unit(tx: Tx) -> RecordResult:
            result = record_authorization_in(  # Abort on a lost race, velocity re-counted
                tx, row, claim, payment, journals, velocity, self.row_lock
            )
            session_sql = f"{_GET}{self.row_lock}"
            locked = tx.one(session_sql, [session_id])
            if locked is None:
                raise StoreError(f"checkout session {session_id} vanished")
            session = session_row(locked)
            claimed = tx.run(_CLAIM_NONCE, [session.terminal_id, link_nonce.hex(), session_id, now])
            if claimed != 1:
                raise CheckoutRefusal(CheckoutReason.LINK_REPLAYED)
            if not row.approved:
                return result
            refusal = session.refusal_at(now)
            if refusal is not None:
                raise CheckoutRefusal(refusal)
            if tx.run(_CLOSE, [SessionState.PAID.value, now, row.id, session_id]) != 1:
                raise CheckoutRefusal(CheckoutReason.SESSION_ALREADY_PAID)
            return result

        return self._transact(unit)
