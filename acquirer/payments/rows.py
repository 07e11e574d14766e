"""The rows of authorizations, payments, the ledger and settlement, as the store keeps them.

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

:meth:`~acquirer.payments.store.PaymentStore.record_authorization` writes the authorization
and claims the ATC in one transaction and reports which rule, if any, stopped it; an
approval's payment and journal go in the same transaction. Operations on payments carry their
own ``UNIQUE(terminal_id, idempotency_key)`` and lock the payment row
(:meth:`~acquirer.payments.store.PaymentStore.apply_operation`); journals have ids derived
from their operation, so none is written twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from acquirer.payments.ledger import Journal
from acquirer.registry import TokenRow, TokenStatus


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
    reference: str | None = None
    """The merchant's reference (order id) the request carried."""


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
    VELOCITY_EXCEEDED = "velocity_exceeded"
    """Nothing written: approvals of the PAR committed meanwhile reached the velocity limit."""


@dataclass(frozen=True, slots=True)
class VelocityCheck:
    """The velocity rule an approval is checked against again, inside its write.

    The count read before the decision may be stale by the time the approval is written
    (concurrent taps on the account); the store counts again under a lock on the account's
    token rows, so at most ``limit`` approvals of ``par`` fall at or after ``since``.
    """

    par: str
    limit: int
    since: datetime


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Outcome of :meth:`Store.record_authorization`."""

    status: RecordStatus
    existing: AuthorizationRow | None = None


class PaymentStatus(enum.StrEnum):
    """Where a payment stands; see :mod:`acquirer.payments` for the transitions."""

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
    reference: str | None = None
    """The merchant's reference (order id) of the authorization that opened it."""


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
class IncrementContext:
    """What an incremental authorization of a payment is checked against, in one statement.

    The risk inputs of the authorization that opened the payment, as they are now
    (:func:`acquirer.payments.risk.assess_increment`).
    """

    token_status: TokenStatus | None
    """The status of the token the payment was authorized with (``None``: unknown)."""
    par_denied: bool
    """Whether the payment's PAR is on the deny list."""
    mcc_limit: int | None
    """The amount limit of the payment terminal's merchant category, if one is set."""


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
    merchant_currency: str | None = None
    """The currency the terminal's merchant accepts; ``None`` for an unknown terminal."""


#: An operation on a payment, as :meth:`acquirer.payments.lifecycle.PaymentService.prepare` builds it.
PaymentStep = tuple[OperationRequest, Callable[[PaymentRow], Transition]]
