"""The payments domain's store in portable SQL, over one :class:`~acquirer.store.tx.Engine`.

:class:`SqlPaymentStore` implements :class:`~acquirer.payments.store.PaymentStore`: the
core's registry (:class:`~acquirer.registry.SqlRegistryStore`), authorizations here, payments
and the ledger in :mod:`~acquirer.payments.sql.operations`, settlement and risk in
:mod:`~acquirer.payments.sql.settlement`. The in-transaction functions
(:func:`~acquirer.payments.sql.authorizations.record_authorization_in`,
:func:`~acquirer.payments.sql.operations.apply_operation_in`) are what the rentals and parcels
stores call inside their own transaction, so a rental change or a parcel operation commits
with its authorization or payment operation as one database transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationContext,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.sql.authorizations import (
    authorization_row,
    find_authorization_in,
    record_authorization_in,
)
from acquirer.payments.sql.operations import PaymentsMixin
from acquirer.payments.sql.settlement import SettlementMixin
from acquirer.registry import SqlRegistryStore, token_row

__all__ = ["SqlPaymentStore"]

# One statement for AuthorizationContext. Parameters: atc, approved (true), approvals since,
# terminal id, token. The LEFT JOINs keep the token's row when the terminal is unregistered.
_AUTHORIZATION_CONTEXT = (
    "SELECT t.*, "
    "EXISTS (SELECT 1 FROM atc_claims c WHERE c.token = t.token AND c.atc = ?) AS ctx_claimed, "
    "(SELECT MAX(c.atc) FROM atc_claims c WHERE c.token = t.token) AS ctx_highest, "
    "m.mcc AS ctx_mcc, m.currency AS ctx_currency, l.max_amount AS ctx_mcc_limit, "
    "EXISTS (SELECT 1 FROM deny_list d WHERE d.par = t.par) AS ctx_denied, "
    "(SELECT COUNT(*) FROM authorizations a "
    "WHERE a.par = t.par AND a.approved = ? AND a.created_at >= ?) AS ctx_recent "
    "FROM tokens t "
    "LEFT JOIN terminals te ON te.id = ? "
    "LEFT JOIN merchants m ON m.id = te.merchant_id "
    "LEFT JOIN mcc_limits l ON l.mcc = m.mcc "
    "WHERE t.token = ?"
)


class SqlPaymentStore(SqlRegistryStore, PaymentsMixin, SettlementMixin):
    """Portable SQL of :class:`~acquirer.payments.store.PaymentStore`."""

    # -- authorizations -------------------------------------------------------------------

    def find_authorization(self, terminal_id: str, idempotency_key: str) -> AuthorizationRow | None:
        """The authorization recorded under (terminal, idempotency key), or ``None``."""
        row = self._read(lambda tx: find_authorization_in(tx, terminal_id, idempotency_key))
        return None if row is None else authorization_row(row)

    def highest_atc(self, token: str) -> int | None:
        """The highest ATC claimed for ``token``."""
        row = self._read(
            lambda tx: tx.one("SELECT MAX(atc) AS high FROM atc_claims WHERE token = ?", [token])
        )
        return None if row is None or row["high"] is None else int(row["high"])

    def atc_claimed(self, token: str, atc: int) -> bool:
        """Whether (token, ATC) is already claimed."""
        sql = "SELECT 1 AS claimed FROM atc_claims WHERE token = ? AND atc = ?"
        return self._read(lambda tx: tx.one(sql, [token, atc])) is not None

    def authorization_context(
        self, token: str, atc: int, terminal_id: str, approvals_since: datetime
    ) -> AuthorizationContext | None:
        """Token, ATC state, terminal MCC and risk inputs in one statement (one round trip)."""
        params = [atc, True, approvals_since, terminal_id, token]
        row = self._read(lambda tx: tx.one(_AUTHORIZATION_CONTEXT, params))
        if row is None:
            return None
        highest, limit = row["ctx_highest"], row["ctx_mcc_limit"]
        return AuthorizationContext(
            token=token_row(row),
            atc_claimed=bool(row["ctx_claimed"]),
            highest_atc=None if highest is None else int(highest),
            mcc=row["ctx_mcc"],
            par_denied=bool(row["ctx_denied"]),
            mcc_limit=None if limit is None else int(limit),
            recent_approvals=int(row["ctx_recent"]),
            merchant_currency=row["ctx_currency"],
        )

    def record_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        """Insert the authorization, claim the ATC, open the payment: one transaction."""
        lock = self.row_lock
        return self._transact(
            lambda tx: record_authorization_in(tx, row, claim, payment, journals, velocity, lock)
        )

    async def record_authorization_async(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        """:meth:`record_authorization` for an event loop: the engine's asynchronous commit.

        On SQLite this queues the write for the next group commit and resumes when that
        commit is durable; elsewhere it runs in a worker thread.
        """
        return await self.engine.transact_async(
            lambda tx: record_authorization_in(
                tx, row, claim, payment, journals, velocity, self.row_lock
            )
        )

    def count_authorizations(self) -> int:
        """Number of recorded authorizations."""
        row = self._read(lambda tx: tx.one("SELECT COUNT(*) AS n FROM authorizations"))
        return 0 if row is None else int(row["n"])
