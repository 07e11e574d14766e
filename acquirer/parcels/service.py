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
  only in this answer (see :mod:`acquirer.parcels.rules`).
- **Pickup** (``POST /v1/parcels/pickups``, the locker): by a verified tap (an account
  verification, amount 0, :class:`~acquirer.payments.rows.Intent` ``account_verification``:
  genuine fresh card, its PAR) or by a code. ``release`` ``oldest`` takes the recipient's
  oldest parcel at this locker, ``all`` every one. If nothing is due, the answer is
  ``open`` and the parcels are ``released``; otherwise it is ``pay`` for the oldest parcel
  with something due (nothing is released; the others follow on the next tap), and the
  parcel accepts a payment for :data:`~acquirer.parcels.rules.PAY_WINDOW`.
- **Payment** (``POST /v1/parcels/{id}/payments``, the locker, same card still in the field):
  a *sale* authorization through :class:`~acquirer.payments.service.AuthorizationService` for exactly
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
(:meth:`~acquirer.parcels.rows.ParcelStore.record_parcel_authorization`).

**Idempotency.** Every state-changing request carries an ``Idempotency-Key``; the first
answer is stored with the parcel operation and replayed byte for byte; the same key with a
different request is refused; a retry while the first runs is ``409``. The authorization
inside a pickup or payment is recorded under ``parcel/<key>``
(:func:`~acquirer.parcels.binding.authorization_key`: a key no HTTP client can send, ``/`` is
outside the header's alphabet).

**Reversal.** A payment the card rejected (its ARPC, EMV Book 3 6.5.4) or whose answer the
locker lost is undone by ``POST /v1/parcels/{id}/payments/reversals`` with the payment's
original key (:mod:`acquirer.parcels.reversals`): the sale reversed, the storage fee moved
back, the parcel ``waiting`` again, while its door has not opened.

Log lines carry operation, parcel, locker and terminal ids: never a pickup code, a PAN or
EMV data.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from acquirer.clock import format_timestamp
from acquirer.errors import (
    NoCompartmentFreeError,
    ParcelCurrencyError,
    ParcelNotFoundError,
    ParcelStateError,
    StoreError,
    TerminalForbiddenError,
)
from acquirer.idempotency import StoredAnswer
from acquirer.ids import new_id
from acquirer.pagination import read_page
from acquirer.parcels.operations import (
    CODE_PLACEHOLDER,
    PICKABLE,
    active_locker,
    dumps,
)
from acquirer.parcels.pickups import ParcelPickups
from acquirer.parcels.rows import (
    CompartmentSize,
    ParcelOperationRequest,
    ParcelRow,
    ParcelState,
    ParcelTx,
)
from acquirer.parcels.rules import (
    DoorEvent,
    amount_due,
)
from acquirer.registry import TerminalRow, TerminalStatus

#: Parcel ids tried when a new parcel's code equals a waiting one's at the same locker.
_CODE_TRIES = 8


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


class ParcelService(ParcelPickups):
    """Applies the parcel rules through a :class:`~acquirer.payments.store.PaymentStore`."""

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
        fetch = functools.partial(
            self._store.list_parcels,
            state=state,
            locker_id=locker_id,
            merchant_id=terminal.merchant_id,
        )
        now = self._clock()
        return read_page(
            fetch,
            cursor=cursor,
            limit=limit,
            render=lambda row: parcel_json(row, now),
            key=lambda row: row.id,
        )

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

    def register(self, terminal_id: str, key: str, reg: Registration) -> StoredAnswer:
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
        locker = active_locker(ptx.terminal(reg.locker_id), reg.locker_id)
        fees = ptx.storage_fees(locker.merchant_id)
        if fees is not None and fees.currency != reg.currency:
            raise ParcelCurrencyError(
                f"the locker's storage fees are in {fees.currency}; register the parcel in it"
            )
        salt = code_hash = None
        if reg.pickup_code:
            code = self._codes.code_for(parcel_id)
            if any(
                self._codes.matches(p, code) for p in ptx.parcels_with_code(reg.locker_id, PICKABLE)
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
        text = dumps(body)
        return text.replace('"pickup_code":null', CODE_PLACEHOLDER) if reg.pickup_code else text

    # -- door events ----------------------------------------------------------------------

    def door_event(
        self, terminal_id: str, key: str, parcel_id: str, event: DoorEvent, at: datetime
    ) -> StoredAnswer:
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
        return dumps(
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


def _require(terminal: TerminalRow | None, action: str, terminal_id: str) -> TerminalRow:
    if terminal is None or terminal.status is not TerminalStatus.ACTIVE:
        raise TerminalForbiddenError(f"terminal {terminal_id} is not an active registered terminal")
    if action not in terminal.actions:
        raise TerminalForbiddenError(f"terminal {terminal_id} is not allowed to {action}")
    return terminal
