"""Parcel lockers: a courier registers a parcel, the recipient's tap or code opens it.

States of a parcel and what moves it (every step is audited in ``audit_events``)::

    waiting --pickup, nothing due--------------> released --door opened--> opened
    waiting --pickup, something due: "pay"--+       ^   \\--door jammed: stays released,
            --payment approved--------------+-------+       a new pickup re-opens, no charge
    opened  --door closed--> collected (the compartment is free again)
    opened  --door left_open: recorded, stays opened until closed

- **Registration** (``POST /v1/parcels``, a terminal with the action ``courier``): the
  smallest free compartment of the size asked for, else of the next larger size (S, M, L),
  else ``409 no_compartment_free``. Registration means the parcel is in the compartment: the
  courier's own drop-off door cycle is not modelled. The recipient is a PAR (from a tap of
  the recipient's card or phone elsewhere) and/or a one-time 6-digit pickup code, returned
  only in this answer (see :mod:`acquirer.parcel_rules`).
- **Pickup** (``POST /v1/parcels/pickups``, the locker): by a verified tap (an account
  verification, amount 0, :class:`~acquirer.store.base.Intent` ``account_verification``:
  genuine fresh card, its PAR) or by a code. ``release`` ``oldest`` takes the recipient's
  oldest parcel at this locker, ``all`` every one. If nothing is due, the answer is
  ``open`` and the parcels are ``released``; otherwise it is ``pay`` for the oldest parcel
  with something due (nothing is released; the others follow on the next tap), and the
  parcel accepts a payment for :data:`~acquirer.parcel_rules.PAY_WINDOW`.
- **Payment** (``POST /v1/parcels/{id}/payments``, the locker, same card still in the field):
  a *sale* authorization through :class:`~acquirer.service.AuthorizationService` for exactly
  the amount due, bound to the parcel: approved -> ``open`` and ``released``; declined ->
  ``refused``. Only a parcel that a pickup asked payment for (or whose recipient PAR is the
  paying card's) accepts one, so no tap can open somebody else's compartment by paying.
- **Door events** (``POST /v1/parcels/{id}/door-events``): ``opened`` then ``closed``
  collects; ``jammed`` and ``left_open`` are recorded.

**Ledger.** A parcel payment is the ordinary sale of the locker terminal (its journal from
the authorization: DR issuer_receivable, CR merchant_payable:<locker>, CR fee_revenue), so
COD money settles to the locker's merchant like any sale, which pays the sender. The
storage-fee part S is then moved in the same transaction to the operator's own account:
``storage_fee`` journal DR merchant_payable:<locker> S, CR fees:storage:<merchant> S. Both
journals, the payment, the authorization, the parcel's new state, the operation and its
audit events are written in ONE database transaction
(:meth:`~acquirer.store.base.Store.record_parcel_authorization`).

**Idempotency.** Every state-changing request carries an ``Idempotency-Key``; the first
answer is stored with the parcel operation and replayed byte for byte; the same key with a
different request is refused; a retry while the first runs is ``409``. The authorization
inside a pickup or payment is recorded under ``parcel/<key>`` (:func:`authorization_key`: a
key no HTTP client can send, ``/`` is outside the header's alphabet).

**Reversal.** A payment the card rejected (its ARPC, EMV Book 3 6.5.4) or whose answer the
locker lost is undone by ``POST /v1/parcels/{id}/payments/reversals`` with the payment's
original key (:mod:`acquirer.parcel_reversals`): the sale reversed, the storage fee moved
back, the parcel ``waiting`` again, while its door has not opened.

Log lines carry operation, parcel, locker and terminal ids: never a pickup code, a PAN or
EMV data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from acquirer import ledger
from acquirer.errors import (
    AmountDueMismatchError,
    IdempotencyKeyReusedError,
    LockerNotFoundError,
    NoCompartmentFreeError,
    ParcelCurrencyError,
    ParcelNotFoundError,
    ParcelNotIdentifiedError,
    ParcelStateError,
    StoreError,
    TerminalForbiddenError,
)
from acquirer.idempotency import InFlight
from acquirer.ids import new_id
from acquirer.ledger import Journal
from acquirer.parcel_rules import (
    CODE_ATTEMPTS,
    CODE_LOCK,
    PAY_WINDOW,
    DoorEvent,
    Due,
    PickupAction,
    PickupCodes,
    PickupReason,
    amount_due,
    message,
)
from acquirer.service import AuthorizationRequest, AuthorizationService, format_timestamp
from acquirer.store.base import (
    AtcClaim,
    AuthorizationRow,
    Intent,
    PaymentRow,
    RecordResult,
    Store,
    TerminalRow,
    TerminalStatus,
)
from acquirer.store.parcel_rows import (
    CodeGuardRow,
    CompartmentSize,
    ParcelOperationRequest,
    ParcelOperationRow,
    ParcelRow,
    ParcelState,
    ParcelTx,
)
from acquirer.vault import utc_now

log = logging.getLogger("acquirer.parcels")

#: Stands for the pickup code in a stored registration answer; the code is derived again.
_CODE_PLACEHOLDER = '"pickup_code":"******"'
#: Parcel ids tried when a new parcel's code equals a waiting one's at the same locker.
_CODE_TRIES = 8
#: States a pickup finds (a released parcel whose door jammed is opened again).
_PICKABLE = (ParcelState.WAITING, ParcelState.RELEASED)


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ParcelOutcome:
    """A response body and whether it is a stored one replayed."""

    response_json: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class Registration:
    """A courier's registration of one parcel (already schema-validated)."""

    locker_id: str
    size: CompartmentSize
    recipient_par: str | None
    pickup_code: bool
    cod_amount: int
    currency: str
    reference: str


class _CodeCollision(Exception):
    """A new parcel's derived code equals one waiting at the locker: retry with a new id."""


@dataclass(frozen=True, slots=True)
class _Pending:
    request: ParcelOperationRequest
    work: Callable[[ParcelTx, AuthorizationRow], str]


class ParcelBoundStore:
    """The store as the parcels' :class:`AuthorizationService` sees it.

    Everything is the real store's, except that while :meth:`binding` is active in this
    thread (a context variable), :meth:`record_authorization` also runs the parcel step, in
    the same database transaction (:meth:`Store.record_parcel_authorization`).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: ContextVar[_Pending | None] = ContextVar("parcel_step", default=None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def record_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None = None,
        journals: Sequence[Journal] = (),
    ) -> RecordResult:
        """The real store's, with the bound parcel step in the same transaction."""
        pending = self._pending.get()
        if pending is None:
            return self._store.record_authorization(row, claim, payment, journals)
        return self._store.record_parcel_authorization(
            row, claim, payment, journals, pending.request, lambda ptx: pending.work(ptx, row)
        )

    @contextmanager
    def binding(
        self, request: ParcelOperationRequest, work: Callable[[ParcelTx, AuthorizationRow], str]
    ) -> Iterator[None]:
        """Bind a parcel step to the authorizations recorded in this context."""
        token = self._pending.set(_Pending(request, work))
        try:
            yield
        finally:
            self._pending.reset(token)


def authorization_key(idempotency_key: str) -> str:
    """The key a parcel request's authorization is recorded under, for its terminal.

    >>> authorization_key("k-1")
    'parcel/k-1'
    """
    return f"parcel/{idempotency_key}"


def authorization_fields(row: AuthorizationRow | None) -> dict[str, Any]:
    """The authorization's part of a pickup or payment answer (tag 91 for the card)."""
    if row is None:
        return {"authorization_id": None, "issuer_authentication_data": None, "par": None}
    answer = json.loads(row.response_json)
    return {
        "authorization_id": row.id,
        "issuer_authentication_data": answer.get("issuer_authentication_data"),
        "par": row.par,
    }


def parcel_json(parcel: ParcelRow, now: datetime) -> dict[str, Any]:
    """The public view of a parcel (never its code: only whether it has one)."""
    due = amount_due(parcel, now)

    def stamp(value: datetime | None) -> str | None:
        return None if value is None else format_timestamp(value)

    return {
        "parcel_id": parcel.id,
        "locker_id": parcel.locker_id,
        "compartment": parcel.compartment_id,
        "state": parcel.state.value,
        "reference": parcel.reference,
        "courier_terminal_id": parcel.courier_terminal_id,
        "recipient_par": parcel.recipient_par,
        "has_pickup_code": parcel.code_hash is not None,
        "cod_amount": parcel.cod_amount,
        "currency": parcel.currency,
        "storage_fee": due.storage_fee,
        "amount_due": due.total,
        "amount_paid": parcel.amount_paid,
        "storage_fee_paid": parcel.storage_fee_paid,
        "payment_id": parcel.payment_id,
        "jams": parcel.jams,
        "registered_at": stamp(parcel.registered_at),
        "released_at": stamp(parcel.released_at),
        "opened_at": stamp(parcel.opened_at),
        "collected_at": stamp(parcel.collected_at),
    }


class ParcelService:
    """Applies the parcel rules through a :class:`~acquirer.store.base.Store`."""

    def __init__(
        self,
        store: Store,
        bound: ParcelBoundStore,
        authorizer: AuthorizationService,
        codes: PickupCodes,
        *,
        clock: Callable[[], datetime] = utc_now,
        in_flight: InFlight | None = None,
    ) -> None:
        self._store = store
        self._bound = bound
        self._authorizer = authorizer
        self._codes = codes
        self._clock = clock
        self._in_flight = in_flight or InFlight()

    # -- reads ----------------------------------------------------------------------------

    def get(self, terminal_id: str, parcel_id: str) -> dict[str, Any]:
        """A parcel's view, for its locker's operator or the courier terminal that registered it."""
        return parcel_json(self._visible(terminal_id, parcel_id), self._clock())

    def audit(self, terminal_id: str, parcel_id: str) -> dict[str, Any]:
        """A parcel's audit trail, oldest first."""
        parcel = self._visible(terminal_id, parcel_id)
        events = [
            {
                "event_id": e.id,
                "at": format_timestamp(e.at),
                "terminal_id": e.terminal_id,
                "action": e.action,
                "detail": json.loads(e.detail),
            }
            for e in self._store.parcel_audit(parcel.id)
        ]
        return {"parcel_id": parcel.id, "events": events}

    def list(
        self,
        terminal_id: str,
        *,
        state: ParcelState | None,
        locker_id: str | None,
        cursor: str | None,
        limit: int,
    ) -> dict[str, Any]:
        """A page of the parcels at the lockers of the terminal's merchant, by id."""
        terminal = self._store.get_terminal(terminal_id)
        if terminal is None:
            raise TerminalForbiddenError(f"terminal {terminal_id} is not registered")
        rows = self._store.list_parcels(
            state=state,
            locker_id=locker_id,
            merchant_id=terminal.merchant_id,
            after=cursor,
            limit=limit + 1,
        )
        now = self._clock()
        items = [parcel_json(row, now) for row in rows[:limit]]
        next_cursor = rows[limit - 1].id if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    def _visible(self, terminal_id: str, parcel_id: str) -> ParcelRow:
        parcel = self._store.get_parcel(parcel_id)
        if parcel is not None and parcel.courier_terminal_id == terminal_id:
            return parcel
        terminal = self._store.get_terminal(terminal_id)
        locker = None if parcel is None else self._store.get_terminal(parcel.locker_id)
        if parcel is None or terminal is None or locker is None:
            raise ParcelNotFoundError("no such parcel for this terminal")
        if locker.merchant_id != terminal.merchant_id:
            raise ParcelNotFoundError("no such parcel for this terminal")
        return parcel

    # -- registration ---------------------------------------------------------------------

    def register(self, terminal_id: str, key: str, reg: Registration) -> ParcelOutcome:
        """Register a parcel into the smallest free compartment that fits."""
        fields = dataclasses.asdict(reg) | {"terminal_id": terminal_id}
        fields["size"] = reg.size.value
        for _ in range(_CODE_TRIES):
            now = self._clock()
            parcel_id = new_id("parcel_", now)
            try:
                return self._operate(
                    "register",
                    terminal_id,
                    key,
                    parcel_id,
                    fields,
                    functools.partial(self._register, reg=reg, parcel_id=parcel_id),
                )
            except _CodeCollision:
                continue
        raise StoreError("no unique pickup code found for the locker; retry")

    def _register(
        self, ptx: ParcelTx, op: ParcelOperationRequest, *, reg: Registration, parcel_id: str
    ) -> str:
        now = op.created_at
        _require(ptx.terminal(op.terminal_id), "courier", op.terminal_id)
        locker = _locker(ptx.terminal(reg.locker_id), reg.locker_id)
        fees = ptx.storage_fees(locker.merchant_id)
        if fees is not None and fees.currency != reg.currency:
            raise ParcelCurrencyError(
                f"the locker's storage fees are in {fees.currency}; register the parcel in it"
            )
        salt = code_hash = None
        if reg.pickup_code:
            code = self._codes.code_for(parcel_id)
            if any(
                self._codes.matches(p, code)
                for p in ptx.parcels_with_code(reg.locker_id, _PICKABLE)
            ):
                raise _CodeCollision
            salt = os.urandom(16)
            code_hash = self._codes.hash(code, salt)
        compartment = ptx.claim_compartment(reg.locker_id, reg.size.and_larger())
        if compartment is None:
            raise NoCompartmentFreeError(
                f"no free compartment of size {reg.size.value} or larger at locker {reg.locker_id}"
            )
        parcel = ParcelRow(
            id=parcel_id,
            locker_id=reg.locker_id,
            compartment_id=compartment.compartment_id,
            courier_terminal_id=op.terminal_id,
            reference=reg.reference,
            recipient_par=reg.recipient_par,
            code_salt=salt,
            code_hash=code_hash,
            cod_amount=reg.cod_amount,
            currency=reg.currency,
            fee_free_hours=None if fees is None else fees.free_hours,
            fee_per_started_day=None if fees is None else fees.fee_per_started_day,
            state=ParcelState.WAITING,
            registered_at=now,
            updated_at=now,
        )
        ptx.insert_parcel(parcel)
        detail = {
            "compartment": compartment.compartment_id,
            "size": compartment.size.value,
            "reference": reg.reference,
            "cod_amount": reg.cod_amount,
            "currency": reg.currency,
            "recipient_par": reg.recipient_par is not None,
            "pickup_code": reg.pickup_code,
        }
        self._audit(ptx, op, "registered", reg.locker_id, parcel_id, detail)
        body = {
            "parcel_id": parcel_id,
            "locker_id": reg.locker_id,
            "compartment": compartment.compartment_id,
            "size": compartment.size.value,
            "state": ParcelState.WAITING.value,
            "pickup_code": None,
            "recipient_par": reg.recipient_par,
            "cod_amount": reg.cod_amount,
            "currency": reg.currency,
            "reference": reg.reference,
            "registered_at": format_timestamp(now),
        }
        text = _dumps(body)
        return text.replace('"pickup_code":null', _CODE_PLACEHOLDER) if reg.pickup_code else text

    # -- pickups --------------------------------------------------------------------------

    def pickup_by_code(
        self, terminal_id: str, key: str, code: str, release_all: bool
    ) -> ParcelOutcome:
        """A pickup by code: the code identifies one parcel at this locker."""
        self._locker(terminal_id)
        fields = {"terminal_id": terminal_id, "pickup_code": code, "release_all": release_all}
        return self._operate(
            "pickup",
            terminal_id,
            key,
            None,
            fields,
            lambda ptx, op: self._pickup_code(ptx, op, code),
        )

    def _pickup_code(self, ptx: ParcelTx, op: ParcelOperationRequest, code: str) -> str:
        now, locker_id = op.created_at, op.terminal_id
        guard = ptx.code_guard(locker_id)
        if guard.locked_until is not None and guard.locked_until > now:
            self._audit(ptx, op, "pickup_code_refused_locked", locker_id, None, {})
            return self._refused(op, PickupReason.PICKUP_CODE_LOCKED.value, None)
        match = next(
            (
                p
                for p in ptx.parcels_with_code(locker_id, _PICKABLE)
                if self._codes.matches(p, code)
            ),
            None,
        )
        if match is None:
            failures = guard.failures + 1
            locked = failures >= CODE_ATTEMPTS
            ptx.put_code_guard(
                CodeGuardRow(
                    locker_id, 0 if locked else failures, now + CODE_LOCK if locked else None
                )
            )
            self._audit(ptx, op, "pickup_code_rejected", locker_id, None, {"failures": failures})
            if locked:
                until = format_timestamp(now + CODE_LOCK)
                self._audit(ptx, op, "pickup_code_locked", locker_id, None, {"until": until})
            return self._refused(op, PickupReason.PICKUP_CODE_INVALID.value, None)
        if guard.failures:
            ptx.put_code_guard(CodeGuardRow(locker_id, 0, None))
        return self._release_or_pay(ptx, op, [match], None, "pickup_code")

    def pickup_by_card(
        self,
        terminal_id: str,
        key: str,
        emv_data: bytes,
        currency: str | None,
        release_all: bool,
    ) -> ParcelOutcome:
        """A pickup by a verified tap (account verification, amount 0)."""
        locker = self._locker(terminal_id)
        if currency is None:
            merchant = self._store.get_merchant(locker.merchant_id)
            currency = "EUR" if merchant is None else merchant.currency
        fields = {
            "terminal_id": terminal_id,
            "emv_data": emv_data.hex(),
            "currency": currency,
            "release_all": release_all,
        }

        def work(ptx: ParcelTx, op: ParcelOperationRequest, row: AuthorizationRow) -> str:
            if not row.approved or row.par is None:
                detail = {"reason": row.reason, "authorization_id": row.id}
                self._audit(ptx, op, "pickup_refused", terminal_id, None, detail)
                return self._refused(op, row.reason, row)
            parcels = ptx.parcels_of(terminal_id, row.par, _PICKABLE)
            if not parcels:
                detail = {
                    "reason": PickupReason.NO_PARCEL_WAITING.value,
                    "authorization_id": row.id,
                }
                self._audit(ptx, op, "pickup_refused", terminal_id, None, detail)
                return self._refused(op, PickupReason.NO_PARCEL_WAITING.value, row)
            selected = parcels if release_all else parcels[:1]
            return self._release_or_pay(ptx, op, selected, row, "pickup_card")

        return self._with_card(
            "pickup", terminal_id, key, None, fields, 0, currency, emv_data,
            Intent.ACCOUNT_VERIFICATION, work,
        )  # fmt: skip

    def _release_or_pay(
        self,
        ptx: ParcelTx,
        op: ParcelOperationRequest,
        selected: Sequence[ParcelRow],
        row: AuthorizationRow | None,
        how: str,
    ) -> str:
        now = op.created_at
        owing = [(p, amount_due(p, now)) for p in selected]
        owing = [(p, due) for p, due in owing if due.total > 0]
        if owing:
            parcel, due = owing[0]
            ptx.update_parcel(
                dataclasses.replace(parcel, pay_armed_until=now + PAY_WINDOW, updated_at=now)
            )
            detail = {"by": how, **_due_json(due)}
            self._audit(ptx, op, "payment_requested", parcel.locker_id, parcel.id, detail)
            return self._answer(
                op,
                PickupAction.PAY,
                PickupReason.PAYMENT_DUE.value,
                row,
                parcel_id=parcel.id,
                due=due,
            )
        for parcel in selected:
            self._release(ptx, op, parcel, {"by": how})
        return self._answer(
            op, PickupAction.OPEN, PickupReason.APPROVED.value, row, opened=selected
        )

    def _release(
        self, ptx: ParcelTx, op: ParcelOperationRequest, parcel: ParcelRow, detail: dict[str, Any]
    ) -> None:
        now = op.created_at
        again = parcel.state is ParcelState.RELEASED
        ptx.update_parcel(
            dataclasses.replace(
                parcel,
                state=ParcelState.RELEASED,
                released_at=parcel.released_at if again else now,
                pay_armed_until=None,
                updated_at=now,
            )
        )
        action = "released_again" if again else "released"
        self._audit(ptx, op, action, parcel.locker_id, parcel.id, detail)

    # -- payments -------------------------------------------------------------------------

    def pay(
        self,
        terminal_id: str,
        key: str,
        parcel_id: str,
        amount: int,
        currency: str,
        emv_data: bytes,
    ) -> ParcelOutcome:
        """The sale for exactly what a parcel owes, bound to it: approved opens it."""
        self._locker(terminal_id)
        fields = {
            "terminal_id": terminal_id,
            "parcel_id": parcel_id,
            "amount": amount,
            "currency": currency,
            "emv_data": emv_data.hex(),
        }
        prior = self._store.find_parcel_operation(terminal_id, key)
        if prior is None:  # refuse early what the bound step would refuse anyway
            parcel = self._store.get_parcel(parcel_id)
            if parcel is None or parcel.locker_id != terminal_id:
                raise ParcelNotFoundError("no such parcel at this locker")
            self._check_payable(parcel, amount, currency, self._clock())

        def work(ptx: ParcelTx, op: ParcelOperationRequest, row: AuthorizationRow) -> str:
            parcel = ptx.parcel(parcel_id)
            if parcel is None or parcel.locker_id != terminal_id:
                raise ParcelNotFoundError("no such parcel at this locker")
            due = self._check_payable(parcel, amount, currency, op.created_at)
            armed = parcel.pay_armed_until is not None and parcel.pay_armed_until >= op.created_at
            if not armed and (row.par is None or row.par != parcel.recipient_par):
                raise ParcelNotIdentifiedError(
                    "no pickup asked for this payment: the recipient taps or enters the code first"
                )
            if not row.approved:
                detail = {"reason": row.reason, "authorization_id": row.id}
                self._audit(ptx, op, "payment_declined", terminal_id, parcel.id, detail)
                return self._refused(op, row.reason, row)
            if due.storage_fee:
                locker = _locker(ptx.terminal(terminal_id), terminal_id)
                journal = ledger.storage_fee(
                    terminal_id, locker.merchant_id, currency, due.storage_fee
                )
                ptx.post(row.id, op.id, (journal,), op.created_at)
            paid = dataclasses.replace(
                parcel, payment_id=row.id, amount_paid=amount, storage_fee_paid=due.storage_fee
            )
            detail = {"authorization_id": row.id, **_due_json(due)}
            self._audit(ptx, op, "paid", terminal_id, parcel.id, detail)
            self._release(ptx, op, paid, {"by": "payment"})
            return self._answer(
                op, PickupAction.OPEN, PickupReason.APPROVED.value, row, opened=[paid]
            )

        return self._with_card(
            "payment", terminal_id, key, parcel_id, fields, amount, currency, emv_data,
            Intent.SALE, work,
        )  # fmt: skip

    @staticmethod
    def _check_payable(parcel: ParcelRow, amount: int, currency: str, now: datetime) -> Due:
        if parcel.state is not ParcelState.WAITING:
            raise ParcelStateError(
                f"parcel is {parcel.state.value}: nothing to pay (pick it up again to open it)"
            )
        due = amount_due(parcel, now)
        if due.total == 0 or amount != due.total or currency != due.currency:
            raise AmountDueMismatchError(
                f"the amount due for this parcel is {due.total} {due.currency}"
            )
        return due

    # -- door events ----------------------------------------------------------------------

    def door_event(
        self, terminal_id: str, key: str, parcel_id: str, event: DoorEvent, at: datetime
    ) -> ParcelOutcome:
        """What the compartment door did; ``opened`` then ``closed`` collects the parcel."""
        self._locker(terminal_id)
        fields = {
            "terminal_id": terminal_id,
            "parcel_id": parcel_id,
            "event": event.value,
            "at": format_timestamp(at),
        }
        return self._operate(
            "door_event",
            terminal_id,
            key,
            parcel_id,
            fields,
            lambda ptx, op: self._door(ptx, op, parcel_id, event, at),
        )

    def _door(
        self,
        ptx: ParcelTx,
        op: ParcelOperationRequest,
        parcel_id: str,
        event: DoorEvent,
        at: datetime,
    ) -> str:
        now = op.created_at
        parcel = ptx.parcel(parcel_id)
        if parcel is None or parcel.locker_id != op.terminal_id:
            raise ParcelNotFoundError("no such parcel at this locker")
        state = parcel.state
        if state in (ParcelState.WAITING, ParcelState.COLLECTED):
            raise ParcelStateError(f"parcel is {state.value}: its door was not released")
        new = dataclasses.replace(parcel, updated_at=now)
        if event is DoorEvent.OPENED or (
            event is DoorEvent.LEFT_OPEN and state is ParcelState.RELEASED
        ):
            new = dataclasses.replace(
                new, state=ParcelState.OPENED, opened_at=parcel.opened_at or now
            )
        elif event is DoorEvent.CLOSED and state is ParcelState.OPENED:
            new = dataclasses.replace(new, state=ParcelState.COLLECTED, collected_at=now)
            ptx.free_compartment(parcel.locker_id, parcel.compartment_id)
        elif event is DoorEvent.JAMMED:
            new = dataclasses.replace(new, jams=parcel.jams + 1)
        ptx.update_parcel(new)
        detail = {"event": event.value, "at": format_timestamp(at), "state": new.state.value}
        self._audit(ptx, op, f"door_{event.value}", parcel.locker_id, parcel.id, detail)
        if new.state is ParcelState.COLLECTED:
            self._audit(ptx, op, "collected", parcel.locker_id, parcel.id, {})
        return _dumps(
            {
                "operation_id": op.id,
                "parcel_id": parcel.id,
                "event": event.value,
                "at": format_timestamp(at),
                "state": new.state.value,
                "compartment": parcel.compartment_id,
                "compartment_free": new.state is ParcelState.COLLECTED,
                "created_at": format_timestamp(now),
            }
        )

    # -- the common machinery -------------------------------------------------------------

    def _locker(self, terminal_id: str) -> TerminalRow:
        return _locker(self._store.get_terminal(terminal_id), terminal_id)

    def _operation(
        self, kind: str, terminal_id: str, key: str, parcel_id: str | None
    ) -> ParcelOperationRequest:
        now = self._clock()
        return ParcelOperationRequest(
            new_id("pop_", now), terminal_id, key, kind, parcel_id, "", now
        )

    def operate(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        work: Callable[[ParcelTx, ParcelOperationRequest], str],
    ) -> ParcelOutcome:
        """Run ``work`` as one idempotent parcel operation of ``kind`` (one transaction,
        answer stored under the key and replayed); for steps built outside this class."""
        return self._operate(kind, terminal_id, key, parcel_id, fields, work)

    def _operate(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        work: Callable[[ParcelTx, ParcelOperationRequest], str],
    ) -> ParcelOutcome:
        request_hash = self._codes.request_hash(kind, fields)
        op = dataclasses.replace(
            self._operation(kind, terminal_id, key, parcel_id), request_hash=request_hash
        )
        with self._in_flight.claim("parcel", terminal_id, key):
            result = self._store.run_parcel_operation(op, lambda ptx: work(ptx, op))
        return self._outcome(result.row, request_hash, op)

    def _with_card(
        self,
        kind: str,
        terminal_id: str,
        key: str,
        parcel_id: str | None,
        fields: dict[str, Any],
        amount: int,
        currency: str,
        emv_data: bytes,
        intent: Intent,
        work: Callable[[ParcelTx, ParcelOperationRequest, AuthorizationRow], str],
    ) -> ParcelOutcome:
        request_hash = self._codes.request_hash(kind, fields)
        op = dataclasses.replace(
            self._operation(kind, terminal_id, key, parcel_id), request_hash=request_hash
        )
        with self._in_flight.claim("parcel", terminal_id, key):
            prior = self._store.find_parcel_operation(terminal_id, key)
            if prior is None:
                with self._bound.binding(op, lambda ptx, row: work(ptx, op, row)):
                    self._authorizer.authorize(
                        AuthorizationRequest(
                            terminal_id=terminal_id,
                            idempotency_key=authorization_key(key),
                            amount=amount,
                            currency=currency,
                            emv_data=emv_data,
                            intent=intent,
                        )
                    )
                prior = self._store.find_parcel_operation(terminal_id, key)
                if prior is None:
                    raise StoreError("the parcel operation was not recorded with its authorization")
        return self._outcome(prior, request_hash, op)

    def _outcome(
        self, row: ParcelOperationRow, request_hash: str, op: ParcelOperationRequest
    ) -> ParcelOutcome:
        if row.request_hash != request_hash:
            raise IdempotencyKeyReusedError(
                "this idempotency key was already used by this terminal for a different request"
            )
        replayed = row.id != op.id
        log.info(
            "parcel %s %s parcel=%s terminal=%s%s",
            row.kind,
            row.id,
            row.parcel_id,
            row.terminal_id,
            " (replayed)" if replayed else "",
        )
        body = row.response_json
        if row.parcel_id is not None and _CODE_PLACEHOLDER in body:
            code = self._codes.code_for(row.parcel_id)
            body = body.replace(_CODE_PLACEHOLDER, f'"pickup_code":"{code}"')
        return ParcelOutcome(body, replayed)

    def _audit(
        self,
        ptx: ParcelTx,
        op: ParcelOperationRequest,
        action: str,
        locker_id: str,
        parcel_id: str | None,
        detail: dict[str, Any],
    ) -> None:
        text = _dumps({"operation_id": op.id, **detail})
        ptx.audit(op.terminal_id, action, locker_id, parcel_id, text)

    def _refused(
        self, op: ParcelOperationRequest, reason: str, row: AuthorizationRow | None
    ) -> str:
        return self._answer(op, PickupAction.REFUSED, reason, row)

    @staticmethod
    def _answer(
        op: ParcelOperationRequest,
        action: PickupAction,
        reason: str,
        row: AuthorizationRow | None,
        *,
        opened: Sequence[ParcelRow] = (),
        parcel_id: str | None = None,
        due: Due | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "operation_id": op.id,
            "action": action.value,
            "reason": reason,
            "message": message(reason),
            "parcels": [{"parcel_id": p.id, "compartment": p.compartment_id} for p in opened],
            "parcel_id": parcel_id,
            "amount_due": None if due is None else due.total,
            "cod_amount": None if due is None else due.cod_amount,
            "storage_fee": None if due is None else due.storage_fee,
            "currency": None if due is None else due.currency,
            **authorization_fields(row),
            "created_at": format_timestamp(op.created_at),
        }
        return _dumps(body)


def _due_json(due: Due) -> dict[str, Any]:
    return {
        "amount_due": due.total,
        "cod_amount": due.cod_amount,
        "storage_fee": due.storage_fee,
        "currency": due.currency,
    }


def _require(terminal: TerminalRow | None, action: str, terminal_id: str) -> TerminalRow:
    if terminal is None or terminal.status is not TerminalStatus.ACTIVE:
        raise TerminalForbiddenError(f"terminal {terminal_id} is not an active registered terminal")
    if action not in terminal.actions:
        raise TerminalForbiddenError(f"terminal {terminal_id} is not allowed to {action}")
    return terminal


def _locker(terminal: TerminalRow | None, locker_id: str) -> TerminalRow:
    if (
        terminal is None
        or terminal.status is not TerminalStatus.ACTIVE
        or "locker" not in terminal.actions
    ):
        raise LockerNotFoundError(f"no active terminal {locker_id} with the action locker")
    return terminal


def bound_store(store: Store) -> tuple[ParcelBoundStore, Store]:
    """A :class:`ParcelBoundStore` over ``store``, and the same object typed as a Store."""
    bound = ParcelBoundStore(store)
    return bound, cast(Store, bound)
