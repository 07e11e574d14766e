"""A parcel locker: a tap or a pickup code opens the recipient's compartment, paid in one tap.

**By card** (:meth:`Locker.pickup_by_card`): the card is read for amount 0 (an account
verification) and sent to ``POST /v1/parcels/pickups`` through the online tap of
:mod:`terminal.tap`. The acquirer answers with an action:

- ``open``: the listed compartments are opened one after another (``locker.release``:
  ``oldest``, one parcel a tap, or ``all``);
- ``pay`` (cash on delivery, storage fee): while the card is *still in the field* (no new
  presentation) the kernel runs a second transaction for exactly ``amount_due``; the sale
  goes to ``POST /v1/parcels/{id}/payments`` and the card verifies its ARPC (EMV Book 3
  6.5.4). Only an approval the card accepts opens the door; a decline keeps it shut. An
  approval the card rejects, or an answer lost on the way, is reversed
  (``POST /v1/parcels/{id}/payments/reversals`` by the payment's idempotency key): the door
  stays shut and the parcel waits for a new payment. With ``release = "all"`` the same card
  is then asked once more (amount 0) for the rest;
- ``refused``: the acquirer's message is shown.

**By code** (:meth:`Locker.pickup_by_code`): the 6-digit code goes to the same endpoint;
when something is due the recipient must tap to pay (the code alone pays nothing).

**Doors.** An ``open`` returns once the door *reports* open (reported ``opened``); one not
confirmed within ``locker.door_timeout`` was re-secured by the actuator and is reported
``jammed`` (the parcel stays released: a new pickup opens it again without a second
charge). A silent or unknown controller is reported the same way and shown as out of order,
never left unreported. The acquirer counts a parcel collected only after ``opened`` then
``closed``: :meth:`Locker.handle_event` forwards the door's events from the actuator's
stream, and a door still open ``locker.left_open_after`` seconds after it opened is
reported ``left_open`` (once; its later ``closed`` still collects).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from terminal.actuators import Actuator, ActuatorEvent, EventKind
from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    ActuatorError,
    ActuatorTimeoutError,
    OnlineError,
)
from terminal.journal.books import Books
from terminal.journal.states import TxKind
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.modes.settings import LockerSettings
from terminal.online.parcels import Opened, ParcelApi, PickupAnswer
from terminal.outbox import ItemKind, NewItem, Request
from terminal.readers.base import Reader
from terminal.tap import Show, go_online, read_card

log = logging.getLogger(__name__)

#: Pickup rounds one presentation may take (pay, open, ask again for the rest).
MAX_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class Door:
    """What happened to one compartment door at this pickup."""

    parcel_id: str
    compartment: str
    state: str  # open | jammed | out_of_order
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PickupResult:
    """How one pickup ended (for the display, a kiosk app, a log)."""

    outcome: str  # opened | refused | declined | jammed | out_of_order | not_read | error
    reason: str
    message: str
    doors: tuple[Door, ...] = ()
    paid: int = 0
    currency: str | None = None
    kernel: KernelResult | None = None
    arpc_verified: bool | None = None
    #: A payment undone: ``reversed``, ``nothing_to_reverse``, ``pending`` (not delivered).
    reversal: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "opened"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the masked token and PAR only, never a PAN or a code)."""
        k = self.kernel
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "message": self.message,
            "doors": [
                {
                    "parcel_id": d.parcel_id,
                    "compartment": d.compartment,
                    "state": d.state,
                    "detail": d.detail,
                }
                for d in self.doors
            ],
            "paid": self.paid,
            "currency": self.currency,
            "token_masked": k.masked_pan if k else None,
            "par": k.par if k else None,
            "arpc_verified": self.arpc_verified,
            "reversal": self.reversal,
        }


@dataclass
class _Watch:
    parcel_id: str
    opened_at: float
    left_open: bool = False
    reported: list[str] = field(default_factory=list)


class Locker:
    """The locker terminal's pickups over its compartments' door controller."""

    def __init__(
        self,
        api: ParcelApi,
        actuator: Actuator,
        settings: LockerSettings,
        *,
        currency: str,
        kernel: Kernel | None = None,
        show: Show | None = None,
        books: Books | None = None,
    ) -> None:
        self.api, self.actuator, self.settings = api, actuator, settings
        #: The terminal's journal and outbox: the cash-on-delivery payment is journalled, its
        #: reversal and any door event that cannot be delivered now wait in the outbox.
        self.books = books
        self.currency = currency
        self.kernel = kernel or Kernel()
        self.show: Show = show or (lambda ui: None)
        #: Autorun (Book A 5.2): the amount-0 taps start at Start B, pre-processed once.
        self.autorun = self.kernel.autorun(Transaction(0, currency))
        self._watches: dict[str, _Watch] = {}
        self._lock = threading.Lock()
        #: Door events the acquirer has been told, in order: (parcel id, event, its answer).
        self.reported: list[tuple[str, str, str]] = []

    # -- pickups ------------------------------------------------------------------------------

    def pickup_by_card(self, reader: Reader, *, wait: float | None) -> PickupResult:
        """A recipient taps: verify the card (amount 0), then open, pay or refuse."""
        read = read_card(reader, Transaction(0, self.currency), kernel=self.kernel, wait=wait,
                         show=self.show, prepared=self.autorun)  # fmt: skip
        if read.outcome is not Outcome.ONLINE_REQUEST:
            return PickupResult("not_read", read.reason, read.ui.text, kernel=read)
        release = self.settings.release
        online = go_online(reader, read, kernel=self.kernel, show=self.show, reverse=None,
                           submit=lambda rec, key: self.api.pickup_by_card(rec, release, key))  # fmt: skip
        if online.decision is None:
            return _unanswered(online.reason, read)
        if online.reason == "issuer_authentication_failed":
            # Not the issuer's answer as far as the card can tell: open nothing. What the
            # acquirer released stays released; the next genuine tap opens it.
            return PickupResult("refused", online.reason, "Card could not be verified: try again",
                                kernel=read, arpc_verified=False)  # fmt: skip
        result = PickupResult("refused", online.decision.reason, online.decision.message,
                              kernel=read, arpc_verified=online.arpc_verified)  # fmt: skip
        return self._follow(online.decision, result, reader)

    def pickup_by_code(
        self, code: str, reader: Reader | None, *, wait: float | None
    ) -> PickupResult:
        """A recipient enters a pickup code; what is due is paid with a tap on ``reader``."""
        try:
            answer = self.api.pickup_by_code(code, self.settings.release, str(uuid.uuid4()))
        except OnlineError as exc:
            return _unanswered(_acquirer_reason(exc), None)
        result = PickupResult("refused", answer.reason, answer.message)
        if answer.action == "pay":
            if reader is None:
                return replace(result, reason="payment_needs_card",
                               message=f"{answer.message} (no card reader)")  # fmt: skip
            result, opened = self._pay(answer, result, reader, wait=wait)
            if opened is None:
                return result
            answer = opened
        return self._follow(answer, result, None)

    # -- door events --------------------------------------------------------------------------

    def handle_event(self, event: ActuatorEvent) -> None:
        """Forward one controller event about a watched door to the acquirer."""
        kinds = {EventKind.CLOSED: "closed", EventKind.LEFT_OPEN: "left_open",
                 EventKind.JAMMED: "jammed", EventKind.OPENED: "opened"}  # fmt: skip
        if event.kind is EventKind.FAULT:
            log.warning("compartment %s: %s", event.unit, event.detail)
        with self._lock:
            watch = self._watches.get(event.unit)
        name = kinds.get(event.kind)
        if watch is None or name is None:
            return
        if name in ("opened", "left_open") and name in watch.reported:
            return  # already reported (the open itself, or our own left-open timer)
        if name == "left_open":
            watch.left_open = True
        self._report(watch, name, event.at)
        if name == "closed":
            with self._lock:
                self._watches.pop(event.unit, None)

    def check_left_open(self) -> None:
        """Report ``left_open`` for doors open longer than ``locker.left_open_after``."""
        now = time.monotonic()
        with self._lock:
            late = [w for w in self._watches.values()
                    if not w.left_open and now - w.opened_at >= self.settings.left_open_after]  # fmt: skip
        for watch in late:
            watch.left_open = True
            self._report(watch, "left_open", datetime.now(UTC))

    def open_doors(self) -> dict[str, str]:
        """Compartment -> parcel of the doors opened and not yet closed."""
        with self._lock:
            return {unit: w.parcel_id for unit, w in self._watches.items()}

    def settle(self, timeout: float, *, until_closed: bool = False) -> bool:
        """Serve events until every opened door closed (or, unless ``until_closed``, was
        reported left open). True when settled, False when ``timeout`` passed first (the
        doors stay watched)."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_left_open()
            with self._lock:
                watched = list(self._watches.values())
            waiting = [w for w in watched if until_closed or not w.left_open]
            if not waiting:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            timers = [w.opened_at + self.settings.left_open_after for w in watched
                      if not w.left_open]  # fmt: skip
            step = max(0.01, min([left, *(t - time.monotonic() for t in timers)]))
            event = self.actuator.next_event(timeout=step)
            if event is not None:
                self.handle_event(event)

    def watch(self, stop: threading.Event) -> None:
        """Serve the doors' events until ``stop`` is set (a kiosk runs this on a thread)."""
        while not stop.is_set():
            event = self.actuator.next_event(timeout=0.5)
            if event is not None:
                self.handle_event(event)
            self.check_left_open()

    # -- inside -------------------------------------------------------------------------------

    def _follow(
        self, answer: PickupAnswer, result: PickupResult, reader: Reader | None
    ) -> PickupResult:
        """Act on the acquirer's answers until the doors are open or something refuses."""
        doors: tuple[Door, ...] = ()
        for _ in range(MAX_ROUNDS):
            paid_now = False
            if answer.action == "refused":
                if doors:  # nothing more waiting: what opened stands
                    break
                return replace(result, outcome="refused", reason=answer.reason,
                               message=answer.message)  # fmt: skip
            if answer.action == "pay":
                if reader is None:
                    return replace(result, reason="payment_needs_card", message=answer.message)
                result, opened = self._pay(answer, result, reader, wait=None)
                if opened is None:
                    return replace(result, doors=doors)
                answer, paid_now = opened, True
            doors += tuple(self._open(parcel) for parcel in answer.parcels)
            if not paid_now or self.settings.release != "all" or reader is None:
                break
            # Paid for one; with release = "all" the same card is asked again for the rest.
            read = self.kernel.run(reader, Transaction(0, self.currency))
            if read.outcome is not Outcome.ONLINE_REQUEST:
                break
            try:
                answer = self.api.pickup_by_card(read.data_record, "all", str(uuid.uuid4()))
            except OnlineError:
                break
        return _door_outcome(replace(result, doors=doors))

    def _pay(
        self, answer: PickupAnswer, result: PickupResult, reader: Reader, *, wait: float | None
    ) -> tuple[PickupResult, PickupAnswer | None]:
        """A sale of exactly ``amount_due``: the card in the field (``wait`` None) or a tap.

        The ``open`` answer when approved (and the card accepted the ARPC), else None.
        """
        assert answer.parcel_id is not None and answer.amount_due is not None
        parcel, amount = answer.parcel_id, answer.amount_due
        currency = answer.currency or self.currency
        transaction = Transaction(amount, currency)
        if wait is None:
            read = self.kernel.run(reader, transaction)  # the same presentation, no new wait
        else:
            read = read_card(reader, transaction, kernel=self.kernel, wait=wait, show=self.show)
        if read.outcome is not Outcome.ONLINE_REQUEST:
            return replace(result, outcome="declined", reason=f"payment_{read.reason}",
                           message="Payment not completed: tap again", kernel=read), None  # fmt: skip
        record = None
        if self.books is not None:
            record = self.books.begin(TxKind.PARCEL_PICKUP, amount, currency,
                                      undo=lambda key: _payment_undo(self.api.terminal_id, parcel,
                                                                     key))  # fmt: skip
            record.card_read(read.masked_pan, read.par)
            # A late approval found by the status lookup has no "open" answer with it: the
            # door stays shut, so the payment is reversed, never kept.
            record.confirm_late = False
        online = go_online(reader, read, kernel=self.kernel, show=self.show,
                           submit=lambda rec, key: self.api.pay(parcel, amount, currency, rec, key),
                           reverse=lambda original: self._reverse(parcel, original),
                           record=record)  # fmt: skip
        if self.books is not None:
            self.books.flush()
            if online.reversal_item is not None and self.books.outbox.item(
                    online.reversal_item).state.value == "done":  # fmt: skip
                online = replace(online, reversal="reversed")
        decision = online.decision
        base = replace(result, kernel=read, arpc_verified=online.arpc_verified, currency=currency,
                       reversal=online.reversal)  # fmt: skip
        if decision is None:
            unanswered = _unanswered(online.reason, read)
            if online.reversal == "reversed":
                unanswered = replace(unanswered, message="Payment not confirmed and cancelled: "
                                     "the door stays shut, tap again")  # fmt: skip
            return replace(unanswered, currency=currency, reversal=online.reversal), None
        if online.outcome is not Outcome.APPROVED or decision.action != "open":
            message = decision.message
            if online.reason == "issuer_authentication_failed":
                message = "Card could not confirm the payment: the door stays shut"
            return replace(base, outcome="declined", reason=online.reason, message=message), None
        return replace(base, reason="paid", message=decision.message, paid=amount), decision

    def _reverse(self, parcel_id: str, original_key: str) -> str:
        """Undo the payment sent under ``original_key`` (go_online's ``reverse``): the card
        rejected the issuer's answer (EMV Book 3 6.5.4) or the answer was lost."""
        try:
            self.api.reverse_payment(parcel_id, original_key, str(uuid.uuid4()))
        except AcquirerRejectedError as exc:
            if exc.code == "payment_unknown":  # nothing approved under that key
                return "nothing_to_reverse"
            log.warning("reversal of the payment for %s refused: %s", parcel_id, exc.code)
            return "pending"
        except AcquirerUnavailableError as exc:
            log.warning("reversal of the payment for %s not delivered: %s", parcel_id, exc)
            return "pending"
        return "reversed"

    def _open(self, parcel: Opened) -> Door:
        unit = parcel.compartment
        try:
            self.actuator.open(unit, timeout=self.settings.door_timeout)
        except ActuatorTimeoutError as exc:
            self._report(_Watch(parcel.parcel_id, time.monotonic()), "jammed", datetime.now(UTC))
            state = exc.state.value if exc.state else "unknown"
            return Door(parcel.parcel_id, unit, "jammed", f"did not open; now {state}")
        except ActuatorError as exc:
            # Silent, disconnected or unknown: the door did not open in time, as far as the
            # acquirer is concerned (the parcel stays released for another try).
            self._report(_Watch(parcel.parcel_id, time.monotonic()), "jammed", datetime.now(UTC))
            return Door(parcel.parcel_id, unit, "out_of_order", str(exc))
        watch = _Watch(parcel.parcel_id, time.monotonic())
        with self._lock:
            self._watches[unit] = watch
        self._report(watch, "opened", datetime.now(UTC))
        return Door(parcel.parcel_id, unit, "open")

    def _report(self, watch: _Watch, event: str, at: datetime) -> None:
        watch.reported.append(event)
        key = str(uuid.uuid4())
        try:
            state = self.api.door_event(watch.parcel_id, event, at, key)
        except OnlineError as exc:
            log.warning("door event %s of %s not delivered: %s", event, watch.parcel_id, exc)
            state = f"undelivered:{_acquirer_reason(exc)}"
            if self.books is not None and isinstance(exc, AcquirerUnavailableError):
                body = {"terminal_id": self.api.terminal_id, "event": event, "at": at.isoformat()}
                self.books.outbox.add(NewItem(Request(
                    ItemKind.DOOR_EVENT, "POST", f"/v1/parcels/{watch.parcel_id}/door-events",
                    body, event), key))  # fmt: skip
                state = "queued"
        self.reported.append((watch.parcel_id, event, state))


def _payment_undo(terminal_id: str, parcel_id: str, original_key: str) -> Request:
    """The reversal of a parcel's payment by its key, for the journal's ``sent``."""
    body = {"terminal_id": terminal_id, "original_idempotency_key": original_key}
    return Request(ItemKind.REVERSAL, "POST", f"/v1/parcels/{parcel_id}/payments/reversals",
                   body, "reversal")  # fmt: skip


def _door_outcome(result: PickupResult) -> PickupResult:
    states = {d.state for d in result.doors}
    if not result.doors:
        return result
    if states == {"open"}:
        return replace(result, outcome="opened", reason="approved",
                       message=_open_message(result.doors))  # fmt: skip
    if "out_of_order" in states:
        return replace(result, outcome="out_of_order", reason="actuator_unavailable",
                       message="Locker out of order: your parcel stays safe, try again later")  # fmt: skip
    return replace(result, outcome="jammed", reason="door_jammed",
                   message="A door did not open: tap again, you will not pay twice")  # fmt: skip


def _open_message(doors: tuple[Door, ...]) -> str:
    names = ", ".join(d.compartment for d in doors)
    return f"Compartment {names} open: take your parcel and close the door"


def _acquirer_reason(exc: OnlineError) -> str:
    if isinstance(exc, AcquirerRejectedError):
        return f"acquirer_rejected:{exc.code or exc.status}"
    if isinstance(exc, AcquirerUnavailableError):
        return "acquirer_unavailable"
    return "acquirer_error"


def _unanswered(reason: str, read: KernelResult | None) -> PickupResult:
    return PickupResult("error", reason, "Locker offline: try again later", kernel=read)
