"""The local API's request and response bodies (pydantic): one contract, served as OpenAPI."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from terminal.daemon.actions import ActionKind, ActionState

__all__ = ["ActionBody", "ActionRequest", "DisplayLine", "DisplayRequest"]

#: The largest amount any request may carry (minor units): 12 digits, as EMV tag 9F02 holds.
MAX_AMOUNT = 999_999_999_999
Reference = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:/#-]{1,64}$",
                                 description="The integrator's own id (order number)")]  # fmt: skip


class ActionRequest(BaseModel):
    """``POST /v1/actions``: what to do, for how much."""

    model_config = ConfigDict(strict=True, extra="forbid", json_schema_extra={
        "example": {"kind": "payment", "amount": 1250, "currency": "EUR", "reference": "order-7"}})

    kind: Annotated[ActionKind, Field(strict=False, description="payment, refund, "
                                      "preauthorization, bike_unlock or parcel_pickup")]  # fmt: skip
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT,
                                 description="Amount in minor units (an integer: 1250 is 12.50)")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 alphabetic code")]
    reference: Reference | None = None
    original_action_id: Annotated[str | None, Field(
        pattern=r"^act_[0-9a-f]{32}$", description="For a refund: the payment action refunded")] = None


class ActionBody(BaseModel):
    """An action as it stands."""

    id: str
    kind: ActionKind
    state: ActionState = Field(description="pending, waiting_for_card, processing, then "
                               "completed, cancelled or failed (final)")
    amount: int
    currency: str
    reference: str | None
    original_action_id: str | None
    journal_id: int | None
    result: dict[str, Any] | None = Field(description="When completed: outcome, reason, "
                                          "authorization_id, token_masked, arpc_verified, receipt")
    reason: str | None
    cancel_requested: bool
    cancel_result: str | None = Field(description="cancelled, or too_late: the authorization "
                                      "had left and the action completes with its answer")
    created_at: str
    updated_at: str


class DisplayLine(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=64)]
    amount: Annotated[int | None, Field(ge=0, le=MAX_AMOUNT)] = None


class DisplayRequest(BaseModel):
    """``POST /v1/display``: a message, or an amount and its line items, on the idle screen."""

    model_config = ConfigDict(strict=True, extra="forbid")

    message: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    amount: Annotated[int | None, Field(ge=0, le=MAX_AMOUNT)] = None
    currency: Annotated[str | None, Field(pattern=r"^[A-Z]{3}$")] = None
    lines: Annotated[list[DisplayLine], Field(max_length=50)] = []
