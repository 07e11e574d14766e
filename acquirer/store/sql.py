"""The store logic both SQL backends share, written once over two primitives.

:class:`SqlStore` implements :class:`~acquirer.store.base.Store` in portable SQL (the subset
SQLite 3.24+ and PostgreSQL 9.5+ both speak, ``INSERT ... ON CONFLICT DO NOTHING`` included).
It is assembled from one module per concern (tokens and authorizations here, the registry in
:mod:`~acquirer.store.sql_registry`, payments and the ledger in
:mod:`~acquirer.payments.sql.operations`). A backend supplies only the primitives of
:class:`~acquirer.store.tx.SqlPrimitives`, as python-can's ``BusABC`` subclasses override
only ``send`` and ``_recv_internal``:

- :meth:`SqlStore._read` runs a function over a :class:`Tx` outside any write transaction;
- :meth:`SqlStore._transact` runs a function in one write transaction, commits it durably
  when the function returns, and rolls it back when it raises.

Statements are written with ``?`` placeholders; a backend's :class:`Tx` translates them to
its driver's style and maps the driver's errors to :class:`~acquirer.errors.StoreError`.

Uniqueness is enforced by constraints, not by a read-then-write in Python: an insert that
loses a race does nothing (``ON CONFLICT DO NOTHING``), and the logic then rolls the whole
transaction back through :class:`Abort`, so a second process can never post the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import anyio.to_thread

from acquirer.errors import TokenNotFoundError
from acquirer.parcels.sql import ParcelsMixin
from acquirer.payments.ledger import Journal
from acquirer.payments.sql.authorizations import (
    authorization_row,
    find_authorization_in,
    record_authorization_in,
)
from acquirer.payments.sql.operations import PaymentsMixin
from acquirer.payments.sql.settlement import SettlementMixin
from acquirer.rentals.sql import RentalsMixin
from acquirer.store.base import (
    AtcClaim,
    AuthorizationContext,
    AuthorizationRow,
    PaymentRow,
    RecordResult,
    TokenRow,
    TokenStatus,
)
from acquirer.store.sql_registry import RegistryMixin
from acquirer.store.tx import (
    Abort,
    Row,
    SqlPrimitives,
    Tx,
    as_datetime,
    join_codes,
    split_codes,
)

__all__ = ["Abort", "Row", "SqlPrimitives", "SqlStore", "Tx", "authorization_row", "token_row"]


_INSERT_VAULT_ROW = (
    "INSERT INTO tokens (token, pan_enc, pan_fingerprint, pan_masked, par, expiry, psn, scheme, "
    "status, created_at, allowed_mccs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (token) DO NOTHING"
)
# One statement for AuthorizationContext. Parameters: atc, approved (true), approvals since,
# terminal id, token. The LEFT JOINs keep the token's row when the terminal is unregistered.
_AUTHORIZATION_CONTEXT = (
    "SELECT t.*, "
    "EXISTS (SELECT 1 FROM atc_claims c WHERE c.token = t.token AND c.atc = ?) AS ctx_claimed, "
    "(SELECT MAX(c.atc) FROM atc_claims c WHERE c.token = t.token) AS ctx_highest, "
    "m.mcc AS ctx_mcc, l.max_amount AS ctx_mcc_limit, "
    "EXISTS (SELECT 1 FROM deny_list d WHERE d.par = t.par) AS ctx_denied, "
    "(SELECT COUNT(*) FROM authorizations a "
    "WHERE a.par = t.par AND a.approved = ? AND a.created_at >= ?) AS ctx_recent "
    "FROM tokens t "
    "LEFT JOIN terminals te ON te.id = ? "
    "LEFT JOIN merchants m ON m.id = te.merchant_id "
    "LEFT JOIN mcc_limits l ON l.mcc = m.mcc "
    "WHERE t.token = ?"
)


class SqlStore(RegistryMixin, PaymentsMixin, SettlementMixin, RentalsMixin, ParcelsMixin):
    """Portable SQL implementation of the :class:`~acquirer.store.base.Store` protocol."""

    # -- tokens ---------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRow | None:
        """The vault row of ``token``, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM tokens WHERE token = ?", [token]))
        return None if row is None else token_row(row)

    def put_token(self, row: TokenRow) -> bool:
        """Insert a token; ``False`` if the number is taken."""
        params = [
            row.token,
            row.pan_enc,
            row.pan_fingerprint,
            row.pan_masked,
            row.par,
            row.expiry,
            row.psn,
            row.scheme,
            row.status.value,
            row.created_at,
            join_codes(row.allowed_mccs),
        ]
        return self._transact(lambda tx: tx.run(_INSERT_VAULT_ROW, params)) == 1

    def set_token_status(self, token: str, status: TokenStatus) -> None:
        """Change a token's status; :class:`TokenNotFoundError` if absent."""

        def work(tx: Tx) -> None:
            if tx.run("UPDATE tokens SET status = ? WHERE token = ?", [status.value, token]) != 1:
                raise TokenNotFoundError("no such token in the vault")

        self._transact(work)

    def list_tokens(self) -> Sequence[TokenRow]:
        """All tokens, oldest first."""
        rows = self._read(lambda tx: tx.all("SELECT * FROM tokens ORDER BY created_at, token"))
        return [token_row(row) for row in rows]

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
        )

    def record_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
    ) -> RecordResult:
        """Insert the authorization, claim the ATC, open the payment: one transaction."""
        return self._transact(lambda tx: record_authorization_in(tx, row, claim, payment, journals))

    async def record_authorization_async(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
    ) -> RecordResult:
        """:meth:`record_authorization` in a worker thread; a backend may do better."""
        return await anyio.to_thread.run_sync(
            self.record_authorization, row, claim, payment, journals
        )

    @property
    def reads_are_local(self) -> bool:
        """A network database unless a backend says otherwise."""
        return False

    def count_authorizations(self) -> int:
        """Number of recorded authorizations."""
        row = self._read(lambda tx: tx.one("SELECT COUNT(*) AS n FROM authorizations"))
        return 0 if row is None else int(row["n"])


def token_row(row: Row) -> TokenRow:
    """A :class:`TokenRow` from a ``tokens`` row of either backend."""
    return TokenRow(
        token=row["token"],
        pan_enc=bytes(row["pan_enc"]),
        pan_fingerprint=bytes(row["pan_fingerprint"]),
        pan_masked=row["pan_masked"],
        par=row["par"],
        expiry=row["expiry"],
        psn=row["psn"],
        scheme=row["scheme"],
        status=TokenStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
        allowed_mccs=split_codes(row.get("allowed_mccs")),
    )
