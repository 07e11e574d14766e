"""The payments domain's storage interface: authorizations, payments, ledger, settlement, risk.

Business code (:mod:`acquirer.payments.service`, :mod:`acquirer.payments.lifecycle`,
:mod:`acquirer.payments.settlement`) talks only to :class:`PaymentStore`; its portable SQL is
:class:`~acquirer.payments.sql.SqlPaymentStore`, over either engine (SQLite, PostgreSQL), both
passing one contract suite (tests/acquirer/payments/test_store_contract.py and the lifecycle,
registry and settlement suites, parametrized over both). It knows no bike or parcel row: the
rentals and parcels stores extend it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationContext,
    AuthorizationRow,
    BatchLine,
    BatchRow,
    BatchScope,
    IncrementContext,
    LedgerTotals,
    OperationRequest,
    OperationResult,
    PaymentRow,
    RecordResult,
    Transition,
    VelocityCheck,
)
from acquirer.registry import RegistryStore


class PaymentStore(RegistryStore, Protocol):
    """Persistence of authorizations, payments, the ledger, settlement and risk.

    Safe to call from several threads at once; every write durable before it returns.
    """

    # -- authorizations ----------------------------------------------------------------

    def find_authorization(self, terminal_id: str, idempotency_key: str) -> AuthorizationRow | None:
        """The authorization a terminal recorded under an idempotency key, or ``None``."""
        ...

    def highest_atc(self, token: str) -> int | None:
        """The highest ATC claimed for ``token`` so far, or ``None``."""
        ...

    def atc_claimed(self, token: str, atc: int) -> bool:
        """Whether (token, ATC) has been claimed by an earlier authorization."""
        ...

    def authorization_context(
        self, token: str, atc: int, terminal_id: str, approvals_since: datetime
    ) -> AuthorizationContext | None:
        """The token with its ATC state, the terminal's MCC and the risk inputs of its PAR
        (approvals counted from ``approvals_since``); ``None`` for an unknown token."""
        ...

    def record_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        """Atomically insert ``row`` and, if given, claim ``claim``; all or nothing.

        An approved authorization brings its ``payment`` and ``journals``, written in the
        same transaction.

        Returns :attr:`RecordStatus.IDEMPOTENCY_KEY_EXISTS` (with the existing row) when
        ``(row.terminal_id, row.idempotency_key)`` is taken, and
        :attr:`RecordStatus.ATC_ALREADY_CLAIMED` when the claim is taken, and
        :attr:`RecordStatus.VELOCITY_EXCEEDED` when ``velocity`` is given for an approval and
        the PAR's approvals, counted again inside the write, reached its limit; nothing is
        written in any of these cases. The write is durable when this returns.
        """
        ...

    async def record_authorization_async(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
        velocity: VelocityCheck | None = None,
    ) -> RecordResult:
        """:meth:`record_authorization` for an event loop: awaits the durable commit."""
        ...

    @property
    def reads_are_local(self) -> bool:
        """Whether reads are local and brief enough to run on an event loop's thread.

        True for an embedded database file (a read is a few microseconds of library code),
        false for a database across the network, whose reads belong in a worker thread.
        """
        ...

    def count_authorizations(self) -> int:
        """Number of recorded authorizations."""
        ...

    # -- payments and the ledger ---------------------------------------------------------

    def list_payments(
        self,
        *,
        terminal_id: str | None = None,
        reference: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[PaymentRow]:
        """Payments in id order after the ``after`` id, of one terminal and/or reference."""
        ...

    def get_payment(self, payment_id: str) -> PaymentRow | None:
        """The payment with that id (an authorization id), or ``None``."""
        ...

    def increment_context(self, payment_id: str) -> IncrementContext | None:
        """The risk inputs an incremental authorization of the payment is checked against."""
        ...

    def apply_operation(
        self, request: OperationRequest, decide: Callable[[PaymentRow], Transition]
    ) -> OperationResult:
        """Run one operation on a payment in one durable transaction.

        If ``(request.terminal_id, request.idempotency_key)`` already names an operation,
        nothing is written and that row is returned (``replayed``). Otherwise the payment
        is locked, ``decide`` computes the transition (raising
        :class:`~acquirer.errors.PaymentStateError` to refuse it, which writes nothing), and
        the new payment state, the journals and the operation are written together.
        :class:`~acquirer.errors.PaymentNotFoundError` if the payment does not exist.
        """
        ...

    def ledger_totals(self) -> LedgerTotals:
        """Journals per kind, and how many journals do not balance (must be 0)."""
        ...

    def account_balances(self) -> dict[str, int]:
        """The balance (sum of postings) of every account, per ``account currency``."""
        ...

    # -- settlement ------------------------------------------------------------------------

    def close_batch(
        self, batch_id: str, scope: BatchScope, scope_id: str, idempotency_key: str, at: datetime
    ) -> tuple[BatchRow, bool]:
        """Close a batch of every unsettled money journal of the terminal or merchant.

        Returns the batch and whether it was just closed (``False``: the idempotency key had
        already closed it, and that batch is returned).
        """
        ...

    def get_batch(self, batch_id: str) -> BatchRow | None:
        """A closed batch, or ``None``."""
        ...

    def list_batches(self) -> Sequence[BatchRow]:
        """All batches, oldest first."""
        ...

    def batch_lines(self, batch_id: str) -> Sequence[BatchLine]:
        """The journals of a batch, in order."""
        ...

    # -- risk ---------------------------------------------------------------------------------

    def deny_par(self, par: str, reason: str, at: datetime) -> None:
        """Put an account (PAR) on the deny list (e.g. an unpaid rental)."""
        ...

    def allow_par(self, par: str) -> bool:
        """Take a PAR off the deny list; whether it was on it."""
        ...

    def par_denied(self, par: str) -> bool:
        """Whether the PAR is on the deny list."""
        ...

    def set_mcc_limit(self, mcc: str, max_amount: int | None) -> None:
        """The largest amount approved at merchants of ``mcc`` (None: no limit)."""
        ...

    def mcc_limit(self, mcc: str) -> int | None:
        """The amount limit of a merchant category, or ``None``."""
        ...

    def approvals_since(self, par: str, since: datetime) -> int:
        """How many authorizations of this PAR were approved at or after ``since``."""
        ...
