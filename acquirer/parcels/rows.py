"""The rows of parcel lockers, and :class:`ParcelStore`, the interface they cross.

A *locker* is a registered terminal with the action ``locker``; its *compartments* are
numbered per locker and have a size (S, M, L) and a status (free or occupied). A *parcel*
occupies one compartment from its registration until it is collected. Every request that
changes parcels is a *parcel operation* (kept with its idempotency key and exact response),
and every action is an *audit event*. :class:`ParcelTx` is the store's view inside one parcel
transaction: business rules live in :mod:`acquirer.parcels.service`, the store only reads and
writes (locking what it reads on PostgreSQL). :class:`ParcelStore` extends the payments store;
its SQL (:class:`~acquirer.parcels.sql.SqlParcelStore`) runs a parcel operation and its
authorization or payment operation in one database transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    AtcClaim,
    AuthorizationRow,
    OperationResult,
    PaymentRow,
    PaymentStep,
    RecordResult,
    VelocityCheck,
)
from acquirer.payments.store import PaymentStore
from acquirer.registry import TerminalRow


class CompartmentSize(enum.StrEnum):
    """Compartment sizes, smallest first."""

    S = "S"
    M = "M"
    L = "L"

    @property
    def rank(self) -> int:
        """0 for S, 1 for M, 2 for L."""
        return list(CompartmentSize).index(self)

    def and_larger(self) -> tuple[CompartmentSize, ...]:
        """This size and every larger one, smallest first.

        >>> [s.value for s in CompartmentSize.M.and_larger()]
        ['M', 'L']
        """
        return tuple(size for size in CompartmentSize if size.rank >= self.rank)


class CompartmentStatus(enum.StrEnum):
    """A compartment holds no parcel (free) or one (occupied)."""

    FREE = "free"
    OCCUPIED = "occupied"


class ParcelState(enum.StrEnum):
    """Where a parcel stands; see :mod:`acquirer.parcels` for the transitions."""

    WAITING = "waiting"
    RELEASED = "released"
    OPENED = "opened"
    COLLECTED = "collected"


#: States in which a parcel still occupies its compartment.
ACTIVE_STATES = (ParcelState.WAITING, ParcelState.RELEASED, ParcelState.OPENED)


@dataclass(frozen=True, slots=True)
class CompartmentRow:
    """One compartment of a locker; ``compartment_id`` is its zero-padded ``number``."""

    locker_id: str
    compartment_id: str
    number: int
    size: CompartmentSize
    status: CompartmentStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StorageFeeRow:
    """A locker operator's (merchant's) storage fee: free hours, then a fee per started day."""

    merchant_id: str
    currency: str
    free_hours: int
    fee_per_started_day: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ParcelRow:
    """One parcel. The pickup code is kept only as ``code_salt`` and ``code_hash``.

    ``fee_free_hours`` and ``fee_per_started_day`` are the operator's storage fee terms when
    the parcel was registered (``None``: no storage fee). ``pay_armed_until`` is set when a
    pickup identified the recipient and answered "pay": a payment for the parcel is accepted
    until then.
    """

    id: str
    locker_id: str
    compartment_id: str
    courier_terminal_id: str
    reference: str
    recipient_par: str | None
    code_salt: bytes | None = field(repr=False)
    code_hash: bytes | None = field(repr=False)
    cod_amount: int
    currency: str
    fee_free_hours: int | None
    fee_per_started_day: int | None
    state: ParcelState
    registered_at: datetime
    updated_at: datetime
    pay_armed_until: datetime | None = None
    released_at: datetime | None = None
    opened_at: datetime | None = None
    collected_at: datetime | None = None
    payment_id: str | None = None
    amount_paid: int = 0
    storage_fee_paid: int = 0
    jams: int = 0


@dataclass(frozen=True, slots=True)
class AuditEventRow:
    """One action on a locker or parcel: who (terminal), what, when, and details (JSON)."""

    id: str
    at: datetime
    terminal_id: str
    action: str
    locker_id: str
    parcel_id: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class CodeGuardRow:
    """Wrong pickup codes entered at a locker in a row, and until when code entry is locked."""

    locker_id: str
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class ParcelOperationRequest:
    """A state-changing parcel request, before it runs."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: str
    parcel_id: str | None
    request_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ParcelOperationRow:
    """A recorded parcel operation and the exact response it gave."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: str
    parcel_id: str | None
    request_hash: str
    response_json: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ParcelOperationResult:
    """Outcome of :meth:`Store.run_parcel_operation`: the row, and whether it was a replay."""

    row: ParcelOperationRow
    replayed: bool


class ParcelTx(Protocol):
    """The store inside one parcel transaction; rows read here are locked until it ends."""

    def terminal(self, terminal_id: str) -> TerminalRow | None:
        """A registered terminal, or ``None``."""
        ...

    def storage_fees(self, merchant_id: str) -> StorageFeeRow | None:
        """The operator's storage fee settings, or ``None`` (no fee)."""
        ...

    def claim_compartment(
        self, locker_id: str, sizes: Sequence[CompartmentSize]
    ) -> CompartmentRow | None:
        """Mark the first free compartment of ``sizes`` (in that order, then by number)
        occupied and return it; ``None`` if none is free."""
        ...

    def free_compartment(self, locker_id: str, compartment_id: str) -> None:
        """Mark a compartment free again."""
        ...

    def insert_parcel(self, row: ParcelRow) -> None:
        """Write a new parcel."""
        ...

    def parcel(self, parcel_id: str) -> ParcelRow | None:
        """A parcel, locked, or ``None``."""
        ...

    def parcels_of(
        self, locker_id: str, par: str, states: Sequence[ParcelState]
    ) -> list[ParcelRow]:
        """The parcels for a recipient PAR at a locker in ``states``, oldest first, locked."""
        ...

    def parcels_with_code(self, locker_id: str, states: Sequence[ParcelState]) -> list[ParcelRow]:
        """The parcels with a pickup code at a locker in ``states``, oldest first, locked."""
        ...

    def update_parcel(self, row: ParcelRow) -> None:
        """Write a parcel's changed state."""
        ...

    def code_guard(self, locker_id: str) -> CodeGuardRow:
        """The locker's wrong-code counter (zero if none yet), locked."""
        ...

    def put_code_guard(self, row: CodeGuardRow) -> None:
        """Write the locker's wrong-code counter."""
        ...

    def audit(
        self, terminal_id: str, action: str, locker_id: str, parcel_id: str | None, detail: str
    ) -> None:
        """Append an audit event, at the operation's time; its id is ``<operation id>/<nn>``,
        so the events of one operation sort in the order they were written."""
        ...

    def post(
        self, payment_id: str, operation_id: str, journals: Sequence[Journal], at: datetime
    ) -> None:
        """Write journals of a payment, numbered within ``operation_id``."""
        ...

    def apply_payment_step(self, step: PaymentStep) -> OperationResult:
        """Apply a payment operation prepared by
        :meth:`~acquirer.payments.lifecycle.PaymentService.prepare` (a reversal of a parcel's sale) in
        this transaction: the payments' own implementation, the payment row locked first."""
        ...


class ParcelStore(PaymentStore, Protocol):
    """Persistence of lockers, compartments, parcels and their operations, over the payments store.

    Safe to call from several threads at once; every write durable before it returns.
    """

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
        velocity: VelocityCheck | None = None,
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
