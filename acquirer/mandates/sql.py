"""Mandates in SQL: :class:`SqlMandateStore`, over the checkout store (one engine).

Safety across processes rests on the database:

- the replay cache is a unique ``(scope, nonce)`` insert with ``ON CONFLICT DO NOTHING``
  (:meth:`SqlMandateStore.first_use`): of two copies of one binding, one inserts;
- a mandate's budget is spent only by ``UPDATE mandates SET spent = spent + ? ... WHERE id =
  ? AND revoked_at IS NULL AND spent + ? <= budget AND uses < max_uses`` inside the payment's
  transaction (:meth:`SqlMandateStore.record_agent_authorization`), after the authorization,
  payment and ledger rows are written: when it changes no row the whole transaction rolls
  back (:class:`~acquirer.mandates.rows.MandateRefusal`), so no payment exists that the
  budget did not cover. On PostgreSQL the ``UPDATE`` takes the row lock and re-reads the row
  under it (READ COMMITTED), on SQLite ``BEGIN IMMEDIATE`` serializes writers: concurrent
  payments under one mandate, at any merchants, in any processes, are counted one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acquirer.checkout.rows import CheckoutRefusal, SessionState
from acquirer.checkout.sql import SqlCheckoutStore, session_row
from acquirer.errors import StoreError
from acquirer.mandates.rows import MandateReason, MandateRefusal, MandateRow, WalletKeyRow
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.sql.authorizations import record_authorization_in
from acquirer.store.tx import Row, Tx, as_datetime

_MANDATE_COLUMNS = (
    "id",
    "wallet",
    "token",
    "currency",
    "max_amount",
    "budget",
    "spent",
    "uses",
    "max_uses",
    "not_before",
    "expires_at",
    "presence",
    "agent_key",
    "revoked_at",
    "created_at",
    "updated_at",
)
_INSERT_MANDATE = (
    f"INSERT INTO mandates ({', '.join(_MANDATE_COLUMNS)}) "  # noqa: S608 (constant columns)
    f"VALUES ({', '.join('?' for _ in _MANDATE_COLUMNS)}) ON CONFLICT (id) DO NOTHING"
)
_GET_MANDATE = "SELECT * FROM mandates WHERE id = ?"
_GET_SESSION = "SELECT * FROM checkout_sessions WHERE id = ?"
_SPEND = (
    "UPDATE mandates SET spent = spent + ?, uses = uses + 1, updated_at = ? "
    "WHERE id = ? AND revoked_at IS NULL AND spent + ? <= budget "
    "AND (max_uses IS NULL OR uses < max_uses)"
)
_PAY_SESSION = (
    "UPDATE checkout_sessions SET state = ?, updated_at = ?, authorization_id = ? "
    "WHERE id = ? AND state = 'created'"
)
_INSERT_ANSWER = (
    "INSERT INTO agent_payments (session_id, idempotency_key, request_hash, mandate_id, "
    "authorization_id, response_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def mandate_row(row: Row) -> MandateRow:
    """A :class:`MandateRow` from a ``mandates`` row of either backend."""
    revoked = row["revoked_at"]
    max_uses = row["max_uses"]
    return MandateRow(
        id=row["id"],
        wallet=row["wallet"],
        token=row["token"],
        currency=row["currency"],
        max_amount=int(row["max_amount"]),
        budget=int(row["budget"]),
        spent=int(row["spent"]),
        uses=int(row["uses"]),
        max_uses=None if max_uses is None else int(max_uses),
        not_before=int(row["not_before"]),
        expires_at=int(row["expires_at"]),
        presence=row["presence"],
        agent_key=row["agent_key"],
        revoked_at=None if revoked is None else as_datetime(revoked),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )


def _refusal_of(row: MandateRow, amount: int) -> str:
    """Why the conditional spend changed no row."""
    if row.revoked_at is not None:
        return MandateReason.MANDATE_REVOKED
    if row.max_uses is not None and row.uses >= row.max_uses:
        return MandateReason.MANDATE_USED
    return MandateReason.BUDGET_EXCEEDED


class SqlMandateStore(SqlCheckoutStore):
    """Portable SQL of wallet and agent keys, mandates, nonces and agent payments."""

    # -- keys ---------------------------------------------------------------------------------

    def put_wallet_key(self, row: WalletKeyRow) -> WalletKeyRow:
        """Register ``row``; the key already registered under its thumbprint or token if any."""

        def work(tx: Tx) -> WalletKeyRow:
            sql = (
                "INSERT INTO mandate_wallet_keys (thumbprint, token, jwk, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
            )
            if tx.run(sql, [row.thumbprint, row.token, row.jwk, row.created_at]) == 1:
                return row
            found = tx.one(
                "SELECT * FROM mandate_wallet_keys WHERE thumbprint = ? OR token = ?",
                [row.thumbprint, row.token],
            )
            if found is None:
                raise StoreError("the wallet key could not be read back")
            return _wallet_key(found)

        return self._transact(work)

    def get_wallet_key(self, thumbprint: str) -> WalletKeyRow | None:
        """The wallet key with this thumbprint, or ``None``."""
        sql = "SELECT * FROM mandate_wallet_keys WHERE thumbprint = ?"
        row = self._read(lambda tx: tx.one(sql, [thumbprint]))
        return None if row is None else _wallet_key(row)

    def put_agent_key(self, thumbprint: str, jwk: str, name: str, now: datetime) -> bool:
        """Register an agent key; False when it was registered already."""
        sql = (
            "INSERT INTO mandate_agent_keys (thumbprint, jwk, name, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (thumbprint) DO NOTHING"
        )
        return self._transact(lambda tx: tx.run(sql, [thumbprint, jwk, name, now])) == 1

    def agent_key_known(self, thumbprint: str) -> bool:
        """Whether this agent key is registered."""
        sql = "SELECT 1 AS one FROM mandate_agent_keys WHERE thumbprint = ?"
        return self._read(lambda tx: tx.one(sql, [thumbprint])) is not None

    # -- the replay cache ---------------------------------------------------------------------

    def first_use(self, scope: str, nonce: str, *, expires_at: int, now: int) -> bool:
        """:meth:`emvcore.agentpay.ReplayCache.first_use` on the database (module docstring)."""

        def work(tx: Tx) -> bool:
            tx.run("DELETE FROM mandate_nonces WHERE expires_at < ?", [now])
            inserted = tx.run(
                "INSERT INTO mandate_nonces (scope, nonce, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (scope, nonce) DO NOTHING",
                [scope, nonce, expires_at],
            )
            return inserted == 1

        return self._transact(work)

    # -- mandates -----------------------------------------------------------------------------

    def put_mandate(self, row: MandateRow) -> MandateRow:
        """Insert a newly verified mandate; the stored one (with its state) if already known."""

        def work(tx: Tx) -> MandateRow:
            tx.run(_INSERT_MANDATE, [getattr(row, column) for column in _MANDATE_COLUMNS])
            stored = tx.one(_GET_MANDATE, [row.id])
            if stored is None:
                raise StoreError(f"mandate {row.id} could not be read back")
            return mandate_row(stored)

        return self._transact(work)

    def get_mandate(self, mandate_id: str) -> MandateRow | None:
        """A mandate, or ``None``."""
        row = self._read(lambda tx: tx.one(_GET_MANDATE, [mandate_id]))
        return None if row is None else mandate_row(row)

    def mandates_of(self, wallet: str) -> list[MandateRow]:
        """Every mandate signed by this wallet key, oldest first."""
        sql = "SELECT * FROM mandates WHERE wallet = ? ORDER BY created_at, id"
        return [mandate_row(row) for row in self._read(lambda tx: tx.all(sql, [wallet]))]

    def revoke(self, mandate_id: str, now: datetime) -> MandateRow | None:
        """Revoke a mandate (the first revocation's time stays); the row after it."""

        def work(tx: Tx) -> MandateRow | None:
            tx.run(
                "UPDATE mandates SET revoked_at = ?, updated_at = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                [now, now, mandate_id],
            )
            row = tx.one(_GET_MANDATE, [mandate_id])
            return None if row is None else mandate_row(row)

        return self._transact(work)

    # -- agent payments -----------------------------------------------------------------------

    def find_agent_payment(self, session_id: str, key: str) -> Row | None:
        """The answer recorded for an agent's (session, idempotency key), or ``None``."""
        sql = "SELECT * FROM agent_payments WHERE session_id = ? AND idempotency_key = ?"
        return self._read(lambda tx: tx.one(sql, [session_id, key]))

    def record_agent_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None,
        journals: Sequence[Journal],
        velocity: VelocityCheck | None,
        *,
        mandate_id: str,
        session_id: str,
        idempotency_key: str,
        request_hash: str,
        now: datetime,
    ) -> RecordResult:
        """The authorization and, approved, the budget spent and the session paid: one unit.

        Raises :class:`MandateRefusal` or :class:`CheckoutRefusal` (everything rolled back)
        when the mandate cannot cover it or the session was closed since the checks.
        """

        def unit(tx: Tx) -> RecordResult:
            result = record_authorization_in(
                tx, row, claim, payment, journals, velocity, self.row_lock
            )
            if row.approved:
                locked = tx.one(f"{_GET_SESSION}{self.row_lock}", [session_id])
                if locked is None:
                    raise StoreError(f"checkout session {session_id} vanished")
                refusal = session_row(locked).refusal_at(now)
                if refusal is not None:
                    raise CheckoutRefusal(refusal)
                if tx.run(_SPEND, [row.amount, now, mandate_id, row.amount]) != 1:
                    current = tx.one(_GET_MANDATE, [mandate_id])
                    if current is None:
                        raise StoreError(f"mandate {mandate_id} vanished")
                    raise MandateRefusal(_refusal_of(mandate_row(current), row.amount))
                paid = [SessionState.PAID.value, now, row.id, session_id]
                if tx.run(_PAY_SESSION, paid) != 1:
                    raise StoreError(f"checkout session {session_id} left created under its lock")
            tx.run(
                _INSERT_ANSWER,
                [
                    session_id,
                    idempotency_key,
                    request_hash,
                    mandate_id,
                    row.id,
                    row.response_json,
                    now,
                ],
            )
            return result

        return self._transact(unit)


def _wallet_key(row: Row) -> WalletKeyRow:
    return WalletKeyRow(
        thumbprint=row["thumbprint"],
        token=row["token"],
        jwk=row["jwk"],
        created_at=as_datetime(row["created_at"]),
    )
