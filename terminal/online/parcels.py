"""The acquirer's parcel endpoints, as the locker terminal calls them (``acquirer.parcels.api``).

- ``POST /v1/parcels/pickups``: a verified tap (account verification, amount 0) or a pickup
  code -> ``open`` (the compartments to open), ``pay`` (a sale for ``amount_due`` first) or
  ``refused``.
- ``POST /v1/parcels/{id}/payments``: that sale, bound to the parcel -> ``open`` or ``refused``.
- ``POST /v1/parcels/{id}/payments/reversals``: undo that sale by its idempotency key (the
  card rejected the ARPC, or the answer was lost) -> the parcel ``waiting`` again.
- ``POST /v1/parcels/{id}/door-events``: ``opened``, ``closed``, ``jammed``, ``left_open``.

Calls go through :class:`~terminal.online.AcquirerClient` like every other request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from terminal.online.bikes import parsed, tag91
from terminal.online.client import AcquirerClient


@dataclass(frozen=True, slots=True)
class Opened:
    """A parcel whose compartment the locker opens."""

    parcel_id: str
    compartment: str


@dataclass(frozen=True, slots=True)
class PickupAnswer:
    """What the locker does next (an :class:`~terminal.tap.OnlineDecision`: ``approved`` is
    any action but ``refused``)."""

    action: str
    reason: str
    message: str
    parcels: tuple[Opened, ...]
    parcel_id: str | None
    amount_due: int | None
    currency: str | None
    issuer_authentication_data: bytes | None
    authorization_id: str | None

    @property
    def approved(self) -> bool:
        return self.action != "refused"

    @staticmethod
    def of(doc: dict[str, Any]) -> PickupAnswer:
        action = str(doc["action"])
        if action not in ("open", "pay", "refused"):
            raise ValueError(f"unknown action {action!r}")
        answer = PickupAnswer(
            action=action,
            reason=str(doc["reason"]),
            message=str(doc["message"]),
            parcels=tuple(
                Opened(str(p["parcel_id"]), str(p["compartment"])) for p in doc["parcels"]
            ),
            parcel_id=doc.get("parcel_id"),
            amount_due=doc.get("amount_due"),
            currency=doc.get("currency"),
            issuer_authentication_data=tag91(doc.get("issuer_authentication_data")),
            authorization_id=doc.get("authorization_id"),
        )
        if action == "pay" and (not answer.parcel_id or not isinstance(answer.amount_due, int)):
            raise ValueError("a pay answer without parcel_id and amount_due")
        return answer


class ParcelApi:
    """The locker terminal's calls to the acquirer."""

    def __init__(self, client: AcquirerClient, terminal_id: str) -> None:
        self.client = client
        self.terminal_id = terminal_id

    def pickup_by_card(self, emv_data: bytes, release: str, key: str) -> PickupAnswer:
        body = {"terminal_id": self.terminal_id, "emv_data": emv_data.hex().upper(),
                "release": release}  # fmt: skip
        return self._answer("/v1/parcels/pickups", body, key)

    def pickup_by_code(self, code: str, release: str, key: str) -> PickupAnswer:
        body = {"terminal_id": self.terminal_id, "pickup_code": code, "release": release}
        return self._answer("/v1/parcels/pickups", body, key)

    def pay(
        self, parcel_id: str, amount: int, currency: str, emv_data: bytes, key: str
    ) -> PickupAnswer:
        body = {"terminal_id": self.terminal_id, "amount": amount, "currency": currency,
                "emv_data": emv_data.hex().upper()}  # fmt: skip
        return self._answer(f"/v1/parcels/{parcel_id}/payments", body, key)

    def reverse_payment(self, parcel_id: str, original_key: str, key: str) -> str:
        """Reverse the payment sent under ``original_key``; the parcel's state (``waiting``)."""
        body = {"terminal_id": self.terminal_id, "original_idempotency_key": original_key}
        doc = self.client.post_json(f"/v1/parcels/{parcel_id}/payments/reversals", body, key)
        return parsed(doc, lambda d: str(d["state"]))

    def door_event(self, parcel_id: str, event: str, at: datetime, key: str) -> str:
        """Report a door event; the parcel's state after it (``collected`` once closed)."""
        body = {"terminal_id": self.terminal_id, "event": event, "at": at.isoformat()}
        doc = self.client.post_json(f"/v1/parcels/{parcel_id}/door-events", body, key)
        return parsed(doc, lambda d: str(d["state"]))

    def _answer(self, path: str, body: dict[str, Any], key: str) -> PickupAnswer:
        return parsed(self.client.post_json(path, body, key), PickupAnswer.of)
