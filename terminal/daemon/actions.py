"""What a kiosk asks the terminal to do: an action, and its final-once state machine.

The states follow Stripe's reader actions and Square's terminal checkouts::

    pending ──> waiting_for_card ──> processing ──> completed
       │              │                  ├───────> cancelled   (before the authorization left)
       │              │                  └───────> failed
       │              └──> cancelled | failed
       └──> processing | cancelled | failed        (a refund needs no card)

``completed``, ``cancelled`` and ``failed`` are final: once an action reaches one, nothing
changes it (:meth:`Action.advance` refuses). ``completed`` and ``cancelled`` are
authoritative: a cancel that loses the race to an approval leaves the action ``completed``
with ``cancel_result = "too_late"``.

>>> can_follow(ActionState.PENDING, ActionState.WAITING_FOR_CARD)
True
>>> can_follow(ActionState.COMPLETED, ActionState.CANCELLED)
False
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = ["Action", "ActionKind", "ActionState", "CancelResult", "can_follow", "failed",
           "new_action_id"]


class ActionKind(StrEnum):
    """What an action does."""

    PAYMENT = "payment"
    REFUND = "refund"
    PREAUTHORIZATION = "preauthorization"
    BIKE_UNLOCK = "bike_unlock"
    PARCEL_PICKUP = "parcel_pickup"


class ActionState(StrEnum):
    """Where an action stands."""

    PENDING = "pending"
    WAITING_FOR_CARD = "waiting_for_card"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (ActionState.COMPLETED, ActionState.CANCELLED, ActionState.FAILED)


class CancelResult(StrEnum):
    """What a cancel request achieved."""

    CANCELLED = "cancelled"  # honoured: nothing was sent, nothing is charged
    TOO_LATE = "too_late"  # the authorization had left: the action completes with its answer


_S = ActionState
_NEXT: dict[ActionState, frozenset[ActionState]] = {
    _S.PENDING: frozenset({_S.WAITING_FOR_CARD, _S.PROCESSING, _S.CANCELLED, _S.FAILED}),
    _S.WAITING_FOR_CARD: frozenset({_S.PROCESSING, _S.CANCELLED, _S.FAILED}),
    _S.PROCESSING: frozenset({_S.COMPLETED, _S.CANCELLED, _S.FAILED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.FAILED: frozenset(),
}


def can_follow(current: ActionState, new: ActionState) -> bool:
    """Whether ``current -> new`` is a move of the state machine."""
    return new in _NEXT[current]


def new_action_id() -> str:
    """A fresh action id (``act_`` and 32 hex digits)."""
    return f"act_{uuid.uuid4().hex}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Action:
    """One action as it stands (immutable: each change is a new value)."""

    id: str
    kind: ActionKind
    state: ActionState
    amount: int
    currency: str
    reference: str | None = None
    original_action_id: str | None = None
    journal_id: int | None = None
    #: outcome, reason, authorization_id, token_masked, arpc_verified, receipt (when completed).
    result: dict[str, Any] | None = None
    #: Why a failed or cancelled action ended (``no_card``, ``reader_error``, ``cancelled`` ...).
    reason: str | None = None
    cancel_requested: bool = False
    cancel_result: CancelResult | None = None
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def advance(self, state: ActionState, **changes: Any) -> Action:
        """This action in ``state`` (with ``changes``); ValueError for a move not allowed."""
        if not can_follow(self.state, state):
            raise ValueError(f"an action cannot go from {self.state} to {state}")
        return dataclasses.replace(self, state=state, updated_at=_now(), **changes)

    def but(self, **changes: Any) -> Action:
        """This action with ``changes`` and no state change."""
        return dataclasses.replace(self, updated_at=_now(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """The API's view of the action."""
        return {
            "id": self.id, "kind": self.kind.value, "state": self.state.value,
            "amount": self.amount, "currency": self.currency, "reference": self.reference,
            "original_action_id": self.original_action_id, "journal_id": self.journal_id,
            "result": self.result, "reason": self.reason,
            "cancel_requested": self.cancel_requested,
            "cancel_result": self.cancel_result.value if self.cancel_result else None,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }  # fmt: skip

    @staticmethod
    def from_dict(doc: dict[str, Any]) -> Action:
        cancel = doc.get("cancel_result")
        return Action(
            id=doc["id"], kind=ActionKind(doc["kind"]), state=ActionState(doc["state"]),
            amount=doc["amount"], currency=doc["currency"], reference=doc.get("reference"),
            original_action_id=doc.get("original_action_id"), journal_id=doc.get("journal_id"),
            result=doc.get("result"), reason=doc.get("reason"),
            cancel_requested=bool(doc.get("cancel_requested")),
            cancel_result=CancelResult(cancel) if cancel else None,
            created_at=doc["created_at"], updated_at=doc["updated_at"],
        )  # fmt: skip


def failed(reason: str) -> Callable[[Action], Action]:
    """The change that ends an action ``failed`` for ``reason``."""
    return lambda action: action.advance(ActionState.FAILED, reason=reason)
