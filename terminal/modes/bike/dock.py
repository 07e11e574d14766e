"""A bike dock: tap-on unlocks a bike against a deposit hold, tap-off or docking ends the ride.

Every tap is the one online tap of :mod:`terminal.tap` with the dock's own request:

- **Deposit** (:meth:`BikeDock.start`): the operator's tariff deposit, from
  ``GET /v1/bikes/tariff`` when the dock starts, kept in a durable cache (``bike.tariff``)
  for a start while the acquirer is out of reach; with neither, the dock refuses to start.
  ``bike.deposit`` overrides it; it must equal the tariff's (the acquirer answers
  ``deposit_mismatch`` otherwise, and a dock without the override then fetches the tariff
  again before its next tap-on).
- **Tap-on** (:meth:`BikeDock.tap_on`): the kernel asks the card for the tariff's deposit,
  the data record goes to ``POST /v1/rentals`` (a pre-authorization),
  the card verifies the issuer's ARPC (EMV Book 3 6.5.4). Approved, the dock's lock is
  commanded open and must *report* open within ``bike.unlock_timeout``: then
  ``POST /v1/rentals/{id}/start``. A lock that does not confirm (timeout, jam, silent or
  unknown controller) or a card that rejects the ARPC cancels the rental
  (``POST /v1/rentals/{id}/cancel`` with ``lock_timeout``, ``actuator_error`` or
  ``card_rejected_arpc``), which voids the hold. A tap-on whose answer was lost is undone
  later from the queue: replayed under its key, its rental cancelled with ``answer_lost``.
  Refusals (``par_denied`` with what the rider owes, ``rental_active``, declines) show the
  acquirer's message.
- **Return**: a tap-off at any dock of the operator (:meth:`BikeDock.tap_off`: an account
  verification, amount 0, identifies the rider by PAR) or the lock's ``locked`` event with
  the docked bike's id (:meth:`BikeDock.docked`), both ``POST /v1/rentals/returns``; the
  answer is the fare, what the hold paid and any debt.
- **Offline** (no connection, or no answer in time): transit's deferred authorization,
  see :mod:`terminal.modes.bike.queue`. The dock unlocks for a PAR not on its cached deny list,
  within ``bike.max_offline_rides`` and one unsettled ride per account, and queues the ride;
  returns are queued too, and :meth:`BikeDock.sync` sends them in order once online.

Requests a dock must not lose (start, cancel, offline rides, returns) go through the durable
queue whenever they cannot be delivered at once, so nothing is dropped by a lost link.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from emvcore.currency import format_minor_units
from terminal.actuators import Actuator, ActuatorEvent, EventKind
from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    ActuatorError,
    ActuatorTimeoutError,
    SettingsError,
)
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.modes.bike.queue import DenyCache, RideQueue, TariffCache
from terminal.modes.settings import BikeSettings
from terminal.online.bikes import (
    BikeApi,
    BikeTariff,
    RentalDecision,
    ReturnReceipt,
    rental_body,
    return_body,
)
from terminal.readers.base import Reader
from terminal.tap import Show, go_online, read_card

log = logging.getLogger(__name__)

#: Outcomes after which the rider has what they came for.
DONE = frozenset({"unlocked", "unlocked_offline", "returned", "return_queued"})

_OFFLINE_MESSAGES = {
    "offline_disabled": "Dock offline: rides cannot start now",
    "par_missing": "Dock offline: this card cannot be checked, try another",
    "par_denied_offline": "Unpaid rides on this card: pay the debt to ride again",
    "offline_ride_pending": "Dock offline: one ride per card until the dock is back online",
    "offline_cap_reached": "Dock offline: no more rides can start now",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RideResult:
    """How one tap-on, tap-off or docking ended (for the display, a kiosk app, a log)."""

    action: str  # "unlock" or "return"
    outcome: str  # see DONE; else refused, cancelled, no_ride, not_read, error
    reason: str
    message: str
    dock: str
    bike: str | None = None
    rental_id: str | None = None
    receipt: ReturnReceipt | None = None
    kernel: KernelResult | None = None
    arpc_verified: bool | None = None
    offline: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in DONE

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the masked token and the PAR, never a PAN)."""
        k, r = self.kernel, self.receipt
        money = (lambda v: format_minor_units(v, r.currency)) if r else None
        return {
            "action": self.action,
            "outcome": self.outcome,
            "reason": self.reason,
            "message": self.message,
            "dock": self.dock,
            "bike": self.bike,
            "rental_id": self.rental_id,
            "offline": self.offline,
            "token_masked": k.masked_pan if k else None,
            "par": k.par if k else None,
            "atc": k.atc if k else None,
            "arpc_verified": self.arpc_verified,
            "fare": r.fare if r else None,
            "captured": r.captured if r else None,
            "debt": r.debt if r else None,
            "currency": r.currency if r else None,
            "minutes": r.minutes if r else None,
            "fare_text": money(r.fare) if money and r else None,
        }


class BikeDock:
    """The dock terminal's actions over its docks (``bike.docks``) and their lock controller."""

    def __init__(
        self,
        api: BikeApi,
        actuator: Actuator,
        settings: BikeSettings,
        *,
        currency: str,
        queue: RideQueue,
        deny: DenyCache,
        tariff: TariffCache | None = None,
        kernel: Kernel | None = None,
        show: Show | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.api, self.actuator, self.settings = api, actuator, settings
        self.currency = currency
        self.queue, self.deny, self.tariff = queue, deny, tariff
        self._deposit: int | None = None
        self.kernel = kernel or Kernel()
        self.show: Show = show or (lambda ui: None)
        #: Autorun (Book A 5.2): the amount-0 taps start at Start B, pre-processed once.
        self.autorun = self.kernel.autorun(Transaction(0, currency))
        self.clock = clock
        #: Which bike stands in which dock, as the locks reported (``locked`` events).
        self.bikes: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- taps ---------------------------------------------------------------------------------

    def tap(self, reader: Reader, *, wait: float | None) -> RideResult:
        """A tap at the terminal: rent the bike of the first dock holding one, else a tap-off.

        A rider already riding who taps at a dock with a bike is taken as a tap-off (the
        acquirer answers ``rental_active``; the same card is asked again for amount 0).
        """
        with self._lock:
            dock, bike = next(
                ((d, self.bikes[d]) for d in self.settings.docks if d in self.bikes),
                (self.settings.docks[0], None),
            )
        if bike is None:
            return self.tap_off(reader, dock, wait=wait)
        result = self.tap_on(reader, dock, bike, wait=wait)
        if result.outcome != "refused" or result.reason != "rental_active":
            return result
        # The card is still in the field: a second transaction, amount 0, is the tap-off.
        read = self.kernel.run(reader, Transaction(0, self.currency))
        if read.outcome is not Outcome.ONLINE_REQUEST:
            return result
        return self._give_back(dock, emv_data=read.data_record, kernel=read)

    def tap_on(self, reader: Reader, dock: str, bike: str, *, wait: float | None) -> RideResult:
        """Rent ``bike`` from ``dock`` to the next card presented (see the module docstring)."""
        deposit = self.deposit()
        self._check_dock(dock)
        read = read_card(reader, Transaction(deposit, self.currency), kernel=self.kernel,
                         wait=wait, show=self.show)  # fmt: skip
        if read.outcome is not Outcome.ONLINE_REQUEST:
            return RideResult("unlock", "not_read", read.reason, read.ui.text, dock, bike,
                              kernel=read)  # fmt: skip
        self._forward_quietly()
        sent: dict[str, Any] = {}
        maybe_delivered: list[str] = []

        def submit(data_record: bytes, key: str) -> RentalDecision:
            sent.update(rental_body(self.api.terminal_id, dock, bike, deposit, self.currency,
                                    data_record))  # fmt: skip
            return self.api.create(sent, key)

        def lost(key: str) -> str:
            maybe_delivered.append(key)
            return "queued"

        online = go_online(reader, read, kernel=self.kernel, submit=submit, reverse=lost,
                           show=self.show)  # fmt: skip
        decision = online.decision
        if online.reason == "acquirer_rejected:deposit_mismatch":
            self._deposit = None  # the tariff changed: fetch it again before the next tap-on
        if online.reason == "acquirer_unavailable":
            if maybe_delivered:  # whatever the acquirer did under that key is undone later
                self.queue.add("abandon", "/v1/rentals", sent, maybe_delivered[0])
            return self._offline_unlock(read, dock, bike, deposit)
        if decision is None:
            return RideResult("unlock", "error", online.reason,
                              "Dock out of service: no ride started", dock, bike, kernel=read)  # fmt: skip
        result = RideResult("unlock", "refused", decision.reason, decision.message, dock, bike,
                            decision.rental_id, kernel=read, arpc_verified=online.arpc_verified)  # fmt: skip
        if online.reason == "issuer_authentication_failed" and decision.rental_id:
            # The card does not accept the answer as its issuer's: no unlock, the hold goes.
            self._deliver("cancel", f"/v1/rentals/{decision.rental_id}/cancel",
                          {"terminal_id": self.api.terminal_id, "reason": "card_rejected_arpc"})  # fmt: skip
            return _replace(result, outcome="cancelled", reason="card_rejected_arpc",
                            message="Card could not confirm the payment: no ride, deposit released")  # fmt: skip
        if online.outcome is not Outcome.APPROVED or not decision.rental_id:
            return result
        return self._unlock(result, decision.rental_id)

    def tap_off(self, reader: Reader, dock: str, *, wait: float | None) -> RideResult:
        """End the ride of the next card presented (an account verification, amount 0)."""
        self._check_dock(dock)
        read = read_card(reader, Transaction(0, self.currency), kernel=self.kernel, wait=wait,
                         show=self.show, prepared=self.autorun)  # fmt: skip
        if read.outcome is not Outcome.ONLINE_REQUEST:
            return RideResult("return", "not_read", read.reason, read.ui.text, dock, kernel=read)
        return self._give_back(dock, emv_data=read.data_record, kernel=read)

    def docked(self, event: ActuatorEvent) -> RideResult | None:
        """A lock's event: a docked bike (``locked`` with its id) ends that bike's ride."""
        if event.kind is not EventKind.LOCKED or event.unit not in self.settings.docks:
            return None
        if not event.bike_id:
            log.warning("dock %s locked without a bike id: no return", event.unit)
            return None
        with self._lock:
            self.bikes[event.unit] = event.bike_id
        ended = min(event.at, self.clock())
        return self._give_back(event.unit, bike_id=event.bike_id, ended_at=ended)

    def watch(self, stop: threading.Event, report: Callable[[RideResult], None]) -> None:
        """Serve the locks' events until ``stop`` is set (a kiosk runs this on a thread)."""
        while not stop.is_set():
            event = self.actuator.next_event(timeout=0.5)
            if event is None:
                continue
            if event.kind is EventKind.FAULT:
                log.warning("dock %s: %s", event.unit, event.detail)
            result = self.docked(event)
            if result is not None:
                report(result)

    # -- online again -------------------------------------------------------------------------

    def sync(self) -> bool:
        """Send what the queue holds, then refresh the deny list; True when online."""
        forwarded = self.queue.forward(self.api)
        if forwarded.error is not None:
            return False
        try:
            pars = frozenset(self.api.deny_list())
        except AcquirerUnavailableError:
            return False
        except AcquirerRejectedError as exc:
            log.warning("deny list not refreshed: %s", exc)
            return True
        self.deny.replace(pars)
        return True

    def start(self) -> int:
        """Learn the deposit a tap-on holds (see the module docstring) and return it.

        :class:`SettingsError` when it cannot be known: no ``bike.deposit``, the acquirer out
        of reach and nothing cached, or the acquirer has no tariff for this dock.
        """
        if self.settings.deposit is not None:
            return self.settings.deposit
        tariff: BikeTariff | None
        try:
            tariff = self.api.tariff()
        except (AcquirerUnavailableError, AcquirerRejectedError) as exc:
            if isinstance(exc, AcquirerRejectedError) and exc.status < 500:
                raise SettingsError(
                    f"the acquirer gives no bike tariff for terminal {self.api.terminal_id} "
                    f"({exc.code or exc.status}): set the operator's tariff "
                    "(tap-acquirer bikes tariff set)"
                ) from None
            tariff = None if self.tariff is None else self.tariff.load()
            if tariff is None:
                raise SettingsError(
                    "the acquirer is out of reach and no tariff is cached, so the deposit to "
                    "hold is unknown: start the dock once online, or set bike.deposit"
                ) from None
            log.warning("acquirer out of reach (%s): the cached tariff's deposit is used", exc)
        else:
            if self.tariff is not None:
                self.tariff.store(tariff)
        if tariff.currency != self.currency:
            raise SettingsError(
                f"the operator's tariff is in {tariff.currency}, this terminal in "
                f"{self.currency}: set [terminal] currency"
            )
        self._deposit = tariff.deposit
        return tariff.deposit

    def deposit(self) -> int:
        """The deposit a tap-on holds: ``bike.deposit``, else the tariff's (:meth:`start`)."""
        if self.settings.deposit is not None:
            return self.settings.deposit
        return self._deposit if self._deposit is not None else self.start()

    # -- inside -------------------------------------------------------------------------------

    def _check_dock(self, dock: str) -> None:
        if dock not in self.settings.docks:
            known = ", ".join(self.settings.docks)
            raise SettingsError(
                f"dock {dock!r} is not served by this terminal (bike.docks: {known})"
            )

    def _open(self, dock: str) -> str | None:
        """Open the dock's lock; None when it reported open, else the cancel reason."""
        try:
            self.actuator.open(dock, timeout=self.settings.unlock_timeout)
        except ActuatorTimeoutError as exc:
            log.warning("dock %s: %s", dock, exc)
            return "lock_timeout"
        except ActuatorError as exc:
            log.warning("dock %s: actuator failed: %s", dock, exc)
            return "actuator_error"
        with self._lock:
            self.bikes.pop(dock, None)
        return None

    def _unlock(self, result: RideResult, rental_id: str) -> RideResult:
        failed = self._open(result.dock)
        if failed is None:
            self._deliver("start", f"/v1/rentals/{rental_id}/start",
                          {"terminal_id": self.api.terminal_id})  # fmt: skip
            return _replace(result, outcome="unlocked", message="Take your bike")
        self._deliver("cancel", f"/v1/rentals/{rental_id}/cancel",
                      {"terminal_id": self.api.terminal_id, "reason": failed})  # fmt: skip
        return _replace(result, outcome="cancelled", reason=failed,
                        message="The lock did not open: no ride, your deposit is released")  # fmt: skip

    def _offline_unlock(self, read: KernelResult, dock: str, bike: str, deposit: int) -> RideResult:
        """Deferred authorization: unlock on the local checks, queue the ride for later."""
        par = read.par
        reason = None
        if self.settings.max_offline_rides == 0:
            reason = "offline_disabled"
        elif par is None:
            reason = "par_missing"
        elif par in self.deny:
            reason = "par_denied_offline"
        elif self.queue.offline_rides(par) > 0:
            reason = "offline_ride_pending"
        elif self.queue.offline_rides() >= self.settings.max_offline_rides:
            reason = "offline_cap_reached"
        base = RideResult("unlock", "refused", reason or "", "", dock, bike, kernel=read,
                          offline=True)  # fmt: skip
        if reason is not None:
            return _replace(base, message=_OFFLINE_MESSAGES[reason])
        failed = self._open(dock)
        if failed is not None:  # no hold was taken: nothing to cancel
            return _replace(base, outcome="cancelled", reason=failed,
                            message="The lock did not open: no ride")  # fmt: skip
        body = rental_body(self.api.terminal_id, dock, bike, deposit, self.currency,
                           read.data_record, started_at=self.clock())  # fmt: skip
        self.queue.add("rental", "/v1/rentals", body, str(uuid.uuid4()), par)
        return _replace(base, outcome="unlocked_offline", reason="offline",
                        message="Take your bike (dock offline: the ride is settled later)")  # fmt: skip

    def _give_back(
        self,
        dock: str,
        *,
        bike_id: str | None = None,
        emv_data: bytes | None = None,
        ended_at: datetime | None = None,
        kernel: KernelResult | None = None,
    ) -> RideResult:
        body = return_body(self.api.terminal_id, dock, bike_id=bike_id, emv_data=emv_data)
        late = {**body, "ended_at": (ended_at or self.clock()).isoformat()}
        if ended_at is not None:
            body = late
        base = RideResult("return", "return_queued", "offline",
                          "Bike returned (dock offline: the fare is settled later)", dock,
                          bike_id, kernel=kernel, offline=True)  # fmt: skip
        key = str(uuid.uuid4())
        if not self._forward_quietly():  # earlier rides first: the return must find its ride
            self.queue.add("return", "/v1/rentals/returns", late, key)
            return base
        try:
            receipt = self.api.give_back(body, key)
        except AcquirerUnavailableError as exc:
            self.queue.add("return", "/v1/rentals/returns", body if exc.maybe_delivered else late,
                           key)  # fmt: skip
            return base
        except AcquirerRejectedError as exc:
            if exc.code == "rental_unknown":
                return _replace(base, outcome="no_ride", reason="rental_unknown",
                                message="No ride to end for this card or bike", offline=False)  # fmt: skip
            return _replace(base, outcome="error", reason=f"acquirer_rejected:{exc.code}",
                            message="Dock out of service: try another dock", offline=False)  # fmt: skip
        with self._lock:
            if bike_id is None:
                self.bikes.pop(dock, None)
        return _replace(base, outcome="returned", reason="returned", message=receipt.message,
                        rental_id=receipt.rental_id, receipt=receipt, offline=False)  # fmt: skip

    def _forward_quietly(self) -> bool:
        """Send queued requests first; True when the queue is empty afterwards."""
        if not self.queue.pending():
            return True
        return self.queue.forward(self.api).pending == 0

    def _deliver(self, kind: str, path: str, body: dict[str, Any]) -> None:
        """Send a request the acquirer must get; queue it durably when it cannot be sent now."""
        key = str(uuid.uuid4())
        if self._forward_quietly():
            try:
                self.api.client.post_json(path, body, key)
                return
            except AcquirerUnavailableError:
                pass
            except AcquirerRejectedError as exc:
                log.warning("%s refused by the acquirer: %s", kind, exc)
                return
        self.queue.add(kind, path, body, key)


def _replace(result: RideResult, **changes: Any) -> RideResult:
    return replace(result, **changes)
