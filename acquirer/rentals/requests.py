"""Idempotency of rental and debt requests, and what their services share.

Every state-changing bike request carries an ``Idempotency-Key`` and behaves as the payment
operations do (draft-ietf-httpapi-idempotency-key-header section 2.6): the request's
canonical form is hashed; the first answer is stored with the change it made
(:meth:`~acquirer.rentals.rows.RentalStore.apply_rental_change`, one transaction) and a retry gets it
back byte for byte; the same key with another request is refused; a retry while the first
still runs in this process is answered 409 (:class:`~acquirer.idempotency.InFlight`).

The authorizations a bike request makes (the deposit's pre-authorization, a tap-off's account
verification, a debt's sale) are recorded under the terminal and ``<kind>:<key>``, so a retry
after a crash between the authorization and the rental's write replays the same
authorization instead of asking the card's account twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from acquirer.errors import TariffMissingError
from acquirer.idempotency import InFlight, StoredAnswer, replay, request_hash
from acquirer.ids import new_id
from acquirer.payments.rows import PaymentRow
from acquirer.registry import MerchantRow
from acquirer.rentals.rows import BikeRequest, DebtRow, RentalChange, RentalStore
from acquirer.rentals.rows import RentalRow as RentalRow
from emvcore.currency import format_minor_units

Decide = Callable[[RentalRow | None, PaymentRow | None, DebtRow | None], RentalChange]


def dumps(body: dict[str, Any]) -> str:
    """Compact JSON, in the order the fields were given."""
    return json.dumps(body, separators=(",", ":"))


def money(amount: int, currency_code: str) -> str:
    """An amount for a rider's eyes: ``12.40 EUR``."""
    return format_minor_units(amount, currency_code)


class BikeRequests:
    """Records bike requests idempotently in a :class:`~acquirer.payments.store.PaymentStore`."""

    def __init__(
        self, store: RentalStore, in_flight: InFlight, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.in_flight = in_flight
        self.clock = clock

    def request(
        self, kind: str, terminal_id: str, idempotency_key: str, fields: dict[str, Any]
    ) -> BikeRequest:
        """The request row of ``kind`` with these (canonical, JSON-able) fields."""
        now = self.clock()
        return BikeRequest(
            id=new_id("req_", now),
            terminal_id=terminal_id,
            idempotency_key=idempotency_key,
            kind=kind,
            request_hash=request_hash({"kind": kind, "terminal_id": terminal_id, **fields}),
            created_at=now,
        )

    def replay(self, request: BikeRequest) -> StoredAnswer | None:
        """The stored answer to this request's key, or ``None`` if the key is new."""
        row = self.store.find_bike_request(request.terminal_id, request.idempotency_key)
        if row is None:
            return None
        return replay(row.request_hash, request.request_hash, row.response_json)

    def apply(
        self,
        request: BikeRequest,
        decide: Decide,
        *,
        rental_id: str | None = None,
        debt_id: str | None = None,
    ) -> StoredAnswer:
        """Run ``decide`` in the store's transaction; replay if the key won a race meanwhile."""
        result = self.store.apply_rental_change(
            request, decide, rental_id=rental_id, debt_id=debt_id
        )
        return replay(
            result.row.request_hash if result.replayed else request.request_hash,
            request.request_hash,
            result.row.response_json,
            replayed=result.replayed,
        )

    def record(self, request: BikeRequest, response_json: str) -> StoredAnswer:
        """Record an answer that changes nothing else (a refusal)."""
        return self.apply(request, lambda *_: RentalChange(response_json))

    def merchant(self, terminal_id: str) -> MerchantRow:
        """The operator (merchant) of a registered terminal."""
        terminal = self.store.get_terminal(terminal_id)
        merchant = None if terminal is None else self.store.get_merchant(terminal.merchant_id)
        if merchant is None:
            raise TariffMissingError(
                f"terminal {terminal_id} is not registered with an operator (merchant)"
            )
        return merchant
