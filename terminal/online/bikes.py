"""The acquirer's bike endpoints, as the dock terminal calls them (see ``acquirer.rentals.api``).

- ``POST /v1/rentals``: a tap-on; the deposit's pre-authorization and the rental, or a
  refusal (``par_denied`` with the amount owed, ``rental_active``, any decline reason).
  With ``started_at`` it settles a ride the dock unlocked offline (deferred authorization).
- ``POST /v1/rentals/{id}/start`` and ``/cancel``: the lock opened, or it did not.
- ``POST /v1/rentals/returns``: a tap-off (``emv_data``) or a docked bike (``bike_id``).
- ``GET /v1/deny-list``: the PARs the dock refuses when it is offline.
- ``GET /v1/bikes/tariff``: the operator's tariff; its deposit is what a tap-on holds.

Every call goes through :class:`~terminal.online.AcquirerClient` (one ``_post`` with its
idempotency key, one retry when nothing was sent, errors mapped into :mod:`terminal.errors`).
Answers are checked here: a malformed one is an
:class:`~terminal.errors.AcquirerRejectedError` with code ``malformed_response``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from terminal.errors import AcquirerRejectedError
from terminal.online.client import AcquirerClient

T = TypeVar("T")


def parsed(doc: dict[str, Any], build: Callable[[dict[str, Any]], T]) -> T:
    """``build(doc)``, a missing or mistyped field being a malformed answer."""
    try:
        return build(doc)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise AcquirerRejectedError(
            "the acquirer's answer does not have the expected fields",
            status=200,
            code="malformed_response",
        ) from None


def flag(value: object) -> bool:
    """A JSON boolean (``bool("false")`` is True: only a real boolean may approve)."""
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def tag91(value: object) -> bytes | None:
    """The issuer authentication data (tag 91) from its hexadecimal form."""
    return bytes.fromhex(str(value)) if value else None


@dataclass(frozen=True, slots=True)
class RentalDecision:
    """The acquirer's answer to a tap-on (an :class:`~terminal.tap.OnlineDecision`)."""

    rental_id: str | None
    approved: bool
    reason: str
    message: str
    issuer_authentication_data: bytes | None
    authorization_id: str | None
    par: str | None
    state: str | None
    deposit: int
    currency: str

    @staticmethod
    def of(doc: dict[str, Any]) -> RentalDecision:
        return RentalDecision(
            rental_id=doc["rental_id"],
            approved=flag(doc["approved"]),
            reason=str(doc["reason"]),
            message=str(doc["message"]),
            issuer_authentication_data=tag91(doc.get("issuer_authentication_data")),
            authorization_id=doc.get("authorization_id"),
            par=doc.get("par"),
            state=doc.get("state"),
            deposit=int(doc["deposit"]),
            currency=str(doc["currency"]),
        )


@dataclass(frozen=True, slots=True)
class BikeTariff:
    """The operator's tariff (``GET /v1/bikes/tariff``); amounts in minor units."""

    merchant_id: str
    currency: str
    deposit: int
    unlock_fee: int
    per_started_minute: int
    free_minutes: int
    daily_cap: int | None
    max_duration_minutes: int
    lost_bike_charge: int

    @staticmethod
    def of(doc: dict[str, Any]) -> BikeTariff:
        def amount(key: str) -> int:
            value = doc[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} is not a number of minor units")
            return value

        cap = doc["daily_cap"]
        tariff = BikeTariff(
            merchant_id=str(doc["merchant_id"]),
            currency=str(doc["currency"]),
            deposit=amount("deposit"),
            unlock_fee=amount("unlock_fee"),
            per_started_minute=amount("per_started_minute"),
            free_minutes=amount("free_minutes"),
            daily_cap=None if cap is None else amount("daily_cap"),
            max_duration_minutes=amount("max_duration_minutes"),
            lost_bike_charge=amount("lost_bike_charge"),
        )
        if tariff.deposit < 1:
            raise ValueError("a deposit of nothing")
        return tariff


@dataclass(frozen=True, slots=True)
class ReturnReceipt:
    """The price of a ride, what the hold paid, and what the rider still owes."""

    rental_id: str
    fare: int
    captured: int
    debt: int
    debt_id: str | None
    currency: str
    minutes: int
    lost: bool
    message: str

    @staticmethod
    def of(doc: dict[str, Any]) -> ReturnReceipt:
        return ReturnReceipt(
            rental_id=str(doc["rental_id"]),
            fare=int(doc["fare"]),
            captured=int(doc["captured"]),
            debt=int(doc["debt"]),
            debt_id=doc.get("debt_id"),
            currency=str(doc["currency"]),
            minutes=int(doc["minutes"]),
            lost=flag(doc["lost"]),
            message=str(doc["message"]),
        )


def rental_body(
    terminal_id: str,
    dock_id: str,
    bike_id: str,
    amount: int,
    currency: str,
    emv_data: bytes,
    started_at: datetime | None = None,
) -> dict[str, Any]:
    """The body of ``POST /v1/rentals`` (``started_at``: an offline unlock being settled)."""
    body: dict[str, Any] = {
        "terminal_id": terminal_id,
        "dock_id": dock_id,
        "bike_id": bike_id,
        "amount": amount,
        "currency": currency,
        "emv_data": emv_data.hex().upper(),
    }
    if started_at is not None:
        body["started_at"] = started_at.isoformat()
    return body


def return_body(
    terminal_id: str,
    dock_id: str,
    *,
    bike_id: str | None = None,
    emv_data: bytes | None = None,
    ended_at: datetime | None = None,
) -> dict[str, Any]:
    """The body of ``POST /v1/rentals/returns`` (a tap-off, a docked bike, or both)."""
    body: dict[str, Any] = {"terminal_id": terminal_id, "dock_id": dock_id}
    if bike_id is not None:
        body["bike_id"] = bike_id
    if emv_data is not None:
        body["emv_data"] = emv_data.hex().upper()
    if ended_at is not None:
        body["ended_at"] = ended_at.isoformat()
    return body


class BikeApi:
    """The dock terminal's calls to the acquirer."""

    def __init__(self, client: AcquirerClient, terminal_id: str) -> None:
        self.client = client
        self.terminal_id = terminal_id

    def create(self, body: dict[str, Any], key: str) -> RentalDecision:
        """``POST /v1/rentals`` with a body from :func:`rental_body`."""
        return parsed(self.client.post_json("/v1/rentals", body, key), RentalDecision.of)

    def start(self, rental_id: str, key: str) -> str:
        """The lock reported open: the rental's new state (``riding``)."""
        doc = self.client.post_json(
            f"/v1/rentals/{rental_id}/start", {"terminal_id": self.terminal_id}, key
        )
        return parsed(doc, lambda d: str(d["state"]))

    def cancel(self, rental_id: str, reason: str, key: str) -> str:
        """The bike never left (``lock_timeout``, ``card_rejected_arpc``, ``actuator_error``,
        ``answer_lost``): the hold is voided; the rental's new state (``cancelled``)."""
        body = {"terminal_id": self.terminal_id, "reason": reason}
        doc = self.client.post_json(f"/v1/rentals/{rental_id}/cancel", body, key)
        return parsed(doc, lambda d: str(d["state"]))

    def give_back(self, body: dict[str, Any], key: str) -> ReturnReceipt:
        """``POST /v1/rentals/returns`` with a body from :func:`return_body`."""
        return parsed(self.client.post_json("/v1/rentals/returns", body, key), ReturnReceipt.of)

    def tariff(self) -> BikeTariff:
        """``GET /v1/bikes/tariff``: the tariff of this dock's operator."""
        doc = self.client.get_json("/v1/bikes/tariff", {"terminal_id": self.terminal_id})
        return parsed(doc, BikeTariff.of)

    def deny_list(self) -> Iterator[str]:
        """Every PAR on the acquirer's deny list, page after page."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"terminal_id": self.terminal_id, "limit": 200}
            if cursor is not None:
                params["cursor"] = cursor
            doc = self.client.get_json("/v1/deny-list", params)
            items, cursor = parsed(doc, lambda d: ([str(i["par"]) for i in d["items"]],
                                                   d["next_cursor"]))  # fmt: skip
            yield from items
            if cursor is None:
                return
