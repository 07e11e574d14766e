"""Payments, operations on them and the ledger in SQL (part of :class:`~acquirer.payments.sql.SqlPaymentStore`).

Operations lock the payment row first (``lock_payment_sql``: PostgreSQL adds ``FOR UPDATE``;
SQLite's ``BEGIN IMMEDIATE`` already serializes writers), then claim the idempotency key with
an insert that a unique index decides, so two processes never apply one operation twice.
Journals are numbered within their operation (``<operation id>/<n>``), so they are written
at most once as well.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from acquirer.errors import PaymentNotFoundError, StoreError
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    IncrementContext,
    Intent,
    LedgerTotals,
    OperationKind,
    OperationRequest,
    OperationResult,
    OperationRow,
    PaymentRow,
    PaymentStatus,
    Transition,
)
from acquirer.registry import TokenStatus
from acquirer.store.tx import Abort, Row, SqlPart, Tx, as_datetime

_INSERT_PAYMENT = (
    "INSERT INTO payments (id, terminal_id, intent, currency, par, token_masked, authorized, "
    "captured, refunded, status, created_at, updated_at, reference) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_PAYMENT = (
    "UPDATE payments SET authorized = ?, captured = ?, refunded = ?, status = ?, updated_at = ? "
    "WHERE id = ?"
)
# The risk inputs of an increment: the token the payment was authorized with (its ATC claim
# names the authorization, whose id is the payment's), the deny list, the category limit.
_INCREMENT_CONTEXT = (
    "SELECT t.status AS ctx_status, l.max_amount AS ctx_mcc_limit, "
    "EXISTS (SELECT 1 FROM deny_list d WHERE d.par = p.par) AS ctx_denied "
    "FROM payments p "
    "LEFT JOIN atc_claims c ON c.authorization_id = p.id "
    "LEFT JOIN tokens t ON t.token = c.token "
    "LEFT JOIN terminals te ON te.id = p.terminal_id "
    "LEFT JOIN merchants m ON m.id = te.merchant_id "
    "LEFT JOIN mcc_limits l ON l.mcc = m.mcc "
    "WHERE p.id = ?"
)
_INSERT_OPERATION = (
    "INSERT INTO operations (id, terminal_id, idempotency_key, kind, payment_id, request_hash, "
    "response_json, created_at) VALUES (?, ?, ?, ?, ?, ?, '', ?) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)


class PaymentsMixin(SqlPart):
    """The payments and ledger part of the store."""

    @property
    def lock_payment_sql(self) -> str:
        """Reads a payment about to change, with the engine's row lock if it needs one.

        SQLite's ``BEGIN IMMEDIATE`` already serializes writers; PostgreSQL adds FOR UPDATE.
        """
        return "SELECT * FROM payments WHERE id = ?" + self.row_lock  # noqa: S608 (constant)

    def list_payments(
        self,
        *,
        terminal_id: str | None = None,
        reference: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[PaymentRow]:
        """Payments in id order, after the cursor id, of one terminal and/or reference."""
        where, params = ["1 = 1"], []
        for column, value in (("terminal_id", terminal_id), ("reference", reference)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after is not None:
            where.append("id > ?")
            params.append(after)
        sql = f"SELECT * FROM payments WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"  # noqa: S608 (fixed columns)
        rows = self._read(lambda tx: tx.all(sql, [*params, limit]))
        return [payment_row(row) for row in rows]

    def get_payment(self, payment_id: str) -> PaymentRow | None:
        """The payment with that id, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM payments WHERE id = ?", [payment_id]))
        return None if row is None else payment_row(row)

    def increment_context(self, payment_id: str) -> IncrementContext | None:
        """Token status, deny list and category limit of the payment, in one statement."""
        row = self._read(lambda tx: tx.one(_INCREMENT_CONTEXT, [payment_id]))
        if row is None:
            return None
        status, limit = row["ctx_status"], row["ctx_mcc_limit"]
        return IncrementContext(
            token_status=None if status is None else TokenStatus(status),
            par_denied=bool(row["ctx_denied"]),
            mcc_limit=None if limit is None else int(limit),
        )

    def apply_operation(
        self, request: OperationRequest, decide: Callable[[PaymentRow], Transition]
    ) -> OperationResult:
        """Record the operation, lock the payment, apply ``decide``'s transition, post."""
        return self._transact(
            lambda tx: apply_operation_in(tx, self.lock_payment_sql, request, decide)
        )

    def ledger_totals(self) -> LedgerTotals:
        """Journals per kind, and how many journals do not balance.

        Both ledgers count: payments' journals, and debts' (:mod:`acquirer.rentals.sql`).
        """

        def work(tx: Tx) -> LedgerTotals:
            kinds = tx.all(
                "SELECT kind, COUNT(*) AS n FROM "
                "(SELECT kind FROM journals UNION ALL SELECT kind FROM debt_journals) AS j "
                "GROUP BY kind"
            )
            unbalanced = tx.one(
                "SELECT COUNT(*) AS n FROM (SELECT journal_id FROM "
                "(SELECT journal_id, amount FROM postings "
                "UNION ALL SELECT journal_id, amount FROM debt_postings) AS p "
                "GROUP BY journal_id HAVING SUM(amount) <> 0) AS off"
            )
            return LedgerTotals(
                {row["kind"]: int(row["n"]) for row in kinds},
                0 if unbalanced is None else int(unbalanced["n"]),
            )

        return self._read(work)

    def account_balances(self) -> dict[str, int]:
        """The balance of every account, keyed ``"account currency"``."""
        rows = self._read(
            lambda tx: tx.all(
                "SELECT account, currency, SUM(amount) AS balance FROM ("
                "SELECT p.account AS account, j.currency AS currency, p.amount AS amount "
                "FROM postings p JOIN journals j ON j.id = p.journal_id UNION ALL "
                "SELECT p.account, j.currency, p.amount "
                "FROM debt_postings p JOIN debt_journals j ON j.id = p.journal_id) AS l "
                "GROUP BY account, currency ORDER BY account, currency"
            )
        )
        return {f"{row['account']} {row['currency']}": int(row["balance"]) for row in rows}


def apply_operation_in(
    tx: Tx,
    lock_payment_sql: str,
    request: OperationRequest,
    decide: Callable[[PaymentRow], Transition],
) -> OperationResult:
    """The body of :meth:`PaymentsMixin.apply_operation`, for use inside a transaction.

    Other store modules run it inside their own transaction (a rental's completion captures
    its hold in the same transaction as the rental's state change), so an operation on a
    payment has one implementation.
    """
    # The payment's row lock comes first: a concurrent operation on the payment waits
    # here, and then finds the state (and any operation under its key) committed.
    locked = tx.one(lock_payment_sql, [request.payment_id])
    if locked is None or locked["terminal_id"] != request.terminal_id:
        raise PaymentNotFoundError("no such payment for this terminal")
    # Then the operation's key: taken means a retry, answered with the stored result.
    inserted = tx.run(
        _INSERT_OPERATION,
        [
            request.id,
            request.terminal_id,
            request.idempotency_key,
            request.kind.value,
            request.payment_id,
            request.request_hash,
            request.created_at,
        ],
    )
    if inserted != 1:
        existing = tx.one(
            "SELECT * FROM operations WHERE terminal_id = ? AND idempotency_key = ?",
            [request.terminal_id, request.idempotency_key],
        )
        if existing is None:
            raise StoreError("the operation under this key could not be read back")
        raise Abort(OperationResult(operation_row(existing), replayed=True))
    settled = tx.one(
        "SELECT 1 AS settled FROM journals WHERE payment_id = ? AND batch_id IS NOT NULL",
        [request.payment_id],
    )
    transition = decide(dataclasses.replace(payment_row(locked), settled=settled is not None))
    new = transition.payment
    tx.run(
        _UPDATE_PAYMENT,
        [
            new.authorized,
            new.captured,
            new.refunded,
            new.status.value,
            new.updated_at,
            new.id,
        ],
    )
    insert_journals(tx, new.id, request.id, transition.journals, request.created_at)
    tx.run(
        "UPDATE operations SET response_json = ? WHERE id = ?",
        [transition.response_json, request.id],
    )
    row = OperationRow(
        id=request.id,
        terminal_id=request.terminal_id,
        idempotency_key=request.idempotency_key,
        kind=request.kind,
        payment_id=request.payment_id,
        request_hash=request.request_hash,
        response_json=transition.response_json,
        created_at=request.created_at,
    )
    return OperationResult(row, replayed=False)


def insert_payment(tx: Tx, payment: PaymentRow) -> None:
    tx.run(
        _INSERT_PAYMENT,
        [
            payment.id,
            payment.terminal_id,
            payment.intent.value,
            payment.currency,
            payment.par,
            payment.token_masked,
            payment.authorized,
            payment.captured,
            payment.refunded,
            payment.status.value,
            payment.created_at,
            payment.updated_at,
            payment.reference,
        ],
    )


def insert_journals(
    tx: Tx, payment_id: str, operation_id: str, journals: Sequence[Journal], at: datetime
) -> None:
    """Write journals numbered within their operation; ids are unique, so never twice."""
    for seq, journal in enumerate(journals):
        journal_id = f"{operation_id}/{seq}"
        tx.run(
            "INSERT INTO journals (id, payment_id, operation_id, kind, currency, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [journal_id, payment_id, operation_id, journal.kind.value, journal.currency, at],
        )
        if not journal.postings:
            continue
        # One statement for all of a journal's postings (a multi-row VALUES list).
        params: list[object] = []
        for line, posting in enumerate(journal.postings):
            params += (journal_id, line, posting.account, posting.amount)
        values = ", ".join(["(?, ?, ?, ?)"] * len(journal.postings))
        tx.run(f"INSERT INTO postings (journal_id, line, account, amount) VALUES {values}", params)  # noqa: S608 (placeholders only)


def payment_row(row: Row) -> PaymentRow:
    """A :class:`PaymentRow` from a ``payments`` row of either backend."""
    return PaymentRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        intent=Intent(row["intent"]),
        currency=row["currency"],
        par=row["par"],
        token_masked=row["token_masked"],
        authorized=int(row["authorized"]),
        captured=int(row["captured"]),
        refunded=int(row["refunded"]),
        status=PaymentStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
        reference=row["reference"],
    )


def operation_row(row: Row) -> OperationRow:
    """An :class:`OperationRow` from an ``operations`` row of either backend."""
    return OperationRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        idempotency_key=row["idempotency_key"],
        kind=OperationKind(row["kind"]),
        payment_id=row["payment_id"],
        request_hash=row["request_hash"],
        response_json=row["response_json"],
        created_at=as_datetime(row["created_at"]),
    )
