"""The mandates routes' request and response bodies (the contract of :mod:`acquirer.mandates.api`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from acquirer.checkout.schemas import SESSION_ID_PATTERN

#: Compact JWS tokens (mandate, binding, confirmation, revocation) are at most this long.
MAX_JWS = 16_384
MANDATE_ID_PATTERN = r"^mdt_[A-Za-z0-9_-]{22}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentPaymentBody(_Body):
    """``POST /v1/agent/payments``: pay a session under a mandate."""

    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    mandate: str = Field(max_length=MAX_JWS, description="The wallet-signed mandate (JWS)")
    binding: str | None = Field(
        default=None, max_length=MAX_JWS, description="The agent's signature over the checkout"
    )
    confirmation: str | None = Field(
        default=None, max_length=MAX_JWS, description="The wallet's confirmation (human present)"
    )


class AgentPaymentResponse(BaseModel):
    """The answer: approved or refused with a stable ``reason``, naming the mandate."""

    session_id: str
    mandate_id: str | None
    approved: bool
    reason: str
    authorization_id: str | None
    state: str | None
    remaining_budget: int | None


class AgentKeyBody(_Body):
    """``POST /v1/agent/keys``: an agent's P-256 public key."""

    jwk: dict[str, Any]
    name: str = Field(default="", max_length=64, pattern=r"^[ -~]*$")


class MandateBody(_Body):
    """``POST /v1/mandates``: a mandate to verify and record before its first use."""

    mandate: str = Field(max_length=MAX_JWS)


class RevocationBody(_Body):
    """``POST /v1/mandates/{id}/revoke``: the wallet's signed revocation."""

    revocation: str = Field(max_length=MAX_JWS)


class MandateView(BaseModel):
    """A mandate as its payer lists it."""

    mandate_id: str
    currency: str
    max_amount: int
    budget: int
    spent: int
    remaining: int
    uses: int
    max_uses: int | None
    presence: str
    expires_at: int
    revoked: bool
    revoked_at: str | None
