"""Settlement batches and risk controls in SQL (part of :class:`~acquirer.payments.sql.SqlPaymentStore`).

Closing a batch stamps every unsettled money journal (sale, capture, cancel, refund) of the
terminal, or of every terminal of the merchant, with the batch id, computes the totals from
those journals' postings, and records the batch, all in one transaction: a journal is in at
most one batch, and a batch holds exactly what its totals say. The database refuses any later
change: triggers abort an ``UPDATE`` or ``DELETE`` of a batch and an ``UPDATE`` of a settled
journal, whoever issues it.

Settlement and the operations on a payment (void, capture, refund, reversal) are exclusive
per payment. An operation holds the payment's row lock while it checks "already settled" and
writes its journal (:func:`~acquirer.payments.sql.operations.apply_operation_in`); closing a
batch stamps the journals, then takes the row locks of the payments it stamped (in id order,
so two closes never deadlock), then stamps again what those payments' operations committed
while it waited. So a void either commits before the close locks its payment (and its cancel
is in the same batch as its sale) or waits for the close to commit and finds the sale settled;
a sale never settles in one batch with its cancel in the next. SQLite's ``BEGIN IMMEDIATE``
serializes the two anyway; PostgreSQL needs the locks (``FOR UPDATE``), no advisory lock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from acquirer.payments.ledger import FEE_REVENUE, ISSUER_RECEIVABLE, JournalKind
from acquirer.payments.rows import BatchLine, BatchRow, BatchScope, BatchTotal
from acquirer.store.tx import Abort, Row, SqlPart, Tx, as_datetime

#: Journal kinds that move money between the schemes, the merchant and the acquirer.
SETTLED_KINDS = (JournalKind.SALE, JournalKind.CAPTURE, JournalKind.CANCEL, JournalKind.REFUND)

_STAMP_TERMINAL = (
    "UPDATE journals SET batch_id = ? WHERE batch_id IS NULL AND kind IN (?, ?, ?, ?) "
    "AND payment_id IN (SELECT id FROM payments WHERE terminal_id = ?)"
)
_STAMP_MERCHANT = (
    "UPDATE journals SET batch_id = ? WHERE batch_id IS NULL AND kind IN (?, ?, ?, ?) "
    "AND payment_id IN (SELECT p.id FROM payments p JOIN terminals t ON t.id = p.terminal_id "
    "WHERE t.merchant_id = ?)"
)
#: The payments of the batch's journals, locked (PostgreSQL's FOR UPDATE is appended).
_LOCK_STAMPED = (
    "SELECT id FROM payments WHERE id IN (SELECT payment_id FROM journals WHERE batch_id = ?) "
    "ORDER BY id"
)
#: What operations on those payments committed while the close waited for their locks.
_STAMP_LOCKED = (
    "UPDATE journals SET batch_id = ? WHERE batch_id IS NULL AND kind IN (?, ?, ?, ?) "
    "AND payment_id IN (SELECT payment_id FROM journals WHERE batch_id = ?)"
)
#: Gross (the issuer receivable's change) and fees (fee revenue, as a positive amount).
_TOTALS = (
    "SELECT j.kind AS kind, j.currency AS currency, COUNT(DISTINCT j.id) AS n, "
    "SUM(CASE WHEN p.account = ? THEN p.amount ELSE 0 END) AS gross, "
    "SUM(CASE WHEN p.account = ? THEN -p.amount ELSE 0 END) AS fees "
    "FROM journals j JOIN postings p ON p.journal_id = j.id WHERE j.batch_id = ? "
    "GROUP BY j.kind, j.currency ORDER BY j.kind, j.currency"
)
_LINES = (
    "SELECT j.id AS journal_id, j.payment_id AS payment_id, pay.terminal_id AS terminal_id, "
    "j.kind AS kind, j.currency AS currency, j.created_at AS created_at, "
    "SUM(CASE WHEN p.account = ? THEN p.amount ELSE 0 END) AS gross, "
    "SUM(CASE WHEN p.account = ? THEN -p.amount ELSE 0 END) AS fees "
    "FROM journals j JOIN postings p ON p.journal_id = j.id "
    "JOIN payments pay ON pay.id = j.payment_id WHERE j.batch_id = ? "
    "GROUP BY j.id, j.payment_id, pay.terminal_id, j.kind, j.currency, j.created_at "
    "ORDER BY j.created_at, j.id"
)


class SettlementMixin(SqlPart):
    """The settlement and risk part of the store."""

    # -- settlement ------------------------------------------------------------------------

    def close_batch(
        self, batch_id: str, scope: BatchScope, scope_id: str, idempotency_key: str, at: datetime
    ) -> tuple[BatchRow, bool]:
        """Close a batch of the scope's unsettled money journals; replay a used key."""

        def work(tx: Tx) -> tuple[BatchRow, bool]:
            existing = tx.one(
                "SELECT * FROM batches WHERE scope = ? AND scope_id = ? AND idempotency_key = ?",
                [scope.value, scope_id, idempotency_key],
            )
            if existing is not None:
                return batch_row(existing), False
            stamp = _STAMP_TERMINAL if scope is BatchScope.TERMINAL else _STAMP_MERCHANT
            kinds = [k.value for k in SETTLED_KINDS]
            if tx.run(stamp, [batch_id, *kinds, scope_id]) and self.row_lock:
                tx.all(_LOCK_STAMPED + self.row_lock, [batch_id])
                tx.run(_STAMP_LOCKED, [batch_id, *kinds, batch_id])
            rows = tx.all(_TOTALS, [ISSUER_RECEIVABLE, FEE_REVENUE, batch_id])
            totals = tuple(
                BatchTotal(r["kind"], r["currency"], int(r["n"]), int(r["gross"]), int(r["fees"]))
                for r in rows
            )
            inserted = tx.run(
                "INSERT INTO batches (id, scope, scope_id, idempotency_key, closed_at, totals_json) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (scope, scope_id, idempotency_key) DO NOTHING",
                [batch_id, scope.value, scope_id, idempotency_key, at, _totals_json(totals)],
            )
            if inserted != 1:  # a concurrent close with the same key won: undo ours, replay
                winner = tx.one(
                    "SELECT * FROM batches WHERE scope = ? AND scope_id = ? AND idempotency_key = ?",
                    [scope.value, scope_id, idempotency_key],
                )
                raise Abort((batch_row(winner), False) if winner else None)
            return BatchRow(batch_id, scope, scope_id, idempotency_key, at, totals), True

        return self._transact(work)

    def get_batch(self, batch_id: str) -> BatchRow | None:
        """A closed batch, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM batches WHERE id = ?", [batch_id]))
        return None if row is None else batch_row(row)

    def list_batches(self) -> Sequence[BatchRow]:
        """All batches, oldest first."""
        rows = self._read(lambda tx: tx.all("SELECT * FROM batches ORDER BY closed_at, id"))
        return [batch_row(row) for row in rows]

    def batch_lines(self, batch_id: str) -> Sequence[BatchLine]:
        """The journals of a batch, oldest first."""
        params = [ISSUER_RECEIVABLE, FEE_REVENUE, batch_id]
        rows = self._read(lambda tx: tx.all(_LINES, params))
        return [
            BatchLine(
                r["journal_id"],
                r["payment_id"],
                r["terminal_id"],
                r["kind"],
                r["currency"],
                int(r["gross"]),
                int(r["fees"]),
                as_datetime(r["created_at"]),
            )
            for r in rows
        ]

    # -- risk ---------------------------------------------------------------------------------

    def deny_par(self, par: str, reason: str, at: datetime) -> None:
        """Put a PAR on the deny list (keeps the first reason if it is already there)."""
        sql = "INSERT INTO deny_list (par, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (par) DO NOTHING"
        self._transact(lambda tx: tx.run(sql, [par, reason, at]))

    def allow_par(self, par: str) -> bool:
        """Take a PAR off the deny list."""
        return self._transact(lambda tx: tx.run("DELETE FROM deny_list WHERE par = ?", [par])) == 1

    def par_denied(self, par: str) -> bool:
        """Whether the PAR is on the deny list."""
        sql = "SELECT 1 AS denied FROM deny_list WHERE par = ?"
        return self._read(lambda tx: tx.one(sql, [par])) is not None

    def set_mcc_limit(self, mcc: str, max_amount: int | None) -> None:
        """Set or lift the amount limit of a merchant category."""

        def work(tx: Tx) -> None:
            tx.run("DELETE FROM mcc_limits WHERE mcc = ?", [mcc])
            if max_amount is not None:
                tx.run("INSERT INTO mcc_limits (mcc, max_amount) VALUES (?, ?)", [mcc, max_amount])

        self._transact(work)

    def mcc_limit(self, mcc: str) -> int | None:
        """The amount limit of a merchant category, or ``None``."""
        row = self._read(
            lambda tx: tx.one("SELECT max_amount FROM mcc_limits WHERE mcc = ?", [mcc])
        )
        return None if row is None else int(row["max_amount"])

    def approvals_since(self, par: str, since: datetime) -> int:
        """Approved authorizations of a PAR at or after ``since``."""
        sql = (
            "SELECT COUNT(*) AS n FROM authorizations "
            "WHERE par = ? AND created_at >= ? AND approved = ?"
        )
        row = self._read(lambda tx: tx.one(sql, [par, since, True]))
        return 0 if row is None else int(row["n"])


def _totals_json(totals: Sequence[BatchTotal]) -> str:
    return json.dumps(
        [
            {
                "kind": t.kind,
                "currency": t.currency,
                "count": t.count,
                "gross": t.gross,
                "fees": t.fees,
            }
            for t in totals
        ],
        separators=(",", ":"),
    )


def batch_row(row: Row) -> BatchRow:
    """A :class:`BatchRow` from a ``batches`` row of either backend."""
    totals = tuple(
        BatchTotal(t["kind"], t["currency"], int(t["count"]), int(t["gross"]), int(t["fees"]))
        for t in json.loads(row["totals_json"])
    )
    return BatchRow(
        id=row["id"],
        scope=BatchScope(row["scope"]),
        scope_id=row["scope_id"],
        idempotency_key=row["idempotency_key"],
        closed_at=as_datetime(row["closed_at"]),
        totals=totals,
    )
