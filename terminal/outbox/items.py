"""What the outbox holds: requests the terminal owes the acquirer, and how their retries are timed.

An item is one HTTP request (method, path, JSON body) with its own idempotency key
(draft-ietf-httpapi-idempotency-key-header): sent again after a crash or a lost answer under
the same key, the acquirer replays its stored answer instead of acting twice.

Kinds are the ordering lanes: items of one kind are forwarded strictly in the order stored,
and a head that cannot be delivered now blocks only its own kind. ``action`` names what the
request is within its kind (a bike ``ride`` lane carries ``rental``, ``start``, ``cancel``,
``return`` and ``abandon`` actions, which must stay in order with one another).

Retries back off exponentially with a cap and "equal jitter" (half the delay fixed, half
random), so a fleet of terminals coming back online does not retry in step:

>>> [backoff(n, base=1.0, cap=60.0, rand=lambda: 1.0) for n in (1, 2, 3, 7, 20)]
[1.0, 2.0, 4.0, 60.0, 60.0]
>>> backoff(3, base=1.0, cap=60.0, rand=lambda: 0.0)
2.0
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "Delivery",
    "ItemKind",
    "ItemState",
    "NewItem",
    "OutboxItem",
    "Request",
    "backoff",
]


class ItemKind(StrEnum):
    """The outbox's lanes (any other string is a lane too; these are the terminal's own)."""

    REVERSAL = "reversal"
    ADVICE = "advice"
    DEFERRED_PAYMENT = "deferred_payment"
    RIDE = "ride"
    DOOR_EVENT = "door_event"


class ItemState(StrEnum):
    """Where an item stands."""

    HELD = "held"  # stored, not yet to be sent (its transaction is not committed yet)
    PENDING = "pending"  # waiting for its turn or its next attempt
    IN_FLIGHT = "in_flight"  # claimed by a forwarder (a lease); sent or about to be
    DONE = "done"  # the acquirer answered it (the answer is kept)
    FAILED = "failed"  # refused for good: parked for the operator, not retried
    CANCELLED = "cancelled"  # a held item whose transaction never committed


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request to the acquirer, without its key: what a journal keeps as an undo."""

    kind: str
    method: str
    path: str
    body: dict[str, Any]
    action: str | None = None

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "method": self.method, "path": self.path,
                           "body": self.body, "action": self.action}, sort_keys=True)  # fmt: skip

    @staticmethod
    def from_json(text: str) -> Request:
        doc = json.loads(text)
        return Request(str(doc["kind"]), str(doc["method"]), str(doc["path"]), dict(doc["body"]),
                       doc.get("action"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class NewItem:
    """An item to store: the request, its key, and what it puts at risk.

    ``amount``/``currency``: the money at risk until the item is delivered (a deferred payment
    not yet authorized, a reversal not yet made). ``account``: the card's PAR, for per-card
    offline limits. ``journal_id``: the journal transaction the item belongs to.
    """

    request: Request
    idempotency_key: str
    amount: int = 0
    currency: str | None = None
    account: str | None = None
    journal_id: int | None = None
    deferred: bool = False

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("an amount at risk is never negative")
        if self.amount and not self.currency:
            raise ValueError("an amount at risk needs its currency")


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One stored item, as it stands."""

    seq: int
    kind: str
    action: str
    method: str
    path: str
    body: dict[str, Any]
    idempotency_key: str
    amount: int
    currency: str | None
    account: str | None
    journal_id: int | None
    deferred: bool
    state: ItemState
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str | None
    answer: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the body is left out: it may hold a card's data record)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "action": self.action,
            "method": self.method,
            "path": self.path,
            "idempotency_key": self.idempotency_key,
            "amount": self.amount,
            "currency": self.currency,
            "journal_id": self.journal_id,
            "deferred": self.deferred,
            "state": self.state.value,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """The acquirer's HTTP answer to one item: status, JSON body, and its problem code if any."""

    status: int
    body: Mapping[str, Any] | None = None

    @property
    def code(self) -> str | None:
        """The problem's ``code`` (RFC 9457 problem details carry one in this project)."""
        code = self.body.get("code") if self.body else None
        return str(code) if code is not None else None


def backoff(attempts: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: ``base * 2**(attempts-1)``,
    at most ``cap``, then "equal jitter": half of it plus a random share of the other half."""
    delay = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 62))
    return delay / 2 + delay / 2 * rand()
