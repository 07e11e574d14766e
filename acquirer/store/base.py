"""The storage interface of the acquirer, and the rows that cross it.

Business code (:mod:`acquirer.vault`, :mod:`acquirer.payments.service`, :mod:`acquirer.payments.lifecycle`,
:mod:`acquirer.payments.settlement`) talks only to :class:`Store`; SQLite (:mod:`acquirer.store.sqlite`)
is the embedded implementation and PostgreSQL (:mod:`acquirer.store.postgres`) the one for
several acquirer processes, both passing one contract suite (tests/acquirer/test_store_contract.py
and the lifecycle, registry and settlement suites, parametrized over both).

The uniqueness rules that carry the safety of the money are enforced by the database, not by
a read-then-write in Python, so they hold with many threads or many processes. For
authorization:

- ``UNIQUE(terminal_id, idempotency_key)``: one authorization per idempotency key
  (draft-ietf-httpapi-idempotency-key-header section 2: the key identifies the request;
  keys are scoped to the terminal that chose them).
- ``UNIQUE(token, atc)``: a card's Application Transaction Counter value is accepted at most
  once, so a captured ARQC cannot be replayed (EMV Book 2 section 8.1: the ATC is part of
  the cryptogram input, and the issuer keeps track of the ATCs it has seen). It lives in
  its own ``atc_claims`` table rather than on the authorization row, because declines that
  claim nothing (a replay, a failed cryptogram) are recorded with the same (token, ATC).

:meth:`Store.record_authorization` writes the authorization and claims the ATC in one
transaction and reports which rule, if any, stopped it; an approval's payment and journal go
in the same transaction. Operations on payments carry their own
``UNIQUE(terminal_id, idempotency_key)`` and lock the payment row
(:meth:`Store.apply_operation`); journals have ids derived from their operation, so none is
written twice.

Rows never hold a clear funding PAN: the vault hands the store ciphertext and a keyed
fingerprint only.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from acquirer.payments.ledger import Journal
from acquirer.rentals.tariff import Tariff

if TYPE_CHECKING:
    from acquirer.parcels.rows import (
        AuditEventRow,
        CompartmentRow,
        CompartmentSize,
        ParcelOperationRequest,
        ParcelOperationResult,
        ParcelOperationRow,
        ParcelRow,
        ParcelState,
        ParcelTx,
        StorageFeeRow,
    )
    from acquirer.rentals.rows import (
        BikeRequest,
        BikeRequestRow,
        DebtRow,
        DebtStatus,
        DeniedRow,
        RentalChange,
        RentalResult,
        RentalRow,
        RentalState,
    )


class TokenStatus(enum.StrEnum):
    """Lifecycle state of a token in the vault."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One token (DPAN) and its funding account, as the vault stores it.

    ``pan_enc`` is ``nonce (12) || AES-GCM ciphertext || tag (16)`` with the token as
    associated data; ``pan_fingerprint`` an HMAC of the funding PAN under a vault-derived key;
    ``pan_masked`` the funding PAN's first 6 and last 4 digits only.
    """

    token: str
    pan_enc: bytes = field(repr=False)
    pan_fingerprint: bytes = field(repr=False)
    pan_masked: str
    par: str
    expiry: str
    psn: str
    scheme: str
    status: TokenStatus
    created_at: datetime
    allowed_mccs: tuple[str, ...] | None = None
    """Token domain restriction: the merchant category codes it may pay at (None: any)."""


class TerminalStatus(enum.StrEnum):
    """Whether a terminal may connect."""

    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class MerchantRow:
    """A merchant: who is paid, under which merchant category code (ISO 18245)."""

    id: str
    name: str
    mcc: str
    currency: str
    settlement_account: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TerminalRow:
    """A terminal of a merchant, the actions it may take, and its current certificate.

    ``cert_serial`` is the serial number (hex) of the one client certificate that
    authenticates it; issuing a new certificate replaces it, so an older one is refused.
    """

    id: str
    merchant_id: str
    actions: tuple[str, ...]
    status: TerminalStatus
    cert_serial: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorizationRow:
    """One authorization as recorded: the decision and the exact response sent.

    ``response_json`` is the body returned to the terminal, kept byte for byte so that a
    repeated idempotency key returns exactly the first answer.
    """

    id: str
    terminal_id: str
    idempotency_key: str
    request_hash: str
    amount: int
    currency: str
    token_masked: str
    par: str | None
    atc: int | None
    approved: bool
    reason: str
    response_code: str
    response_json: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AtcClaim:
    """A (token, ATC) pair to mark as used together with an authorization."""

    token: str
    atc: int


class RecordStatus(enum.Enum):
    """What :meth:`Store.record_authorization` did."""

    RECORDED = "recorded"
    """The authorization row was written (and the ATC claimed, if one was given)."""
    IDEMPOTENCY_KEY_EXISTS = "idempotency_key_exists"
    """Nothing written: the terminal already used this idempotency key (row in ``existing``)."""
    ATC_ALREADY_CLAIMED = "atc_already_claimed"
    """Nothing written: another authorization already claimed this (token, ATC)."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Outcome of :meth:`Store.record_authorization`."""

    status: RecordStatus
    existing: AuthorizationRow | None = None


class PaymentStatus(enum.StrEnum):
    """Where a payment stands; see :mod:`acquirer.payments.lifecycle` for the transitions."""

    AUTHORIZED = "authorized"
    """A pre-authorization's hold is open (it can be incremented, captured, reversed)."""
    CAPTURED = "captured"
    """Money is owed to the merchant (a sale at once, a pre-authorization once completed)."""
    VOIDED = "voided"
    REVERSED = "reversed"


class Intent(enum.StrEnum):
    """What an approved authorization starts: a sale (captured at once), a hold, or nothing.

    An account verification (a zero-amount authorization; EMV Book 4 6.3.3 "zero amount",
    the transit schemes' Account Status Inquiry) proves that a genuine, fresh card of a known
    token was tapped and names its account (PAR), without moving money: a bike's tap-off and
    a parcel pickup identify the rider or recipient with it. It opens no payment.
    """

    SALE = "sale"
    PREAUTHORIZATION = "preauthorization"
    ACCOUNT_VERIFICATION = "account_verification"


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """The money side of an approved authorization; its id is the authorization id.

    ``authorized`` is the amount held or sold (after increments and partial reversals),
    ``captured`` the amount owed to the merchant, ``refunded`` what went back.
    """

    id: str
    terminal_id: str
    intent: Intent
    currency: str
    par: str | None
    token_masked: str
    authorized: int
    captured: int
    refunded: int
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    settled: bool = False
    """Whether a journal of the payment is in a closed settlement batch."""


class OperationKind(enum.StrEnum):
    """A state-changing request on an existing payment."""

    INCREMENT = "increment"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    REVERSAL = "reversal"


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """An operation as requested, before the payment's state is known."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: OperationKind
    payment_id: str
    amount: int | None
    request_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """What an operation does to a locked payment: its new state, journals, response."""

    payment: PaymentRow
    journals: tuple[Journal, ...]
    response_json: str


@dataclass(frozen=True, slots=True)
class OperationRow:
    """A recorded operation: the request's identity and the exact response sent."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: OperationKind
    payment_id: str
    request_hash: str
    response_json: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OperationResult:
    """Outcome of :meth:`Store.apply_operation`: the row, and whether it was just written."""

    row: OperationRow
    replayed: bool


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """Counts over the ledger, for checks and benchmarks."""

    journals: dict[str, int]
    unbalanced: int


class BatchScope(enum.StrEnum):
    """What a settlement batch closes: one terminal's journals, or a whole merchant's."""

    TERMINAL = "terminal"
    MERCHANT = "merchant"


@dataclass(frozen=True, slots=True)
class BatchTotal:
    """One line of a batch's totals: a journal kind in one currency.

    ``gross`` is the change in what the schemes owe (captures positive, cancels and refunds
    negative), ``fees`` the acquirer's charges, ``net`` what the merchant is paid.
    """

    kind: str
    currency: str
    count: int
    gross: int
    fees: int

    @property
    def net(self) -> int:
        """What the merchant receives for this line."""
        return self.gross - self.fees


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A closed settlement batch; closed batches never change."""

    id: str
    scope: BatchScope
    scope_id: str
    idempotency_key: str
    closed_at: datetime
    totals: tuple[BatchTotal, ...]


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One journal of a batch, as the CSV export lists it."""

    journal_id: str
    payment_id: str
    terminal_id: str
    kind: str
    currency: str
    gross: int
    fee: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuthorizationContext:
    """Everything deciding an authorization reads, in one statement.

    The same values as :meth:`Store.get_token`, :meth:`Store.atc_claimed`,
    :meth:`Store.highest_atc`, the terminal's merchant category, and the risk inputs of
    :meth:`Store.par_denied`, :meth:`Store.mcc_limit` and :meth:`Store.approvals_since`;
    read together because every statement is a round trip (and, under load, a trip
    through the GIL).
    """

    token: TokenRow
    atc_claimed: bool
    highest_atc: int | None
    mcc: str | None
    """The merchant category of the terminal's merchant; ``None`` for an unknown terminal."""
    par_denied: bool
    """Whether the token's PAR is on the deny list."""
    mcc_limit: int | None
    """The amount limit of the terminal's merchant category, if one is set."""
    recent_approvals: int
    """Approved authorizations of the token's PAR at or after the ``since`` asked for."""


#: An operation on a payment, as :meth:`acquirer.payments.lifecycle.PaymentService.prepare` builds it.
PaymentStep = tuple[OperationRequest, Callable[[PaymentRow], Transition]]


class Store(Protocol):
    """Persistence for the token vault and authorizations.

    Implementations are safe to call from several threads at once (FastAPI runs sync
    endpoints in a thread pool) and make each write durable before returning.
    Database failures surface as :class:`~acquirer.errors.StoreError`.
    """

    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...

    # -- tokens ------------------------------------------------------------------------

    def get_token(self, token: str) -> TokenRow | None:
        """The vault row of ``token``, or ``None``."""
        ...

    def put_token(self, row: TokenRow) -> bool:
        """Insert a new token; ``False`` (nothing written) if the token number is taken."""
        ...

    def set_token_status(self, token: str, status: TokenStatus) -> None:
        """Change a token's status; :class:`~acquirer.errors.TokenNotFoundError` if absent."""
        ...

    def list_tokens(self) -> Sequence[TokenRow]:
        """All tokens, oldest first."""
        ...

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
    ) -> RecordResult:
        """Atomically insert ``row`` and, if given, claim ``claim``; all or nothing.

        An approved authorization brings its ``payment`` and ``journals``, written in the
        same transaction.

        Returns :attr:`RecordStatus.IDEMPOTENCY_KEY_EXISTS` (with the existing row) when
        ``(row.terminal_id, row.idempotency_key)`` is taken, and
        :attr:`RecordStatus.ATC_ALREADY_CLAIMED` when the claim is taken; nothing is written
        in either case. The write is durable when this returns.
        """
        ...

    async def record_authorization_async(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
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

    def get_payment(self, payment_id: str) -> PaymentRow | None:
        """The payment with that id (an authorization id), or ``None``."""
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

    # -- merchants and terminals -----------------------------------------------------------

    def put_merchant(self, row: MerchantRow) -> bool:
        """Insert a merchant; ``False`` (nothing written) if the id is taken."""
        ...

    def get_merchant(self, merchant_id: str) -> MerchantRow | None:
        """The merchant, or ``None``."""
        ...

    def list_merchants(self) -> Sequence[MerchantRow]:
        """All merchants, by id."""
        ...

    def put_terminal(self, row: TerminalRow) -> bool:
        """Insert a terminal; ``False`` if the id is taken. Its merchant must exist."""
        ...

    def get_terminal(self, terminal_id: str) -> TerminalRow | None:
        """The terminal, or ``None``."""
        ...

    def list_terminals(self) -> Sequence[TerminalRow]:
        """All terminals, by id."""
        ...

    def update_terminal(
        self,
        terminal_id: str,
        *,
        status: TerminalStatus | None = None,
        cert_serial: str | None = None,
    ) -> None:
        """Change a terminal's status and/or certificate; :class:`~acquirer.errors.TerminalNotFoundError`."""
        ...

    def set_token_domain(self, token: str, allowed_mccs: tuple[str, ...] | None) -> None:
        """Restrict a token to merchant categories (None: lift the restriction)."""
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

    # -- bike rentals and debts -----------------------------------------------------------------

    def put_tariff(self, merchant_id: str, tariff: Tariff, at: datetime) -> None:
        """Set the operator's bike tariff; :class:`~acquirer.errors.RegistryError` without it."""
        ...

    def get_tariff(self, merchant_id: str) -> Tariff | None:
        """The operator's bike tariff, or ``None``."""
        ...

    def find_bike_request(self, terminal_id: str, idempotency_key: str) -> BikeRequestRow | None:
        """The rental or debt request a terminal recorded under an idempotency key."""
        ...

    def apply_rental_change(
        self,
        request: BikeRequest,
        decide: Callable[[RentalRow | None, PaymentRow | None, DebtRow | None], RentalChange],
        *,
        rental_id: str | None = None,
        debt_id: str | None = None,
    ) -> RentalResult:
        """Run one rental or debt request in one durable transaction.

        A used ``(request.terminal_id, request.idempotency_key)`` writes nothing and returns
        that request (``replayed``). Otherwise the rental, its hold and the debt named are
        locked (in that order), ``decide`` computes the change (raising to refuse it, which
        writes nothing), and everything in it is written together with the request.
        A new rental whose PAR or bike already has an active rental raises
        :class:`~acquirer.errors.RentalStateError` (a database constraint decides races).
        """
        ...

    def get_rental(self, rental_id: str) -> RentalRow | None:
        """The rental, or ``None``."""
        ...

    def find_active_rental(
        self, merchant_id: str, *, par: str | None = None, bike_id: str | None = None
    ) -> RentalRow | None:
        """The oldest active rental of the operator for that PAR or bike, or ``None``."""
        ...

    def list_rentals(
        self,
        *,
        merchant_id: str | None = None,
        states: Sequence[RentalState] = (),
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[RentalRow]:
        """Rentals by id (oldest first), after the id ``after``; all states when none given."""
        ...

    def get_debt(self, debt_id: str) -> DebtRow | None:
        """The debt, or ``None``."""
        ...

    def list_debts(
        self,
        *,
        merchant_id: str | None = None,
        status: DebtStatus | None = None,
        par: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[DebtRow]:
        """Debts by id (oldest first), after the id ``after``."""
        ...

    def list_denied(self, *, after: str | None = None, limit: int = 100) -> Sequence[DeniedRow]:
        """The deny list by PAR, after the PAR ``after``."""
        ...

    # -- parcel lockers (rows in acquirer.parcels.rows; rules in acquirer.parcels.service) -------

    def add_compartments(
        self, locker_id: str, size: CompartmentSize, count: int, at: datetime
    ) -> Sequence[CompartmentRow]:
        """Add ``count`` free compartments, numbered after the locker's last one.

        :class:`~acquirer.errors.LockerNotFoundError` unless ``locker_id`` is a registered
        terminal with the action ``locker``.
        """
        ...

    def list_compartments(self, locker_id: str) -> Sequence[CompartmentRow]:
        """A locker's compartments, by number."""
        ...

    def set_storage_fees(self, row: StorageFeeRow) -> None:
        """Create or replace a locker operator's storage fee settings."""
        ...

    def get_storage_fees(self, merchant_id: str) -> StorageFeeRow | None:
        """A locker operator's storage fee settings, or ``None``."""
        ...

    def find_parcel_operation(
        self, terminal_id: str, idempotency_key: str
    ) -> ParcelOperationRow | None:
        """The parcel operation a terminal recorded under an idempotency key, or ``None``."""
        ...

    def run_parcel_operation(
        self, request: ParcelOperationRequest, work: Callable[[ParcelTx], str]
    ) -> ParcelOperationResult:
        """Run one parcel operation in one durable transaction.

        If ``(request.terminal_id, request.idempotency_key)`` already names an operation,
        nothing is written and that row is returned (``replayed``). Otherwise ``work``
        reads and changes parcels through the :class:`ParcelTx` and returns the response
        body, stored with the operation; if it raises, nothing is written.
        """
        ...

    def record_parcel_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None,
        journals: Sequence[Journal],
        request: ParcelOperationRequest,
        work: Callable[[ParcelTx], str],
    ) -> RecordResult:
        """:meth:`record_authorization` and a parcel operation in ONE transaction.

        The authorization (with its payment and journals, if approved) is written first and
        decides races exactly as :meth:`record_authorization` does; then the operation runs
        as in :meth:`run_parcel_operation`. If ``work`` raises, nothing at all is written,
        not even the authorization or its ATC claim.
        """
        ...

    def get_parcel(self, parcel_id: str) -> ParcelRow | None:
        """A parcel, or ``None``."""
        ...

    def list_parcels(
        self,
        *,
        state: ParcelState | None = None,
        locker_id: str | None = None,
        merchant_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[ParcelRow]:
        """Parcels by id (oldest first) after the id ``after``, filtered by state, locker,
        and the merchant that operates the locker."""
        ...

    def parcel_audit(self, parcel_id: str) -> Sequence[AuditEventRow]:
        """The audit events of a parcel, oldest first."""
        ...

    def count_parcels_by_locker(self, state: ParcelState) -> dict[str, int]:
        """How many parcels are in ``state`` at each locker that has any."""
        ...
