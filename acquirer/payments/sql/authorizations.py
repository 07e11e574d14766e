"""Writing and reading authorizations inside a transaction, for every store mixin that needs it.

:meth:`~acquirer.payments.sql.SqlPaymentStore.record_authorization` is :func:`record_authorization_in`
in a transaction of its own; a parcel payment runs the same function inside the parcel's
transaction (:mod:`acquirer.parcels.sql`), so both write an authorization one way.
"""

from __future__ import annotations

from collections.abc import Sequence

from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    RecordStatus,
    VelocityCheck,
)
from acquirer.payments.sql.operations import insert_journals, insert_payment
from acquirer.store.tx import Abort, Row, Tx, as_datetime

#: The token rows of one account (PAR), in order; the engine's row lock is appended.
_LOCK_ACCOUNT = "SELECT token FROM tokens WHERE par = ? ORDER BY token"
_INSERT_AUTHORIZATION = (
    "INSERT INTO authorizations (id, terminal_id, idempotency_key, request_hash, amount, "
    "currency, token_masked, par, atc, approved, reason, response_code, response_json, "
    "created_at, reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)


def record_authorization_in(
    tx: Tx,
    row: AuthorizationRow,
    claim: AtcClaim | None,
    payment: PaymentRow | None,
    journals: Sequence[Journal],
    velocity: VelocityCheck | None = None,
    row_lock: str = "",
) -> RecordResult:
    """Insert the authorization, claim the ATC, open the payment, inside ``tx``.

    Raises :class:`~acquirer.store.tx.Abort` (so the caller's transaction rolls back)
    when the idempotency key or the ATC claim is taken, or when ``velocity`` is given and
    the PAR's approvals reached its limit (:func:`check_velocity`).
    """
    if velocity is not None and row.approved:
        check_velocity(tx, velocity, row_lock)
    result = insert_authorization(tx, row, claim)
    if payment is not None:
        insert_payment(tx, payment)
        insert_journals(tx, payment.id, row.id, journals, row.created_at)
    return result


def check_velocity(tx: Tx, velocity: VelocityCheck, row_lock: str) -> None:
    """Count the PAR's approvals again, atomically with the approval about to be written.

    The account's token rows are locked first (``row_lock``: PostgreSQL's ``FOR UPDATE``,
    in token order; SQLite's ``BEGIN IMMEDIATE`` and group commit already serialize writers,
    and the count sees the earlier units of the same commit), so concurrent approvals of one
    account, in any process, count one after the other. Portable: row locks, no advisory lock.
    """
    if row_lock:
        tx.all(_LOCK_ACCOUNT + row_lock, [velocity.par])
    counted = tx.one(
        "SELECT COUNT(*) AS n FROM authorizations WHERE par = ? AND approved = ? "
        "AND created_at >= ?",
        [velocity.par, True, velocity.since],
    )
    if counted is not None and int(counted["n"]) >= velocity.limit:
        raise Abort(RecordResult(RecordStatus.VELOCITY_EXCEEDED))


def find_authorization_in(tx: Tx, terminal_id: str, idempotency_key: str) -> Row | None:
    return tx.one(
        "SELECT * FROM authorizations WHERE terminal_id = ? AND idempotency_key = ?",
        [terminal_id, idempotency_key],
    )


def insert_authorization(tx: Tx, row: AuthorizationRow, claim: AtcClaim | None) -> RecordResult:
    """The body of :meth:`~acquirer.payments.sql.SqlPaymentStore.record_authorization`, for use inside a transaction.

    The unique index on (terminal_id, idempotency_key) and the primary key of
    ``atc_claims`` decide races: the loser's insert changes no row, and it aborts.
    """
    inserted = tx.run(
        _INSERT_AUTHORIZATION,
        [
            row.id,
            row.terminal_id,
            row.idempotency_key,
            row.request_hash,
            row.amount,
            row.currency,
            row.token_masked,
            row.par,
            row.atc,
            row.approved,
            row.reason,
            row.response_code,
            row.response_json,
            row.created_at,
            row.reference,
        ],
    )
    if inserted != 1:
        existing = find_authorization_in(tx, row.terminal_id, row.idempotency_key)
        existing_row = None if existing is None else authorization_row(existing)
        raise Abort(RecordResult(RecordStatus.IDEMPOTENCY_KEY_EXISTS, existing_row))
    if claim is not None:
        claimed = tx.run(
            "INSERT INTO atc_claims (token, atc, authorization_id) VALUES (?, ?, ?) "
            "ON CONFLICT (token, atc) DO NOTHING",
            [claim.token, claim.atc, row.id],
        )
        if claimed != 1:
            raise Abort(RecordResult(RecordStatus.ATC_ALREADY_CLAIMED))
    return RecordResult(RecordStatus.RECORDED)


def authorization_row(row: Row) -> AuthorizationRow:
    """An :class:`AuthorizationRow` from an ``authorizations`` row of either backend."""
    return AuthorizationRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        idempotency_key=row["idempotency_key"],
        request_hash=row["request_hash"],
        amount=int(row["amount"]),
        currency=row["currency"],
        token_masked=row["token_masked"],
        par=row["par"],
        atc=None if row["atc"] is None else int(row["atc"]),
        approved=bool(row["approved"]),
        reason=row["reason"],
        response_code=row["response_code"],
        response_json=row["response_json"],
        created_at=as_datetime(row["created_at"]),
        reference=row["reference"],
    )
